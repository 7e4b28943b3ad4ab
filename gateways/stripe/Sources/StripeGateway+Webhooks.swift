public import TillGateway
import Foundation
import TillCore
import TillCrypto

extension StripeGateway {
    /// Verifies `Stripe-Signature` and maps the event. Fails closed: no secret configured,
    /// a missing or malformed header, no `v1` that matches, or a timestamp further than the
    /// tolerance from the request's arrival (in either direction) is a rejection.
    public func parseWebhook(_ request: WebhookRequest) async throws(WebhookError) -> GatewayEvent {
        try StripeWebhook.verify(
            request, secret: configuration.webhookSecret, tolerance: configuration.webhookTolerance, now: request.receivedAt)
        return try StripeWebhook.event(from: request.body, gateway: self)
    }
}

/// Stripe's webhook signature scheme and its events.
enum StripeWebhook {
    /// `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`: HMAC-SHA256 over
    /// `"<t>.<body>"`, keyed by the whole `whsec_…` secret. During a secret rotation Stripe
    /// signs with each active secret, so any one matching `v1` is enough; other schemes
    /// (`v0`) are ignored, as Stripe's libraries do.
    static func verify(
        _ request: WebhookRequest, secret: String?, tolerance: TimeInterval, now: Date
    ) throws(WebhookError) {
        guard let secret, !secret.isEmpty else {
            throw WebhookError(.noSecretConfigured, "no webhook secret is configured for this Stripe gateway")
        }
        guard let header = request.header("Stripe-Signature") else {
            throw WebhookError(.missingSignature, "the Stripe-Signature header is missing")
        }
        var timestamp: Int64?
        var signatures: [[UInt8]] = []
        for item in header.split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let key = pair[0].trimmingCharacters(in: .whitespaces)
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            switch key {
            case "t":
                guard timestamp == nil, let seconds = Int64(value) else {
                    throw WebhookError(.malformedSignature, "Stripe-Signature has a missing, repeated or non-numeric t")
                }
                timestamp = seconds
            case "v1":
                // A value that is not 64 hex digits can never match; skip it like any other.
                if value.utf8.count == 64, let bytes = try? Hex.decode(value) { signatures.append(bytes) }
            default:
                continue
            }
        }
        guard let timestamp else { throw WebhookError(.malformedSignature, "Stripe-Signature has no t= timestamp") }
        guard !signatures.isEmpty else { throw WebhookError(.malformedSignature, "Stripe-Signature has no v1 signature") }
        var signed = Array("\(timestamp).".utf8)
        signed.append(contentsOf: request.body)
        let key = Array(secret.utf8)
        // Every candidate is checked, so timing does not reveal which one matched.
        var matched = false
        for signature in signatures {
            if HMACSHA256.isValidAuthenticationCode(signature, for: signed, key: key) { matched = true }
        }
        guard matched else {
            throw WebhookError(.signatureMismatch, "no v1 signature in Stripe-Signature matches this endpoint's secret")
        }
        let age = now.timeIntervalSince1970 - Double(timestamp)
        guard abs(age) <= tolerance else {
            throw WebhookError(
                .timestampOutsideTolerance,
                "the signature's timestamp is \(Int(age.rounded())) s from now; the tolerance is \(Int(tolerance)) s")
        }
    }

    /// The domain event for a verified body.
    static func event(from body: [UInt8], gateway: StripeGateway) throws(WebhookError) -> GatewayEvent {
        let data = Data(body)
        let header: StripeEventHeader
        do {
            header = try JSONDecoder().decode(StripeEventHeader.self, from: data)
        } catch {
            throw WebhookError(.malformedPayload, "the body is not a Stripe event (id, type, created)")
        }
        let occurredAt = Date(timeIntervalSince1970: TimeInterval(header.created))
        func make(_ payment: PaymentLocator, _ kind: GatewayEvent.Kind) -> GatewayEvent {
            GatewayEvent(id: header.id, type: header.type, payment: payment, kind: kind, occurredAt: occurredAt)
        }
        func object<T: Decodable & Sendable>(_ type: T.Type) throws(WebhookError) -> T {
            do {
                return try JSONDecoder().decode(StripeEventObject<T>.self, from: data).data.object
            } catch {
                throw WebhookError(.malformedPayload, "\(header.type) does not carry a readable \(T.self)")
            }
        }
        func amount(_ value: Int64, _ currency: String, _ what: String) throws(WebhookError) -> Money {
            guard let money = gateway.money(value, currency) else {
                throw WebhookError(.malformedPayload, "\(what) has an amount Till cannot read (\(value) \(currency))")
            }
            return money
        }

        switch header.type {
        case "payment_intent.amount_capturable_updated", "payment_intent.succeeded", "payment_intent.payment_failed",
            "payment_intent.canceled":
            let intent = try object(StripePaymentIntent.self)
            let locator = locator(intent.metadata, gatewayPayment: intent.id)
            switch header.type {
            case "payment_intent.amount_capturable_updated":
                return make(locator, .authorizationSucceeded(amount: try amount(intent.amountCapturable ?? intent.amount, intent.currency, intent.id)))
            case "payment_intent.succeeded":
                guard let charge = intent.latestCharge?.id else {
                    throw WebhookError(.malformedPayload, "\(intent.id) succeeded without a latest_charge")
                }
                return make(
                    locator,
                    .captureSucceeded(
                        captureReference: charge,
                        amount: try amount(intent.amountReceived ?? intent.amount, intent.currency, intent.id)))
            case "payment_intent.payment_failed":
                var decline =
                    intent.lastPaymentError.map(StripeClassification.cardDecline)
                    ?? Decline(code: .cardDeclined, gatewayCode: "payment_failed", message: "the payment failed")
                decline.gatewayReference = intent.id
                return make(locator, .authorizationFailed(decline))
            default:
                // Stripe cancels uncaptured intents itself when the authorization lapses.
                return make(locator, intent.cancellationReason == "automatic" ? .authorizationExpired : .authorizationVoided)
            }
        case "charge.captured":
            let charge = try object(StripeCharge.self)
            return make(
                locator(charge.metadata, gatewayPayment: charge.paymentIntent?.id),
                .captureSucceeded(
                    captureReference: charge.id, amount: try amount(charge.amountCaptured ?? charge.amount, charge.currency, charge.id)))
        case "charge.refunded":
            let charge = try object(StripeCharge.self)
            // Since API version 2022-11-15 a charge no longer embeds its refunds; then the
            // refund.* events carry the refund and this one says nothing more.
            guard let refund = charge.refunds?.data.first else { return make(locator(charge.metadata, gatewayPayment: charge.paymentIntent?.id), .ignored(type: header.type)) }
            return make(
                refundLocator(refund, charge: charge),
                try refundKind(refund, amount: try amount(refund.amount, refund.currency, refund.id), failed: false))
        case "charge.refund.updated", "refund.created", "refund.updated", "refund.failed":
            let refund = try object(StripeRefund.self)
            return make(
                refundLocator(refund, charge: nil),
                try refundKind(
                    refund, amount: try amount(refund.amount, refund.currency, refund.id), failed: header.type == "refund.failed"))
        case "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed", "charge.dispute.funds_withdrawn",
            "charge.dispute.funds_reinstated":
            let dispute = try object(StripeDispute.self)
            let info = DisputeInfo(
                disputeReference: dispute.id, stage: dispute.status.hasPrefix("warning_") ? .inquiry : .chargeback,
                status: StripeGateway.disputeStatus(dispute.status),
                amount: try amount(dispute.amount, dispute.currency, dispute.id), reason: dispute.reason)
            let locator = PaymentLocator(gatewayPaymentReference: dispute.paymentIntent?.id)
            switch header.type {
            case "charge.dispute.created": return make(locator, .disputeOpened(info))
            case "charge.dispute.closed": return make(locator, .disputeClosed(info))
            default: return make(locator, .disputeUpdated(info))
            }
        default:
            return make(PaymentLocator(), .ignored(type: header.type))
        }
    }

    private static func locator(_ metadata: [String: String]?, gatewayPayment: String?) -> PaymentLocator {
        PaymentLocator(
            gatewayPaymentReference: gatewayPayment, paymentID: metadata?[StripeGateway.MetadataKey.payment],
            transactionID: metadata?[StripeGateway.MetadataKey.transaction])
    }

    /// A refund's own metadata names Till's refund transaction; the charge's names the payment.
    private static func refundLocator(_ refund: StripeRefund, charge: StripeCharge?) -> PaymentLocator {
        PaymentLocator(
            gatewayPaymentReference: refund.paymentIntent?.id ?? charge?.paymentIntent?.id,
            paymentID: refund.metadata?[StripeGateway.MetadataKey.payment] ?? charge?.metadata?[StripeGateway.MetadataKey.payment],
            transactionID: refund.metadata?[StripeGateway.MetadataKey.transaction])
    }

    private static func refundKind(_ refund: StripeRefund, amount: Money, failed: Bool) throws(WebhookError) -> GatewayEvent.Kind {
        if failed { return .refundFailed(refundReference: refund.id, amount: amount) }
        switch refund.status {
        case "succeeded": return .refundSucceeded(refundReference: refund.id, amount: amount)
        case "failed", "canceled": return .refundFailed(refundReference: refund.id, amount: amount)
        default: return .refundPending(refundReference: refund.id, amount: amount)
        }
    }
}
