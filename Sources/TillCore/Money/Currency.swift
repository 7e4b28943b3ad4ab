/// An ISO 4217 currency that money can be held in, with the exponent of its minor unit.
///
/// Every `Currency` comes from the ISO 4217 table kept in this module (`ISO4217.swift`),
/// so its code, numeric code, exponent and name always agree with that table. Two
/// currencies are equal when their codes are equal.
///
/// Codes whose minor unit ISO lists as "N.A." (units of account such as XDR and XUA, the
/// precious metals XAU, XAG, XPD and XPT, the bond-market units XBA–XBD, and the testing
/// and "no currency" codes XTS and XXX) are not currencies here: ``init(code:)`` returns
/// `nil` for them and ``init(validatingCode:)`` throws ``CurrencyError/noMinorUnit(_:)``,
/// because an amount in them has no exact count of minor units.
///
/// `Currency` encodes as its upper-case alphabetic code (`"USD"`) and decodes from a code
/// in any letter case.
public struct Currency: Sendable {
    /// The alphabetic code, upper case (`"USD"`).
    public let code: String
    /// The ISO 4217 numeric code (840 for USD, 8 for ALL, which ISO writes as `008`).
    public let numericCode: Int
    /// How many decimal places the minor unit has: 2 for USD, 0 for JPY, 3 for KWD, 4 for CLF.
    public let minorUnitExponent: Int
    /// The English name ISO gives the currency (`"US Dollar"`, `"Yen"`).
    public let name: String
    /// Whether ISO marks this code as a fund (BOV, CLF, COU, MXV, USN, UYI, UYW, ...) rather
    /// than a circulating currency.
    public let isFund: Bool

    /// Looks a currency up by its three-letter alphabetic code, in any ASCII letter case.
    ///
    /// Returns `nil` for anything that is not exactly three ASCII letters, for codes not in
    /// the current ISO 4217 list (including withdrawn ones such as `"HRK"`), and for codes
    /// without a minor unit (`"XAU"`, `"XDR"`, `"XXX"`, ...). Use ``init(validatingCode:)``
    /// to learn which of these it was.
    public init?(code: String) {
        guard let currency = try? Currency(validatingCode: code) else { return nil }
        self = currency
    }

    /// Looks a currency up by its three-letter alphabetic code, in any ASCII letter case,
    /// and says why when it cannot.
    ///
    /// - Throws: ``CurrencyError/unknownCode(_:)`` when the code is malformed or not in the
    ///   current ISO 4217 list; ``CurrencyError/noMinorUnit(_:)`` when ISO lists the code
    ///   without a minor unit, so it cannot hold money.
    public init(validatingCode code: String) throws(CurrencyError) {
        // Upper-casing only ASCII letters by hand: `String.uppercased()` would map, for
        // example, "ſ" (long s) to "S" and so accept a code nobody typed.
        guard let key = Self.normalizedCode(code) else { throw .unknownCode(String(code.prefix(16))) }
        if let currency = ISO4217.currenciesByCode[key] {
            self = currency
        } else if ISO4217.codesWithoutMinorUnit.contains(key) {
            throw .noMinorUnit(key)
        } else {
            throw .unknownCode(key)
        }
    }

    /// Looks a currency up by its ISO 4217 numeric code (840 for USD).
    ///
    /// Returns `nil` for numbers not in the current list and for codes without a minor unit.
    public init?(numericCode: Int) {
        guard let currency = ISO4217.currenciesByNumericCode[numericCode] else { return nil }
        self = currency
    }

    init(code: String, numericCode: Int, minorUnitExponent: Int, name: String, isFund: Bool) {
        self.code = code
        self.numericCode = numericCode
        self.minorUnitExponent = minorUnitExponent
        self.name = name
        self.isFund = isFund
    }

    /// Every currency that can hold money, sorted by code.
    public static let all: [Currency] = ISO4217.usableCurrencies

