/// Why an operation on ``Money`` was refused. Nothing is changed when one is thrown.
public enum MoneyError: Error, Hashable, Sendable {
    /// The two amounts are in different currencies (this one first, then the other).
    case currencyMismatch(Currency, Currency)
    /// The result does not fit in `Int64` minor units.
    case overflow
    /// The text is not a decimal amount: it must be ASCII digits with an optional leading
    /// `-` and an optional `.` followed by at least one digit (`"10"`, `"10.5"`, `".5"`,
    /// `"-0.50"`). Carries the text (at most its first 64 characters).
    case invalidFormat(String)
    /// The text has more decimal places than the currency's minor unit allows, even if the
    /// extra ones are zeros (`"10.000"` for USD, `"1000.0"` for JPY). Carries the text (at
    /// most its first 64 characters) and the currency.
    case excessPrecision(String, Currency)
    /// A proration was asked to divide by zero.
    case divisionByZero
    /// Allocation ratios must be a non-empty list of non-negative numbers with a positive
    /// total. Carries the ratios given.
    case invalidRatios([Int64])
}

extension MoneyError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .currencyMismatch(let first, let second):
            "cannot combine amounts in \(first.code) and \(second.code)"
        case .overflow:
            "the amount is too large: it does not fit in 64-bit minor units"
        case .invalidFormat(let text):
            "\"\(text)\" is not a decimal amount: expected digits, an optional leading '-', "
                + "and an optional '.' followed by digits"
        case .excessPrecision(let text, let currency):
            "\"\(text)\" has more decimal places than \(currency.code) allows "
                + "(\(currency.minorUnitExponent))"
        case .divisionByZero:
            "cannot divide an amount by zero"
        case .invalidRatios(let ratios):
            "allocation ratios \(ratios) must be non-empty and non-negative with a positive total"
        }
    }

    /// Keeps errors small when the offending input is huge; the prefix is enough to find it.
    static func quoting(_ text: some StringProtocol) -> String {
        text.count > 64 ? String(text.prefix(64)) + "…" : String(text)
    }
}
