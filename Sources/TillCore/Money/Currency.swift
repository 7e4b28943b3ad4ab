/// An ISO 4217 currency and the exponent of its minor unit.
///
/// Placeholder with a handful of currencies; the money work replaces it with the full
/// table kept in the repository.
public struct Currency: Hashable, Sendable {
    /// The alphabetic code, upper case (`"USD"`).
    public let code: String
    /// How many decimal places the minor unit has: 2 for USD, 0 for JPY, 3 for KWD.
    public let minorUnitExponent: Int

    public init?(code: String) {
        switch code.uppercased() {
        case "USD": self = .usd
        case "EUR": self = .eur
        case "JPY": self = .jpy
        case "KWD": self = .kwd
        default: return nil
        }
    }

    init(code: String, minorUnitExponent: Int) {
        self.code = code
        self.minorUnitExponent = minorUnitExponent
    }

    public static let usd = Currency(code: "USD", minorUnitExponent: 2)
    public static let eur = Currency(code: "EUR", minorUnitExponent: 2)
    public static let jpy = Currency(code: "JPY", minorUnitExponent: 0)
    public static let kwd = Currency(code: "KWD", minorUnitExponent: 3)
}
