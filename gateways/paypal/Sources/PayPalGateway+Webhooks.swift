import Foundation
import TillCore
import TillCrypto
import TillGateway

extension PayPalGateway {
    /// Verifies the sandbox's HMAC transmission signature, then maps the event.
    ///
    /// PayPal signs with a certificate; the sandbox, with no certificate authority, signs with
    /// a shared secret: `PAYPAL-TRANSMISSION-SIG` is base64(HMAC-SHA256(webhook secret,
    /// "<transmission id>|<transmission time>|<webhook id>|<crc32 of the body>")) and
    /// `PAYPAL-AUTH-ALGO` is `HMACSHA256`. Fails closed: no secret or webhook id, a missing
    /// header, another algorithm, a transmission time outside the tolerance (either way) or
    /// a signature that does not match (compared in constant time) is a rejection.
    public func parseWebhook(_ request: WebhookRequest) async throws(WebhookError) -> GatewayEvent {
        guard let secret = configuration.webhookSecret, !secret.isEmpty else {
            throw WebhookError(.noSecretConfigured, "gateway \(name) has no webhook secret")
        }
        guard let webhookID = configuration.webhookID, !webhookID.isEmpty else {
            throw WebhookError(.noSecretConfigured, "gateway \(name) has no webhook_id")
        }
        guard let transmissionID = request.header("PAYPAL-TRANSMISSION-ID"), !transmissionID.isEmpty,
            let time = request.header("PAYPAL-TRANSMISSION-TIME"), !time.isEmpty,
            let signature = request.header("PAYPAL-TRANSMISSION-SIG"), !signature.isEmpty
        else {
            throw WebhookError(.missingSignature, "PAYPAL-TRANSMISSION-ID, -TIME and -SIG are required")
        }
        guard request.header("PAYPAL-AUTH-ALGO") == "HMACSHA256" else {
            throw WebhookError(
                .malformedSignature, "PAYPAL-AUTH-ALGO must be HMACSHA256, got \(request.header("PAYPAL-AUTH-ALGO") ?? "none")")
        }
        guard let sent = Self.parseTime(time) else {
            throw WebhookError(.malformedSignature, "PAYPAL-TRANSMISSION-TIME is not an RFC 3339 time")
        }
        let tolerance = Double(configuration.webhookTolerance.components.seconds)
        guard abs(request.receivedAt.timeIntervalSince(sent)) <= tolerance else {
            throw WebhookError(
                .timestampOutsideTolerance, "transmission time \(time) is more than \(Int(tolerance)) s from arrival")
        }
        guard let given = Data(base64Encoded: signature), given.count == HMACSHA256.byteCount else {
            throw WebhookError(.malformedSignature, "PAYPAL-TRANSMISSION-SIG is not a base64 HMAC-SHA256")
        }
        let message = "\(transmissionID)|\(time)|\(webhookID)|\(CRC32.checksum(request.body))"
        guard HMACSHA256.isValidAuthenticationCode(given, for: Array(message.utf8), key: Array(secret.utf8)) else {
            throw WebhookError(.signatureMismatch, "PAYPAL-TRANSMISSION-SIG does not match the body")
        }
        return try Self.event(from: request.body, deliveryID: transmissionID)
    }

    /// RFC 3339 with or without fractional seconds. The value-type format styles parse
    /// without building an `ISO8601DateFormatter` (two per call showed in the daemon's
    /// profile: every webhook parses one or two times).
    static func parseTime(_ text: String) -> Date? {
        if let date = try? plainTime.parse(text) { return date }
        return try? fractionalTime.parse(text)
    }

