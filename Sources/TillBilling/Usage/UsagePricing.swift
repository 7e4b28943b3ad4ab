import TillCore

/// One tier of a tiered usage price. Amounts are in the currency's minor units; the unit
/// amount may carry decimals (0.06 cents a call).
public struct UsageTier: Hashable, Sendable, Codable {
    /// The last unit of the tier, inclusive; `nil` for the open last tier.
    public var upTo: UsageDecimal?
    public var unitAmount: UsageDecimal
    /// Charged once when the tier is reached (graduated) or chosen (volume).
    public var flatAmount: Int64

    public init(upTo: UsageDecimal?, unitAmount: UsageDecimal, flatAmount: Int64 = 0) {
        self.upTo = upTo
        self.unitAmount = unitAmount
        self.flatAmount = flatAmount
    }
}

/// How a period's usage quantity becomes an amount.
///
/// Tier boundaries follow Stripe and Lago: a tier covers the units above the previous tier's
/// `up_to` up to and including its own, so with tiers up to 10,000 and 50,000 the 10,000th
/// unit is in the first and the 10,001st in the second, and a quantity of exactly 10,000 is
/// priced by the first tier under volume pricing. Zero usage charges nothing, flat fees
/// included. Amounts are exact until the one rounding to a minor unit, by the merchant's mode.
public enum UsageModel: Hashable, Sendable, Codable {
    /// Every unit at one (possibly fractional) minor-unit amount.
    case perUnit(unitAmount: UsageDecimal)
    /// `amount` per started package of `size` units, after `freeUnits`; a partial package is
    /// charged as a whole one (101 calls in packages of 100 is two packages).
    case package(size: Int64, amount: Int64, freeUnits: Int64)
    /// Each tier prices the units that fall in it; the tiers' amounts add up.
    case graduated([UsageTier])
    /// The one tier the whole quantity falls in prices every unit.
    case volume([UsageTier])

    public var name: String {
        switch self {
        case .perUnit: "per_unit"
        case .package: "package"
        case .graduated: "graduated"
        case .volume: "volume"
        }
    }

    /// Checks the model's own consistency.
    public func validate() throws(BillingError) {
        switch self {
        case .perUnit(let unit):
            guard !unit.isNegative else { throw .invalid("unit_amount_decimal", "a unit amount cannot be negative") }
        case .package(let size, let amount, let free):
            guard size > 0 else { throw .invalid("package_size", "a package holds at least one unit") }
            guard amount >= 0, free >= 0 else { throw .invalid("package_amount", "package amounts and free units cannot be negative") }
        case .graduated(let tiers), .volume(let tiers):
            guard (1...20).contains(tiers.count) else { throw .invalid("tiers", "a tiered price has 1 to 20 tiers") }
            var previous = UsageDecimal.zero
            for (index, tier) in tiers.enumerated() {
                guard !tier.unitAmount.isNegative, tier.flatAmount >= 0 else {
                    throw .invalid("tiers[\(index)]", "tier amounts cannot be negative")
                }
                if let upTo = tier.upTo {
                    guard index < tiers.count - 1 else {
                        throw .invalid("tiers[\(index)].up_to", "the last tier is open-ended: give it up_to \"inf\"")
                    }
                    guard previous < upTo else {
                        throw .invalid("tiers[\(index)].up_to", "tiers' up_to must increase (\(upTo) follows \(previous))")
                    }
                    previous = upTo
                } else if index < tiers.count - 1 {
                    throw .invalid("tiers[\(index)].up_to", "only the last tier may be open-ended")
                }
            }
        }
    }

    /// The exact amount, in minor units, for `quantity` units, with a readable breakdown.
    public func exactAmount(for quantity: UsageDecimal) throws(BillingError) -> (amount: UsageDecimal, breakdown: [String]) {
        guard !quantity.isNegative else { throw .invalid("quantity", "usage cannot be negative (\(quantity))") }
        if quantity.isZero { return (.zero, []) }
        switch self {
        case .perUnit(let unit):
            return (try quantity.multiplied(by: unit), ["\(quantity) × \(unit)"])
        case .package(let size, let amount, let free):
            let billable = try quantity.subtracting(UsageDecimal(free))
            guard !billable.isNegative, !billable.isZero else { return (.zero, ["\(quantity) within \(free) free units"]) }
            let packages = try billable.ceilingDivided(by: size)
            return (try UsageDecimal(amount).multiplied(by: packages), ["\(packages) package(s) of \(size) × \(amount)"])
        case .graduated(let tiers):
            var total = UsageDecimal.zero
            var lower = UsageDecimal.zero
            var breakdown: [String] = []
            for tier in tiers where lower < quantity {
                let upper = tier.upTo.map { min($0, quantity) } ?? quantity
                let units = try upper.subtracting(lower)
                let part = try units.multiplied(by: tier.unitAmount).adding(UsageDecimal(tier.flatAmount))
                total = try total.adding(part)
                breakdown.append("\(units) × \(tier.unitAmount)" + (tier.flatAmount > 0 ? " + \(tier.flatAmount)" : ""))
                lower = upper
            }
            return (total, breakdown)
        case .volume(let tiers):
            guard let tier = tiers.first(where: { $0.upTo.map { quantity <= $0 } ?? true }) else {
                throw .invalid("tiers", "no tier covers \(quantity)")
            }
            let amount = try quantity.multiplied(by: tier.unitAmount).adding(UsageDecimal(tier.flatAmount))
            return (amount, ["\(quantity) × \(tier.unitAmount)" + (tier.flatAmount > 0 ? " + \(tier.flatAmount)" : "")])
        }
    }

    /// The amount for `quantity`, rounded once to the currency's minor unit.
    public func amount(for quantity: UsageDecimal, currency: Currency, rounding: RoundingMode) throws(BillingError) -> Money {
        Money(minorUnits: try exactAmount(for: quantity).amount.rounded(rounding), currency: currency)
    }
}

extension UsageDecimal {
    /// How many groups of `size` the value starts, partial ones counted whole.
    func ceilingDivided(by size: Int64) throws(BillingError) -> UsageDecimal {
        var power: Int128 = 1
        for _ in 0..<scale { power *= 10 }
        let (divisor, overflow) = power.multipliedReportingOverflow(by: Int128(size))
        guard !overflow else { throw Self.overflow }
        return UsageDecimal(mantissa: Self.divide(mantissa, divisor, .ceiling), scale: 0)
    }
}

/// A recurring price charged on usage: the metric it reads and the model that prices it.
/// Billed in arrears, at the end of each period (or when the subscription ends).
public struct MeteredPricing: Hashable, Sendable, Codable {
    public var metricID: String
    public var model: UsageModel

    public init(metricID: String, model: UsageModel) throws(BillingError) {
        try model.validate()
        self.metricID = metricID
        self.model = model
    }
}
