/// Why card details were refused.
///
/// Each failure has its own ``Code`` (the API's `code`, such as `failed_luhn`), the field it
/// concerns (``param``) and a message a person can act on. Neither ever contains the card
/// number or the CVC: at most a length, a month or a year.
public struct CardValidationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable, matchable reason, spelled as the API reports it.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The number is empty or holds a character other than digits, spaces and dashes.
        public static let invalidNumber = Code(rawValue: "invalid_number")
        /// The number has a length its brand (or any card) cannot have.
        public static let incorrectLength = Code(rawValue: "incorrect_length")
        /// The number's check digit is wrong (Luhn, ISO/IEC 7812-1).
        public static let failedLuhn = Code(rawValue: "failed_luhn")
        /// The number's leading digits belong to no supported network.
        public static let unsupportedBrand = Code(rawValue: "unsupported_brand")
        /// The expiry month is not 1 to 12.
        public static let invalidExpiryMonth = Code(rawValue: "invalid_expiry_month")
        /// The expiry year is not a two- or four-digit year, or is implausibly far ahead.
        public static let invalidExpiryYear = Code(rawValue: "invalid_expiry_year")
        /// The card's expiry month is over.
        public static let expiredCard = Code(rawValue: "expired_card")
        /// The CVC is not the brand's number of digits.
        public static let invalidCVC = Code(rawValue: "invalid_cvc")

        public var description: String { rawValue }
    }

    /// The reason.
    public let code: Code
    /// The request field at fault: `number`, `exp_month`, `exp_year` or `cvc`.
    public let param: String
    /// What was wrong, for people. Never contains card data.
    public let message: String

    init(_ code: Code, param: String, _ message: String) {
        self.code = code
        self.param = param
        self.message = message
    }

    public var description: String { "\(code) (\(param)): \(message)" }

    static func invalidNumber(_ why: String) -> CardValidationError {
        CardValidationError(.invalidNumber, param: "number", why)
    }

    static func incorrectLength(_ why: String) -> CardValidationError {
        CardValidationError(.incorrectLength, param: "number", why)
    }

    static let failedLuhn = CardValidationError(
        .failedLuhn, param: "number",
        "the card number's check digit is wrong (Luhn check); it was probably mistyped")

    static let unsupportedBrand = CardValidationError(
        .unsupportedBrand, param: "number",
        "the card number belongs to no supported network (Visa, Mastercard, American Express, "
            + "Discover, JCB, Diners Club, UnionPay)")

    static func invalidExpiryMonth(_ month: Int) -> CardValidationError {
        CardValidationError(.invalidExpiryMonth, param: "exp_month", "the expiry month must be 1 to 12, got \(month)")
    }

    static func invalidExpiryYear(_ why: String) -> CardValidationError {
        CardValidationError(.invalidExpiryYear, param: "exp_year", why)
    }

    static func expiredCard(month: Int, year: Int) -> CardValidationError {
        let padded = month < 10 ? "0\(month)" : "\(month)"
        return CardValidationError(
            .expiredCard, param: "exp_year", "the card expired at the end of \(padded)/\(year)")
    }

    static func invalidCVC(_ why: String) -> CardValidationError {
        CardValidationError(.invalidCVC, param: "cvc", why)
    }
}
