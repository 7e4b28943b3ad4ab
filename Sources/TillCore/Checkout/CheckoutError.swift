/// Every operation and event the checkout state machine accepts, by name.
public enum CheckoutOperation: String, Hashable, Sendable, Codable, CaseIterable {
    case authorize
    case capture
    case void
    case refund
    case resolve
    case expire
    case recordCapture
    case recordRefund
    case openDispute
    case escalateDispute
    case submitEvidence
    case acceptDispute
    case winDispute
    case loseDispute
    case recordChargeback
    case recordChargebackReversal
}

/// A refused operation. The payment it was applied to is left exactly as it was.
///
/// It names the operation, the payment's status at the time and why, so that the API can
/// say "cannot capture a payment that is voided" and a reviewer can act on it.
public struct CheckoutError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable, matchable reason. A struct rather than an enum so new reasons do not break
    /// callers that switch on it.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The transition table does not allow the operation in the current status.
        public static let notAllowed = Code(rawValue: "not_allowed")
        /// The amount is larger than what can be captured, refunded or disputed.
        public static let amountExceedsLimit = Code(rawValue: "amount_exceeds_limit")
        /// The amount is zero or negative.
        public static let invalidAmount = Code(rawValue: "invalid_amount")
        /// The amount is not in the payment's currency.
        public static let currencyMismatch = Code(rawValue: "currency_mismatch")
        public static let unknownTransaction = Code(rawValue: "unknown_transaction")
        public static let unknownDispute = Code(rawValue: "unknown_dispute")
        /// A transaction or dispute id is already used in this payment.
        public static let duplicateIdentifier = Code(rawValue: "duplicate_identifier")
        /// The event contradicts what is recorded (e.g. "failed" for a succeeded transaction).
        public static let conflictingOutcome = Code(rawValue: "conflicting_outcome")
        /// Another operation whose outcome is not known yet blocks this one (a capture
        /// while a void is pending).
        public static let operationInFlight = Code(rawValue: "operation_in_flight")
    }

    public let operation: CheckoutOperation
    /// The payment's status when the operation was refused.
    public let paymentStatus: PaymentStatus
    public let code: Code
    /// A sentence for people: what was refused and why.
    public let message: String

    init(_ code: Code, _ operation: CheckoutOperation, _ status: PaymentStatus, _ message: String) {
        self.code = code
        self.operation = operation
        self.paymentStatus = status
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
