import TillCore

/// An exact decimal number: usage quantities (3.5 GB) and sub-minor-unit prices (0.06 cents
/// an API call). `mantissa / 10^scale`, in 128 bits.
///
/// Usage arithmetic never goes through `Double`: a sum of a million 0.1 GB events is
/// 100,000 GB exactly, and an amount is rounded to the minor unit once, at the end, by the
/// merchant's named rounding mode.
public struct UsageDecimal: Hashable, Sendable, Comparable, CustomStringConvertible {
    public private(set) var mantissa: Int128
    /// Digits after the point, 0 to ``maxScale``.
    public private(set) var scale: Int

    /// Quantities and prices keep at most 12 decimals (Stripe's `unit_amount_decimal` allows
    /// 12; Lago five).
    public static let maxScale = 12
    /// Inputs stay below 10^15 in magnitude so products of two of them fit in 128 bits.
    static let maxIntegerDigits = 15

    public static let zero = UsageDecimal(mantissa: 0, scale: 0)

    public init(_ integer: Int64) {
        self.init(mantissa: Int128(integer), scale: 0)
    }

    init(mantissa: Int128, scale: Int) {
        self.mantissa = mantissa
        self.scale = scale
        normalize()
    }

    /// Parses `-12.345` style text: an optional minus, digits, an optional point and digits.
    /// No exponents, no signs other than a leading minus, no spaces.
    public init(parsing text: String) throws(BillingError) {
        var digits = Substring(text)
        let negative = digits.first == "-"
        if negative { digits = digits.dropFirst() }
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let integer = parts[0]
        let fraction = parts.count == 2 ? parts[1] : ""
        guard !integer.isEmpty || !fraction.isEmpty, integer.allSatisfy(\.isASCIIDigit), fraction.allSatisfy(\.isASCIIDigit),
            parts.count == 1 || !fraction.isEmpty
        else {
            throw BillingError(.invalidInput, code: "invalid_number", "\(Self.quoted(text)) is not a decimal number like 12.5")
        }
        let significant = integer.drop(while: { $0 == "0" })
        guard significant.count <= Self.maxIntegerDigits else {
            throw BillingError(.invalidInput, code: "number_too_large", "\(Self.quoted(text)) has more than \(Self.maxIntegerDigits) integer digits")
        }
        let trimmed = fraction.reversed().drop(while: { $0 == "0" }).reversed()
        guard trimmed.count <= Self.maxScale else {
            throw BillingError(.invalidInput, code: "number_too_precise", "\(Self.quoted(text)) has more than \(Self.maxScale) decimals")
        }
        var value: Int128 = 0
        for character in significant + trimmed {
            value = value * 10 + Int128(character.wholeNumberValue ?? 0)  // every character is an ASCII digit (checked above)
        }
        self.init(mantissa: negative ? -value : value, scale: trimmed.count)
    }

    private static func quoted(_ text: String) -> String {
        "\"" + String(text.prefix(40)) + (text.count > 40 ? "…" : "") + "\""
    }

    public var isNegative: Bool { mantissa < 0 }
    public var isZero: Bool { mantissa == 0 }
    public var isInteger: Bool { scale == 0 }

    private mutating func normalize() {
        while scale > 0, mantissa % 10 == 0 {
            mantissa /= 10
            scale -= 1
        }
    }

    private static func power(_ n: Int) -> Int128 {
        var result: Int128 = 1
        for _ in 0..<n { result *= 10 }
        return result
    }

    /// Both mantissas at the larger scale.
    private static func aligned(_ a: UsageDecimal, _ b: UsageDecimal) throws(BillingError) -> (Int128, Int128, Int) {
        let scale = max(a.scale, b.scale)
        let (x, o1) = a.mantissa.multipliedReportingOverflow(by: power(scale - a.scale))
        let (y, o2) = b.mantissa.multipliedReportingOverflow(by: power(scale - b.scale))
        guard !o1, !o2 else { throw Self.overflow }
        return (x, y, scale)
    }

    static var overflow: BillingError {
        BillingError(.invalidInput, code: "usage_overflow", "a usage quantity or amount is too large to compute exactly")
    }

    public func adding(_ other: UsageDecimal) throws(BillingError) -> UsageDecimal {
        let (x, y, scale) = try Self.aligned(self, other)
        let (sum, overflow) = x.addingReportingOverflow(y)
        guard !overflow else { throw Self.overflow }
        return UsageDecimal(mantissa: sum, scale: scale)
    }

    public func subtracting(_ other: UsageDecimal) throws(BillingError) -> UsageDecimal {
        try adding(UsageDecimal(mantissa: -other.mantissa, scale: other.scale))
    }

    public func multiplied(by other: UsageDecimal) throws(BillingError) -> UsageDecimal {
        let (product, overflow) = mantissa.multipliedReportingOverflow(by: other.mantissa)
        guard !overflow else { throw Self.overflow }
        var scale = self.scale + other.scale
        var value = product
        // Scales above 2×12 can only come from products of products; drop exact zeros only.
        while scale > 2 * Self.maxScale, value % 10 == 0 {
            value /= 10
            scale -= 1
        }
        guard scale <= 2 * Self.maxScale else { throw Self.overflow }
        return UsageDecimal(mantissa: value, scale: scale)
    }

    /// The smallest integer not below the value (a partial package counts as a whole one).
    public func ceiling() -> UsageDecimal {
        UsageDecimal(mantissa: Self.divide(mantissa, Self.power(scale), .ceiling), scale: 0)
    }

    /// Rounded to a whole number with `mode` (an amount in minor units).
    public func rounded(_ mode: RoundingMode) throws(BillingError) -> Int64 {
        let value = Self.divide(mantissa, Self.power(scale), mode)
        guard let result = Int64(exactly: value) else { throw Self.overflow }
        return result
    }

    /// `a / b` for `b > 0`, rounded by `mode`.
    static func divide(_ a: Int128, _ b: Int128, _ mode: RoundingMode) -> Int128 {
        let quotient = a / b  // toward zero
        let remainder = a % b
        if remainder == 0 { return quotient }
        let negative = a < 0
        let twice = remainder.magnitude * 2
        let half: Int = twice < b.magnitude ? -1 : twice == b.magnitude ? 0 : 1
        let away: Bool
        switch mode {
        case .up: away = true
        case .down: away = false
        case .ceiling: away = !negative
        case .floor: away = negative
        case .halfUp: away = half >= 0
        case .halfDown: away = half > 0
        case .halfEven: away = half > 0 || (half == 0 && quotient % 2 != 0)
        }
        return away ? quotient + (negative ? -1 : 1) : quotient
    }

    public static func < (lhs: UsageDecimal, rhs: UsageDecimal) -> Bool {
        // Normalised values of any magnitude we accept align without overflow.
        guard let (x, y, _) = try? aligned(lhs, rhs) else { return lhs.mantissa < rhs.mantissa }
        return x < y
    }

    /// `12.5`, `-0.0006`, `65000`: the shortest exact text.
    public var description: String {
        let digits = String(mantissa.magnitude)
        let sign = mantissa < 0 ? "-" : ""
        guard scale > 0 else { return sign + digits }
        let padded = String(repeating: "0", count: max(0, scale + 1 - digits.count)) + digits
        let split = padded.index(padded.endIndex, offsetBy: -scale)
        return sign + padded[..<split] + "." + padded[split...]
    }
}

extension UsageDecimal: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try UsageDecimal(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
