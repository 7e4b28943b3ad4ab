import Foundation
import TillCore

/// How an event names the payment it is about: by the gateway's ids, and by ours when the
/// gateway echoes the metadata Till sent.
public struct PaymentLocator: Sendable, Hashable {
    public var gatewayPaymentReference: String?
    public var paymentID: String?
    public var transactionID: String?

    public init(gatewayPaymentReference: String? = nil, paymentID: String? = nil, transactionID: String? = nil) {
        self.gatewayPaymentReference = gatewayPaymentReference
        self.paymentID = paymentID
        self.transactionID = transactionID
    }
}

/// A dispute as an event reports it.
public struct DisputeInfo: Sendable, Hashable {
    public var disputeReference: String
    public var stage: DisputeStage
    public var status: DisputeStatus
    public var amount: Money
    public var reason: String?

    public init(disputeReference: String, stage: DisputeStage, status: DisputeStatus, amount: Money, reason: String?) {
        self.disputeReference = disputeReference
        self.stage = stage
        self.status = status
        self.amount = amount
        self.reason = reason
    }
}

/// A verified webhook, turned into the domain's terms.
public struct GatewayEvent: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case authorizationSucceeded(amount: Money)
        case authorizationFailed(Decline)
        case authorizationVoided
        case authorizationExpired
        case captureSucceeded(captureReference: String, amount: Money)
        case refundSucceeded(refundReference: String, amount: Money)
        case refundPending(refundReference: String, amount: Money)
        case refundFailed(refundReference: String, amount: Money)
        case disputeOpened(DisputeInfo)
        case disputeUpdated(DisputeInfo)
        case disputeClosed(DisputeInfo)
        /// A verified event of a type Till does not act on; acknowledged and dropped.
        case ignored(type: String)
    }

    /// The gateway's event id; Till deduplicates by it.
    public var id: String
    /// The gateway's event type, verbatim (`payment_intent.succeeded`).
    public var type: String
    public var payment: PaymentLocator
    public var kind: Kind
    public var occurredAt: Date
    /// The id of this delivery, when the gateway's signature covers one (PayPal's
    /// `PAYPAL-TRANSMISSION-ID`). Signed headers can be replayed with another body that
    /// keeps the checksum they sign, so Till accepts each delivery id once, whatever the body.
    /// `nil` where the signature binds the body itself (Stripe).
    public var deliveryID: String?

    public init(
        id: String, type: String, payment: PaymentLocator, kind: Kind, occurredAt: Date, deliveryID: String? = nil
    ) {
        self.id = id
        self.type = type
        self.payment = payment
        self.kind = kind
        self.occurredAt = occurredAt
        self.deliveryID = deliveryID
    }
}

/// What the gateway's own API says about a verified webhook.
///
/// A webhook is a hint: its signature proves who sent headers once, not that this body is
/// true (PayPal signs a CRC32 of the body; a leaked Stripe secret signs anything). So the
/// plugin reads the object the event is about from the API and Till applies only that.
public enum WebhookConfirmation: Sendable, Hashable {
    /// The event rebuilt from the API's answer: amounts, statuses and ids as the gateway
    /// has them, never as the body claimed.
    case confirmed(GatewayEvent)
    /// The gateway does not have what the event claims (no such object, another payment's,
    /// another state). Acknowledged and not applied.
    case refuted(String)
    /// The gateway could not be asked (transport failure, 5xx, 429): the webhook is refused
    /// with a retryable status so the gateway delivers it again.
    case unavailable(String)
}

/// A webhook as it arrived: what ``PaymentGateway/parseWebhook(_:)`` verifies.
public struct WebhookRequest: Sendable, Hashable {
    /// Header fields; names compare case-insensitively.
    public var headers: [String: String]
    /// The body exactly as received: signatures cover these bytes, not a re-serialization.
    public var body: [UInt8]
    /// When the webhook arrived: signature timestamps are checked against it, so a replay
    /// of an old delivery falls outside the tolerance.
    public var receivedAt: Date

    public init(headers: [String: String], body: [UInt8], receivedAt: Date) {
        var lowered: [String: String] = [:]
        for (name, value) in headers { lowered[name.lowercased()] = value }
        self.headers = lowered
        self.body = body
        self.receivedAt = receivedAt
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// Why a webhook was rejected. Verification fails closed: any doubt is a rejection.
public struct WebhookError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: String, Sendable, Hashable {
        case noSecretConfigured = "no_secret_configured"
        case missingSignature = "missing_signature"
        case malformedSignature = "malformed_signature"
        case signatureMismatch = "signature_mismatch"
        case timestampOutsideTolerance = "timestamp_outside_tolerance"
        case malformedPayload = "malformed_payload"
        /// The signature could not be checked right now (the gateway's verification API or
        /// its certificate endpoint is unreachable or failing): not a rejection, the sender
        /// should deliver again later.
        case verificationUnavailable = "verification_unavailable"
    }

    public var reason: Reason
    public var message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason.rawValue): \(message)" }
}
