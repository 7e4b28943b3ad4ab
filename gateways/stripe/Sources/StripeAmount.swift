import TillCore

/// Converts between Till's ISO 4217 minor units and the integer `amount` Stripe's API
/// expects, which differs from ISO for a few currencies (Stripe's "Supported currencies",
/// zero-decimal list and special cases):
///
/// - ISK: ISO has no minor unit, but Stripe keeps it two-decimal (100 = 1 króna).
/// - MGA: ISO has two decimals, but Stripe treats it as zero-decimal.
///
/// Everything else (two-decimal, the zero-decimal list, three-decimal) matches ISO.
enum StripeAmount {
    /// Stripe's exponent where it differs from ISO 4217.
    private static let exponentOverrides: [String: Int] = ["ISK": 2, "MGA": 0]

    static func exponent(_ currency: Currency) -> Int {
        exponentOverrides[currency.code] ?? currency.minorUnitExponent
    }

    /// Stripe's amount for `money`, or `nil` when it cannot be expressed there (a fraction
    /// of an ariary).
    static func encode(_ money: Money) -> Int64? {
        let shift = exponent(money.currency) - money.currency.minorUnitExponent
        if shift == 0 { return money.minorUnits }
        if shift > 0 {
            let (value, overflow) = money.minorUnits.multipliedReportingOverflow(by: power(shift))
            return overflow ? nil : value
        }
        let divisor = power(-shift)
        return money.minorUnits % divisor == 0 ? money.minorUnits / divisor : nil
    }

    /// Till's money for a Stripe `amount` in `currency`, or `nil` when it does not convert
    /// exactly.
    static func decode(_ amount: Int64, currency: Currency) -> Money? {
        let shift = exponent(currency) - currency.minorUnitExponent
        if shift == 0 { return Money(minorUnits: amount, currency: currency) }
        if shift < 0 {
            let (value, overflow) = amount.multipliedReportingOverflow(by: power(-shift))
            return overflow ? nil : Money(minorUnits: value, currency: currency)
        }
        let divisor = power(shift)
        return amount % divisor == 0 ? Money(minorUnits: amount / divisor, currency: currency) : nil
    }

    /// Stripe's lower-case currency code to Till's currency.
    static func currency(_ code: String) -> Currency? { Currency(code: code.uppercased()) }

    private static func power(_ exponent: Int) -> Int64 {
        var value: Int64 = 1
        for _ in 0..<exponent { value *= 10 }
        return value
    }
}
