import Foundation
import TillCore

/// Something a merchant sells; prices say how much and how often.
public struct Product: Hashable, Sendable, Codable {
    public var id: String
    public var name: String
    public var description: String?
    public var active: Bool
    public var metadata: [String: String]
    public var createdAt: Date

    public init(
        id: String, name: String, description: String? = nil, active: Bool = true, metadata: [String: String] = [:],
        createdAt: Date
    ) throws(BillingError) {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw .invalid("name", "a product needs a name")
        }
        self.id = id
        self.name = name
        self.description = description
        self.active = active
        self.metadata = metadata
        self.createdAt = createdAt
    }
}

/// How a price turns a quantity into an amount.
public enum PricingScheme: String, Hashable, Sendable, Codable, CaseIterable {
    /// Unit amount × quantity.
    case perUnit = "per_unit"
    /// The unit amount, whatever the quantity.
    case flat
}

/// A one-time charge, or one that recurs every `recurrence`.
public enum PriceKind: Hashable, Sendable, Codable {
    case oneTime
    case recurring(Recurrence)

    public var recurrence: Recurrence? {
        if case .recurring(let recurrence) = self { return recurrence }
        return nil
    }
}

/// What a product costs: in a primary currency and, optionally, in others (Stripe's
/// `currency_options`), so one price can bill customers in several currencies without an
/// exchange rate.
public struct Price: Hashable, Sendable, Codable {
    public var id: String
    public var productID: String
    /// The amount per unit (per unit and period, for a recurring price) in each currency the
    /// price is offered in; the first is the primary one.
    public var unitAmounts: [Money]
    public var kind: PriceKind
    public var scheme: PricingScheme
    public var taxBehavior: TaxBehavior
    public var nickname: String?
    public var active: Bool
    public var createdAt: Date
    /// Set for a usage price: the period's amount comes from a metric, in arrears, and
    /// `unitAmounts` holds only the currency (at zero).
    public var usage: MeteredPricing?

    public init(
        id: String, productID: String, unitAmounts: [Money], kind: PriceKind, scheme: PricingScheme = .perUnit,
        taxBehavior: TaxBehavior = .exclusive, nickname: String? = nil, active: Bool = true, createdAt: Date,
        usage: MeteredPricing? = nil
    ) throws(BillingError) {
        guard !unitAmounts.isEmpty else { throw .invalid("unit_amount", "a price needs an amount") }
        if usage != nil {
            guard kind.recurrence != nil else {
                throw .invalid("recurring", "a usage price is recurring: usage is billed at the end of each period")
            }
            guard unitAmounts.count == 1 else {
                throw .invalid("currency_options", "a usage price has one currency (its tiers are in its minor units)")
            }
        }
        var seen: Set<Currency> = []
        for amount in unitAmounts {
            guard !amount.isNegative else {
                throw .invalid("unit_amount", "a price cannot be negative (\(amount)); credit with a credit note")
            }
            guard seen.insert(amount.currency).inserted else {
                throw .invalid("currency_options", "\(amount.currency.code) is given twice")
            }
        }
        self.id = id
        self.productID = productID
        self.unitAmounts = unitAmounts
        self.kind = kind
        self.scheme = scheme
        self.taxBehavior = taxBehavior
        self.nickname = nickname
        self.active = active
        self.createdAt = createdAt
        self.usage = usage
    }

    public var isMetered: Bool { usage != nil }

    public var primaryCurrency: Currency { unitAmounts[0].currency }

    public var currencies: [Currency] { unitAmounts.map(\.currency) }

    /// The unit amount in `currency`; a price not offered in it is refused, naming both.
    public func unitAmount(in currency: Currency) throws(BillingError) -> Money {
        guard let amount = unitAmounts.first(where: { $0.currency == currency }) else {
            throw BillingError(
                .invalidInput, code: "price_currency_unavailable",
                "price \(id) is not offered in \(currency.code) (it is in \(currencies.map(\.code).joined(separator: ", ")))",
                param: "price")
        }
        return amount
    }

    /// What `quantity` of the price costs for one whole period (or once) in `currency`.
    public func amount(quantity: Int64, in currency: Currency) throws(BillingError) -> Money {
        guard quantity > 0 else { throw .invalid("quantity", "a quantity must be at least 1 (got \(quantity))") }
        // Metered items charge nothing in advance; their usage is billed at the period end.
        if usage != nil { return .zero(try unitAmount(in: currency).currency) }
        let unit = try unitAmount(in: currency)
        switch scheme {
        case .flat:
            return unit
        case .perUnit:
            do {
                return try unit.multiplied(by: quantity)
            } catch {
                throw .money(error, while: "\(quantity) × \(unit)")
            }
        }
    }
}
