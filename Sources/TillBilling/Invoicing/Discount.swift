import TillCore

/// An invoice-level discount: a percentage of the discountable subtotal, or a fixed amount.
///
/// ``InvoiceMath`` applies discounts in the order given, each to what the previous ones left
/// of the discountable subtotal, so "10 % off, then 5.00 off" is stated by the order and a
/// discount can never make the discountable lines negative.
///
/// Encodes as `{"type": "percent_off", "percentage": "10"}` or
/// `{"type": "amount_off", "amount": 500, "currency": "USD"}` (minor units and the ISO code,
/// as the checkout documents store money).
public enum Discount: Hashable, Sendable, Codable {
    case percentOff(Percentage)
    case amountOff(Money)

    private enum CodingKeys: String, CodingKey {
        case type, percentage, amount, currency
    }

    private enum Kind: String, Codable {
        case percentOff = "percent_off"
        case amountOff = "amount_off"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(Kind.self, forKey: .type) {
        case .percentOff:
            self = .percentOff(try c.decode(Percentage.self, forKey: .percentage))
        case .amountOff:
            let currency = try c.decode(Currency.self, forKey: .currency)
            self = .amountOff(Money(minorUnits: try c.decode(Int64.self, forKey: .amount), currency: currency))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .percentOff(let percentage):
            try c.encode(Kind.percentOff, forKey: .type)
            try c.encode(percentage, forKey: .percentage)
        case .amountOff(let amount):
            try c.encode(Kind.amountOff, forKey: .type)
            try c.encode(amount.minorUnits, forKey: .amount)
            try c.encode(amount.currency, forKey: .currency)
        }
    }
}
