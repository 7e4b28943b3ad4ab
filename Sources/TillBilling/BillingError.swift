import TillCore

/// Why billing refused something, in domain terms. Nothing is changed when one is thrown.
///
/// `code` is stable and snake_case (the API shows it as `error.code`); `param` names the
/// input at fault when there is one. The API maps a ``Kind`` to an HTTP status in one place,
/// so the domain never speaks HTTP.
public struct BillingError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        /// The input is malformed or out of range (a quantity of zero, an unknown timezone).
        case invalidInput
        /// The input is well formed but the object's state refuses it (a change to a
        /// finalized invoice, a second change while one is in flight).
        case conflict
        /// No such object for this merchant.
        case notFound
        /// An amount left what exact money can hold, or two currencies met.
        case arithmetic
        /// Collecting an invoice failed at the gateway (declined, unreachable); the invoice
        /// records the attempt.
        case paymentFailed
        /// Till itself failed (storage); nothing the caller can fix, and no detail is shown.
        case internalFailure
    }

    public var kind: Kind
    public var code: String
    public var message: String
    public var param: String?
    /// For ``Kind/paymentFailed``: the decline code Till's taxonomy gave it.
    public var declineCode: String?

    public init(_ kind: Kind, code: String, _ message: String, param: String? = nil, declineCode: String? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.param = param
        self.declineCode = declineCode
    }

    public var description: String { "BillingError(\(code)): \(message)" }

    public static func invalid(_ param: String, _ message: String, code: String = "parameter_invalid") -> BillingError {
        BillingError(.invalidInput, code: code, message, param: param)
    }

    public static func notFound(_ what: String, _ id: String, param: String? = nil) -> BillingError {
        BillingError(.notFound, code: "resource_missing", "no \(what) with id \(id)", param: param)
    }

    public static func conflict(_ code: String, _ message: String, param: String? = nil) -> BillingError {
        BillingError(.conflict, code: code, message, param: param)
    }

    /// Money arithmetic that failed (overflow, mixed currencies) while computing `what`.
    public static func money(_ error: MoneyError, while what: String) -> BillingError {
        BillingError(.arithmetic, code: "amount_invalid", "\(what): \(error)")
    }
}
