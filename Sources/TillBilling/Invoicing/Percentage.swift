import TillCore

/// An exact rate in millionths of the whole (10% = 100_000), parsed from "10", "8.875", "0.5": up to 4 decimals.
///
/// Tax authorities publish rates such as 8.875 % (New York City) and 0.5 %; a `Double` would
/// turn those into approximations that then round differently on different invoices. A
/// millionth of the whole is a ten-thousandth of a percent, so four decimal places of a
/// percentage are held exactly and every product with money is integer arithmetic.
///
/// Encodes as its decimal string (`"8.875"`), which reads back to the same value.
public struct Percentage: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The rate as millionths of the whole: 1_000_000 is 100 %.
    public let millionths: Int64

    /// The whole, in millionths.
    public static let wholeInMillionths: Int64 = 1_000_000
    /// Nothing: 0 %.
    public static let zero = Percentage(checked: 0)
    /// Everything: 100 %.
    public static let hundred = Percentage(checked: wholeInMillionths)

    /// How many decimal places of a percentage are kept (a millionth is 0.0001 %).
    static let maximumFractionDigits = 4

    /// Parses a percentage written as ASCII digits with an optional `.` and up to four
    /// decimal places: `"10"`, `"8.875"`, `"0.5"`, `".5"`, `"100.0000"`.
    ///
    /// Refused: signs, spaces, exponents, a trailing point, a fifth decimal place (even a
    /// zero, as money refuses excess precision: dropping digits would hide a mistake), and
    /// anything above 100.
    public init(decimalString text: String) throws(BillingError) {
        let shown = text.count > 32 ? String(text.prefix(32)) + "…" : text
        let malformed = BillingError.invalid(
            "percentage", "\"\(shown)\" is not a percentage: expected digits with up to 4 decimal places, 0 to 100")
        let bytes = Array(text.utf8)
        var index = 0
        var whole: Int64 = 0
        var integerDigits = 0
        while index < bytes.count, let digit = Self.digit(bytes[index]) {
            // Anything above 100 is refused below; stopping the accumulation early keeps
            // a thousand-digit input from overflowing.
            if whole <= 100 { whole = whole * 10 + digit }
            integerDigits += 1
            index += 1
        }
        var fraction: Int64 = 0
        var fractionDigits = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            while index < bytes.count, let digit = Self.digit(bytes[index]) {
                guard fractionDigits < Self.maximumFractionDigits else { throw malformed }
                fraction = fraction * 10 + digit
                fractionDigits += 1
                index += 1
            }
            guard fractionDigits > 0 else { throw malformed }
        } else {
            guard integerDigits > 0 else { throw malformed }
        }
        guard index == bytes.count, whole <= 100 else { throw malformed }
        for _ in fractionDigits..<Self.maximumFractionDigits { fraction *= 10 }
        try self.init(millionths: whole * 10_000 + fraction)
    }

    /// A percentage of `millionths` millionths of the whole, from 0 to 1_000_000 (100 %).
    public init(millionths: Int64) throws(BillingError) {
        guard (0...Self.wholeInMillionths).contains(millionths) else {
            throw .invalid("percentage", "\(millionths) millionths is not a percentage from 0 to 100")
        }
        self.millionths = millionths
    }

    private init(checked millionths: Int64) {
        self.millionths = millionths
    }

    /// The percentage with as few decimal places as it needs: `"8.875"`, `"10"`, `"0.5"`.
    public var decimalString: String {
        let whole = millionths / 10_000
        var fraction = millionths % 10_000
        guard fraction != 0 else { return String(whole) }
        var places = Self.maximumFractionDigits
        while fraction % 10 == 0 {
            fraction /= 10
            places -= 1
        }
        let digits = String(fraction)
        return "\(whole)." + String(repeating: "0", count: places - digits.count) + digits
    }

    /// `"8.875%"`.
    public var description: String { decimalString + "%" }

    /// Whether the percentage is 0 %.
    public var isZero: Bool { millionths == 0 }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(decimalString: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(decimalString)
    }

    private static func digit(_ byte: UInt8) -> Int64? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int64(byte - UInt8(ascii: "0")) : nil
    }
}