    /// US Dollar (2 decimals).
    public static let usd = ISO4217.builtIn("USD")
    /// Euro (2 decimals).
    public static let eur = ISO4217.builtIn("EUR")
    /// Pound Sterling (2 decimals).
    public static let gbp = ISO4217.builtIn("GBP")
    /// Yen (0 decimals).
    public static let jpy = ISO4217.builtIn("JPY")
    /// Kuwaiti Dinar (3 decimals).
    public static let kwd = ISO4217.builtIn("KWD")
    /// Unidad de Fomento, a Chilean fund code (4 decimals).
    public static let clf = ISO4217.builtIn("CLF")

    /// The code upper-cased, or `nil` unless it is exactly three ASCII letters.
    private static func normalizedCode(_ code: String) -> String? {
        var letters: [UInt8] = []
        letters.reserveCapacity(3)
        for byte in code.utf8 {
            guard letters.count < 3 else { return nil }
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): letters.append(byte)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): letters.append(byte - 32)
            default: return nil
            }
        }
        guard letters.count == 3 else { return nil }
        return String(decoding: letters, as: UTF8.self)
    }
}

extension Currency: Hashable {
    public static func == (lhs: Currency, rhs: Currency) -> Bool {
        lhs.code == rhs.code
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
    }
}

extension Currency: CustomStringConvertible {
    /// The alphabetic code, so currencies read naturally in logs and messages.
    public var description: String { code }
}

extension Currency: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let code = try container.decode(String.self)
        do {
            try self.init(validatingCode: code)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(code)
    }
}

/// Why a currency code was refused.
public enum CurrencyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The code is not three ASCII letters, or is not in the current ISO 4217 list
    /// (withdrawn codes such as HRK included). Carries the code as given (at most 16
    /// characters of it).
    case unknownCode(String)
    /// ISO 4217 lists the code with no minor unit ("N.A."), as for XAU, XDR or XXX, so it
    /// cannot hold an exact amount of money.
    case noMinorUnit(String)

    public var description: String {
        switch self {
        case .unknownCode(let code):
            "\"\(code)\" is not a current ISO 4217 currency code"
        case .noMinorUnit(let code):
            "\(code) has no minor unit in ISO 4217 and cannot hold money"
        }
    }
}

/// The ISO 4217 table (rows in `ISO4217.swift`) and the lookups built from it once.
enum ISO4217 {
    /// ISO's minor unit column: a number of decimal places, or "N.A.".
    enum MinorUnit: Hashable, Sendable {
        case digits(Int)
        case notApplicable
    }

    /// One row of ISO 4217 List One.
    struct Entry: Sendable {
        let code: String
        let numericCode: Int
        let minorUnit: MinorUnit
        let name: String
        let isFund: Bool

        init(_ code: String, _ numericCode: Int, _ minorUnit: MinorUnit, _ name: String, isFund: Bool = false) {
            self.code = code
            self.numericCode = numericCode
            self.minorUnit = minorUnit
            self.name = name
            self.isFund = isFund
        }

        var currency: Currency? {
            guard case .digits(let exponent) = minorUnit else { return nil }
            return Currency(
                code: code, numericCode: numericCode, minorUnitExponent: exponent,
                name: name, isFund: isFund)
        }
    }

    static let usableCurrencies: [Currency] = entries.compactMap(\.currency).sorted { $0.code < $1.code }

    // Built with `uniquingKeysWith` so a duplicated row can never trap at start-up; the
    // tests check that there are none.
    static let currenciesByCode: [String: Currency] = Dictionary(
        usableCurrencies.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })

    static let currenciesByNumericCode: [Int: Currency] = Dictionary(
        usableCurrencies.map { ($0.numericCode, $0) }, uniquingKeysWith: { first, _ in first })

    static let codesWithoutMinorUnit: Set<String> = Set(
        entries.filter { $0.minorUnit == .notApplicable }.map(\.code))

    /// A currency the module names as a constant. The table always holds these codes (the
    /// tests check each one): a bad edit to the table stops debug builds at once, and
    /// release builds get a stand-in rather than a crash at start-up.
    static func builtIn(_ code: String) -> Currency {
        if let currency = currenciesByCode[code] { return currency }
        assertionFailure("ISO 4217 table lacks built-in currency \(code)")
        return Currency(code: code, numericCode: 0, minorUnitExponent: 2, name: code, isFund: false)
    }
}
