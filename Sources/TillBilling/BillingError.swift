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
    }

    public var kind: Kind
    public var code: String
    public var message: String
    public var param: String?

    public init(_ kind: Kind, code: String, _ message: String, param: String? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.param = param
    }

    public var description: String { "BillingError(\(code)): \(message)" }

    public static func invalid(_ param: String, _ message: String, code: String = "parameter_invalid") -> BillingError {
        BillingError(.invalidInput, code: code, message, param: param)
    }

    public static func conflict(_ code: String, _ message: String, param: String? = nil) -> BillingError {
        BillingError(.conflict, code: code, message, param: param)
    }

    /// Money arithmetic that failed (overflow, mixed currencies) while computing `what`.
    public static func money(_ error: MoneyError, while what: String) -> BillingError {
        BillingError(.arithmetic, code: "amount_invalid", "\(what): \(error)")
    }
}