    private static let plainTime = Date.ISO8601FormatStyle()
    private static let fractionalTime = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// Maps a verified event body to a domain event; `deliveryID` is the signed transmission id.
    static func event(from body: [UInt8], deliveryID: String? = nil) throws(WebhookError) -> GatewayEvent {
        guard let header = Wire.decode(Wire.EventHeader.self, from: body), let id = header.id, let type = header.eventType
        else {
            throw WebhookError(.malformedPayload, "the event has no id or event_type")
        }
        let occurredAt = header.createTime.flatMap(parseTime) ?? Date(timeIntervalSince1970: 0)
        func payment() throws(WebhookError) -> Wire.Payment {
            guard let resource = Wire.decode(Wire.Event<Wire.Payment>.self, from: body)?.resource, resource.id != nil else {
                throw WebhookError(.malformedPayload, "\(type) has no readable resource")
            }
            return resource
        }
        func amount(_ resource: Wire.Payment) throws(WebhookError) -> Money {
            guard let money = resource.amount?.money() else {
                throw WebhookError(.malformedPayload, "\(type) has no readable amount")
            }
            return money
        }
        func event(_ locator: PaymentLocator, _ kind: GatewayEvent.Kind) -> GatewayEvent {
            GatewayEvent(id: id, type: type, payment: locator, kind: kind, occurredAt: occurredAt, deliveryID: deliveryID)
        }
        switch type {
        case "PAYMENT.AUTHORIZATION.CREATED", "PAYMENT.AUTHORIZATION.VOIDED":
            let auth = try payment()
            let locator = PaymentLocator(
                gatewayPaymentReference: auth.supplementaryData?.relatedIds?.orderId, transactionID: auth.customId)
            return event(locator, type.hasSuffix("CREATED") ? .authorizationSucceeded(amount: try amount(auth)) : .authorizationVoided)
        case "PAYMENT.CAPTURE.COMPLETED":
            let capture = try payment()
            return event(
                captureLocator(capture), .captureSucceeded(captureReference: capture.id ?? "", amount: try amount(capture)))
        case "PAYMENT.CAPTURE.DENIED":
            let capture = try payment()
            // A capture of an authorization is denied synchronously, in the capture call's
            // own answer; only a one-step sale (no authorization) learns it here, and there
            // the capture is the payment.
            guard capture.supplementaryData?.relatedIds?.authorizationId == nil else {
                return event(captureLocator(capture), .ignored(type: type))
            }
            return event(captureLocator(capture), .authorizationFailed(denied(capture, what: "capture")))
        case "PAYMENT.CAPTURE.REFUNDED", "PAYMENT.REFUND.PENDING", "PAYMENT.REFUND.COMPLETED", "PAYMENT.REFUND.FAILED",
            "PAYMENT.REFUND.CANCELLED":
            let refund = try payment()
            let reference = refund.id ?? ""
            let value = try amount(refund)
            // Our refund transaction id comes back as `invoice_id`.
            let locator = PaymentLocator(
                gatewayPaymentReference: refund.supplementaryData?.relatedIds?.orderId, transactionID: refund.invoiceId)
            switch refund.status {
            case "COMPLETED": return event(locator, .refundSucceeded(refundReference: reference, amount: value))
            case "PENDING": return event(locator, .refundPending(refundReference: reference, amount: value))
            case "FAILED", "CANCELLED": return event(locator, .refundFailed(refundReference: reference, amount: value))
            default: throw WebhookError(.malformedPayload, "\(type) has a refund in status \(refund.status ?? "none")")
            }
        case "CUSTOMER.DISPUTE.CREATED", "CUSTOMER.DISPUTE.UPDATED", "CUSTOMER.DISPUTE.RESOLVED":
            guard let dispute = Wire.decode(Wire.Event<Wire.Dispute>.self, from: body)?.resource,
                let disputeID = dispute.disputeId, let money = dispute.disputeAmount?.money()
            else {
                throw WebhookError(.malformedPayload, "\(type) has no readable dispute")
            }
            let transaction = dispute.disputedTransactions?.first
            // The disputed capture carries our capture transaction id as its invoice number.
            let locator = PaymentLocator(transactionID: transaction?.invoiceNumber)
            let info = DisputeInfo(
                disputeReference: disputeID, stage: disputeStage(dispute.disputeLifeCycleStage),
                status: disputeStatus(dispute), amount: money, reason: dispute.reason)
            switch type {
            case "CUSTOMER.DISPUTE.CREATED": return event(locator, .disputeOpened(info))
            case "CUSTOMER.DISPUTE.UPDATED": return event(locator, .disputeUpdated(info))
            default: return event(locator, .disputeClosed(info))
            }
        default:
            // PAYMENT.CAPTURE.PENDING (the capture call already answered) and
            // PAYMENT.CAPTURE.REVERSED (the dispute events carry the chargeback) among them.
            return event(PaymentLocator(), .ignored(type: type))
        }
    }

    private static func captureLocator(_ capture: Wire.Payment) -> PaymentLocator {
        // Our capture transaction id is the capture's `invoice_id`.
        PaymentLocator(gatewayPaymentReference: capture.supplementaryData?.relatedIds?.orderId, transactionID: capture.invoiceId)
    }

    static func disputeStage(_ stage: String?) -> DisputeStage {
        switch stage {
        case "INQUIRY": .inquiry
        case "PRE_ARBITRATION", "ARBITRATION": .preArbitration
        default: .chargeback
        }
    }

    static func disputeStatus(_ dispute: Wire.Dispute) -> DisputeStatus {
        switch dispute.status {
        case "RESOLVED":
            switch dispute.disputeOutcome?.outcomeCode {
            case "RESOLVED_SELLER_FAVOUR", "CANCELED_BY_BUYER", "DENIED": return .won
            case "ACCEPTED": return .accepted
            default: return .lost
            }
        case "WAITING_FOR_SELLER_RESPONSE": return .needsResponse
        default: return .underReview
        }
    }
}
