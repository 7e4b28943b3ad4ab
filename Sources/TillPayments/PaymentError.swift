import TillCore
import TillGateway

/// Everything the payment engine refuses or fails with, in domain terms: no HTTP status in
/// sight. The API maps it to a status in one place (``APIError/init(_:)-PaymentError``);
/// billing, which charges through the engine, reads ``reason`` instead.
public struct PaymentError: Error, Sendable, CustomStringConvertible {
    public enum Resource: String, Sendable, Hashable {
        case payment, dispute
    }

    public enum Reason: Sendable {
        /// No such payment or dispute for this merchant (another merchant's is not found either).
        case notFound(Resource, id: String)
        /// A request field the engine checks against its configuration: `token`
        /// (`token_invalid`), `gateway` (`parameter_invalid`), `currency` (`no_gateway`).
        case invalidParameter(param: String, code: String)
        /// The checkout state machine refused the operation; nothing was sent to a gateway.
        case refused(CheckoutError)
        /// A dispute operation that cannot happen again or at all: `evidence_already_submitted`,
        /// `dispute_closed`, `dispute_not_at_gateway`.
        case disputeConflict(code: String)
        /// The gateway declined: Till's decline taxonomy, and the gateway's own code and words.
        case declined(Decline)
        /// The gateway certainly did nothing (unreachable, refused at the door).
        case gatewayUnavailable(GatewayFailure)
        /// The gateway's answer was lost: it may have acted. Retrying with the same request is safe.
        case outcomeUnknown(GatewayFailure)
        /// The payment's gateway is not configured in this daemon.
        case gatewayNotConfigured
        /// Till itself failed (storage, the vault): nothing the caller can fix, and no
        /// detail of it is shown (`description` names the error's type, for logs).
        case internalFailure(description: String)
    }

    public var reason: Reason
    public var message: String
    /// The gateway involved, when one is.
    public var gateway: String?
    /// The payment as saved when the error arose: a declined payment is saved as failed,
    /// and the caller shows it with the error.
    public var payment: PaymentEngine.Loaded?

    public init(_ reason: Reason, _ message: String, gateway: String? = nil, payment: PaymentEngine.Loaded? = nil) {
        self.reason = reason
        self.message = message
        self.gateway = gateway
        self.payment = payment
    }

    public var description: String { "PaymentError(\(reason)): \(message)" }

    static func notFound(_ resource: Resource, id: String) -> PaymentError {
        PaymentError(.notFound(resource, id: id), "no \(resource.rawValue) with id \(id)")
    }

    static func refused(_ error: CheckoutError) -> PaymentError {
        PaymentError(.refused(error), error.message)
    }

    /// What a gateway's refusal of a call means for the caller; `nil` for a success.
    /// `subject` says what did not happen ("nothing was charged", "nothing changed").
    static func refusal<T>(
        _ outcome: GatewayOutcome<T>, gateway: String, payment: PaymentEngine.Loaded?, unknownIsError: Bool, subject: String
    ) -> PaymentError? {
        switch outcome {
        case .succeeded:
            return nil
        case .unknown(let failure):
            guard unknownIsError else { return nil }
            return PaymentError(
                .outcomeUnknown(failure),
                "the gateway's answer was lost; retry with the same request, or wait for the gateway's webhook: \(failure.message)",
                gateway: gateway, payment: payment)
        case .declined(let decline):
            return PaymentError(.declined(decline), decline.message, gateway: gateway, payment: payment)
        case .notProcessed(let failure):
            return PaymentError(
                .gatewayUnavailable(failure), "the gateway could not be reached; \(subject): \(failure.message)",
                gateway: gateway, payment: payment)
        }
    }
}
