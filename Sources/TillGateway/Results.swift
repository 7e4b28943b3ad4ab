import Foundation
import TillCore

/// Where an authorization stands after the call.
public enum AuthorizationState: Sendable, Hashable {
    /// Funds are held; capture later.
    case authorized
    /// Authorized and captured in one step (automatic capture).
    case captured(captureReference: String)
    /// The customer must complete a 3-D Secure challenge at `redirectURL`.
    case requiresAction(redirectURL: String?)
}

public struct AuthorizationResult: Sendable, Hashable {
    /// The gateway's payment (Stripe PaymentIntent `pi_…`, PayPal order id).
    public var gatewayPaymentReference: String
    /// The gateway's authorization where it is a separate object (PayPal).
    public var gatewayAuthorizationReference: String?
    public var state: AuthorizationState
    public var amount: Money

    public init(
        gatewayPaymentReference: String, gatewayAuthorizationReference: String? = nil, state: AuthorizationState,
        amount: Money
    ) {
        self.gatewayPaymentReference = gatewayPaymentReference
        self.gatewayAuthorizationReference = gatewayAuthorizationReference
        self.state = state
        self.amount = amount
    }
}

public struct CaptureResult: Sendable, Hashable {
    /// The gateway's capture (Stripe charge `ch_…`, PayPal capture id).
    public var captureReference: String
    public var amount: Money

    public init(captureReference: String, amount: Money) {
        self.captureReference = captureReference
        self.amount = amount
    }
}

public struct VoidResult: Sendable, Hashable {
    public var gatewayReference: String

    public init(gatewayReference: String) {
        self.gatewayReference = gatewayReference
    }
}

public struct RefundResult: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        case succeeded
        /// Accepted; the final word arrives by webhook or status lookup.
        case pending
    }

    public var refundReference: String
    public var amount: Money
    public var state: State

    public init(refundReference: String, amount: Money, state: State) {
        self.refundReference = refundReference
        self.amount = amount
        self.state = state
    }
}

/// What the gateway knows of one of our transactions.
public enum StatusReport: Sendable, Hashable {
    /// The gateway has no record of it: the request never took effect, so it failed and
    /// may be retried.
    case notFound
    /// The gateway is still working on it.
    case pending(gatewayReference: String?)
    /// It took effect. For an authorization, `payment` carries the references to keep.
    case succeeded(gatewayReference: String, payment: AuthorizationResult?)
    /// It was refused.
    case failed(Decline)
}

public struct DisputeResult: Sendable, Hashable {
    public var disputeReference: String
    public var status: DisputeStatus

    public init(disputeReference: String, status: DisputeStatus) {
        self.disputeReference = disputeReference
        self.status = status
    }
}
