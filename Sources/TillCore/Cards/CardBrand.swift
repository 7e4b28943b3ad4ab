/// A card network, detected from the leading digits of the card number.
///
/// This is the one brand table in Till: the vault, the API and the sandboxes all ask it.
/// Ranges follow the networks' published issuer identification number (IIN) ranges:
///
/// | Brand      | Leading digits                          | Lengths | CVC |
/// |------------|-----------------------------------------|---------|-----|
/// | Visa       | 4                                       | 13, 16, 19 | 3 |
/// | Mastercard | 51–55, 2221–2720                        | 16      | 3   |
/// | Amex       | 34, 37                                  | 15      | 4   |
/// | Discover   | 6011, 644–649, 65                       | 16–19   | 3   |
/// | JCB        | 3528–3589                               | 16–19   | 3   |
/// | Diners     | 300–305, 3095, 36, 38, 39               | 14–19   | 3   |
/// | UnionPay   | 62                                      | 16–19   | 3   |
public enum CardBrand: String, Hashable, Sendable, Codable, CaseIterable {
    case visa
    case mastercard
    case amex
    case discover
    case jcb
    case diners
    case unionpay

    /// The brand of a card number, or `nil` when its leading digits belong to no supported
    /// network. Spaces and dashes are skipped; detection stops at the first other
    /// non-digit. Only the first four digits are looked at.
    public init?(number: some StringProtocol) {
        self.init(leadingDigits: number.utf8)
    }

    /// The brand of the card number spelled by `bytes` (ASCII), as ``init(number:)``.
    public init?(leadingDigits bytes: some Sequence<UInt8>) {
        var prefix: [Int] = []
        prefix.reserveCapacity(4)
        for byte in bytes {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "-") { continue }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { break }
            prefix.append(Int(byte - UInt8(ascii: "0")))
            if prefix.count == 4 { break }
        }
        guard let brand = Self.detect(prefix) else { return nil }
        self = brand
    }

    private static func detect(_ digits: [Int]) -> CardBrand? {
        // A range check on a prefix needs that many digits; shorter input matches no range.
        func value(_ length: Int) -> Int? {
            digits.count >= length ? digits.prefix(length).reduce(0) { $0 * 10 + $1 } : nil
        }
        guard let one = value(1) else { return nil }
        let two = value(2), three = value(3), four = value(4)
        if one == 4 { return .visa }
        if let two, (51...55).contains(two) { return .mastercard }
        if let four, (2221...2720).contains(four) { return .mastercard }
        if two == 34 || two == 37 { return .amex }
        if four == 6011 || two == 65 { return .discover }
        if let three, (644...649).contains(three) { return .discover }
        if let four, (3528...3589).contains(four) { return .jcb }
        if let three, (300...305).contains(three) { return .diners }
        if four == 3095 || two == 36 || two == 38 || two == 39 { return .diners }
        if two == 62 { return .unionpay }
        return nil
    }

    /// The number of digits a card number of this brand may have.
    public var allowedLengths: [Int] {
        switch self {
        case .visa: [13, 16, 19]
        case .mastercard: [16]
        case .amex: [15]
        case .discover, .jcb, .unionpay: Array(16...19)
        case .diners: Array(14...19)
        }
    }

    /// The number of digits in this brand's card verification code.
    public var cvcLength: Int {
        self == .amex ? 4 : 3
    }

    /// The brand's name as people write it.
    public var displayName: String {
        switch self {
        case .visa: "Visa"
        case .mastercard: "Mastercard"
        case .amex: "American Express"
        case .discover: "Discover"
        case .jcb: "JCB"
        case .diners: "Diners Club"
        case .unionpay: "UnionPay"
        }
    }
}
