import Foundation
import TillCore
import TillCrypto
import TillGateway
import TillHTTP

extension PayPalGateway {
    /// Verifies a webhook's transmission signature as PayPal defines it, then maps the event.
    ///
    /// `PAYPAL-TRANSMISSION-SIG` signs `<transmission id>|<transmission time>|<webhook id>|<crc32
    /// of the body>` with SHA256withRSA under the certificate at `PAYPAL-CERT-URL`. With
    /// ``Configuration/WebhookVerification/certificate(policy:trust:)`` the plugin checks it
    /// itself (URL policy first, then the chain, then the signature); with
    /// ``Configuration/WebhookVerification/api`` it asks PayPal's
    /// `verify-webhook-signature`. Fails closed: no webhook id, a missing header or a
    /// transmission time outside the tolerance (either way) is a rejection before anything is
    /// fetched. Because the signature covers only a CRC32 of the body, a verified event is
    /// still a hint: ``confirm(_:)`` checks it with PayPal's API before it is applied.
    public func parseWebhook(_ request: WebhookRequest) async throws(WebhookError) -> GatewayEvent {
        guard let webhookID = configuration.webhookID, !webhookID.isEmpty else {
            throw WebhookError(.noSecretConfigured, "gateway \(name) has no webhook_id, so it accepts no webhooks")
        }
        guard let transmissionID = request.header("PAYPAL-TRANSMISSION-ID"), !transmissionID.isEmpty,
            let time = request.header("PAYPAL-TRANSMISSION-TIME"), !time.isEmpty,
            let signature = request.header("PAYPAL-TRANSMISSION-SIG"), !signature.isEmpty
        else {
            throw WebhookError(.missingSignature, "PAYPAL-TRANSMISSION-ID, -TIME and -SIG are required")
        }
        guard let sent = Self.parseTime(time) else {
            throw WebhookError(.malformedSignature, "PAYPAL-TRANSMISSION-TIME is not an RFC 3339 time")
        }
        let tolerance = Double(configuration.webhookTolerance.components.seconds)
        guard abs(request.receivedAt.timeIntervalSince(sent)) <= tolerance else {
            throw WebhookError(
                .timestampOutsideTolerance, "transmission time \(time) is more than \(Int(tolerance)) s from arrival")
        }
        let algorithm = request.header("PAYPAL-AUTH-ALGO")
        let certificateURL = request.header("PAYPAL-CERT-URL")
        switch webhookVerifier {
        case .certificate(let verifier):
            let message = "\(transmissionID)|\(time)|\(webhookID)|\(CRC32.checksum(request.body))"
            try await verifier.verify(
                signature: signature, message: Array(message.utf8), algorithm: algorithm, certificateURL: certificateURL,
                at: request.receivedAt)
        case .api:
            try await verifyWithAPI(
                WebhookHeaders(
                    transmissionID: transmissionID, time: time, signature: signature, algorithm: algorithm,
                    certificateURL: certificateURL, webhookID: webhookID),
                body: request.body)
        }
        return try Self.event(from: request.body, deliveryID: transmissionID)
    }

    struct WebhookHeaders {
        var transmissionID: String
        var time: String
        var signature: String
        var algorithm: String?
        var certificateURL: String?
        var webhookID: String
    }

    /// `POST /v1/notifications/verify-webhook-signature`: PayPal checks the signature itself.
    /// Only an answer of `SUCCESS` verifies; PayPal being unreachable (or failing) is
    /// ``WebhookError/Reason/verificationUnavailable``, so the daemon asks for redelivery
    /// instead of refusing a genuine event.
    private func verifyWithAPI(_ headers: WebhookHeaders, body: [UInt8]) async throws(WebhookError) {
        guard let algorithm = headers.algorithm, !algorithm.isEmpty, let certificateURL = headers.certificateURL,
            !certificateURL.isEmpty
        else {
            throw WebhookError(.missingSignature, "PAYPAL-AUTH-ALGO and PAYPAL-CERT-URL are required")
        }
        // PayPal wants the event as a JSON object; the body is sent as received, so only a
        // body that is one may go.
        guard (try? JSONSerialization.jsonObject(with: Data(body))) is [String: Any] else {
            throw WebhookError(.malformedPayload, "the event is not a JSON object")
        }
        let request = RequestBody.object([
            ("auth_algo", .string(algorithm)), ("cert_url", .string(certificateURL)),
            ("transmission_id", .string(headers.transmissionID)), ("transmission_sig", .string(headers.signature)),
            ("transmission_time", .string(headers.time)), ("webhook_id", .string(headers.webhookID)),
            ("webhook_event", .json(body)),
        ])
        switch await send(.POST, "/v1/notifications/verify-webhook-signature", body: request) {
        case .success(let response):
            guard let answer = Wire.decode(Wire.VerificationAnswer.self, from: response.body) else {
                throw WebhookError(.verificationUnavailable, "PayPal's verify-webhook-signature answer does not parse")
            }
            guard answer.verificationStatus == "SUCCESS" else {
                throw WebhookError(
                    .signatureMismatch, "PayPal's verify-webhook-signature answered \(answer.verificationStatus ?? "nothing")")
            }
        case .failure(.declined(let decline)):
            throw WebhookError(.signatureMismatch, "PayPal's verify-webhook-signature refused the request: \(decline.message)")
        case .failure(.notProcessed(let failure)), .failure(.unknown(let failure)):
            throw WebhookError(.verificationUnavailable, "PayPal's verify-webhook-signature is unavailable: \(failure.message)")
        }
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
