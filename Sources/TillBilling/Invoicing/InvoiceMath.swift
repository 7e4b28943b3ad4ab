import TillCore

/// One line as the invoice builder hands it to ``InvoiceMath``: what is charged, before
/// discounts and (for exclusive rates) before tax.
public struct InvoiceLineInput: Hashable, Sendable {
    /// Unique within the invoice; credit notes name lines by it.
    public var id: String
    /// Quantity × unit amount (negative for a credit / proration credit); for inclusive tax it includes the tax.
    public var amount: Money
    /// Whether invoice discounts apply: proration credit lines are not discounted.
    public var discountable: Bool
    /// Zero or more rates, all exclusive or all inclusive.
    public var taxRates: [TaxRate]

    public init(id: String, amount: Money, discountable: Bool = true, taxRates: [TaxRate] = []) {
        self.id = id
        self.amount = amount
        self.discountable = discountable
        self.taxRates = taxRates
    }
}

/// Tax at one rate: on one line, or summed over an invoice.
public struct LineTax: Hashable, Sendable, Codable {
    public var rateID: String
    /// The amount the rate was applied to, excluding tax (for inclusive rates, the line's
    /// amount less the tax it contained).
    public var taxableAmount: Money
    public var amount: Money

    public init(rateID: String, taxableAmount: Money, amount: Money) {
        self.rateID = rateID
        self.taxableAmount = taxableAmount
        self.amount = amount
    }

    private enum CodingKeys: String, CodingKey {
        case rateID, taxableAmount, amount, currency
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let currency = try c.decode(Currency.self, forKey: .currency)
        rateID = try c.decode(String.self, forKey: .rateID)
        taxableAmount = Money(minorUnits: try c.decode(Int64.self, forKey: .taxableAmount), currency: currency)
        amount = Money(minorUnits: try c.decode(Int64.self, forKey: .amount), currency: currency)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rateID, forKey: .rateID)
        try c.encode(taxableAmount.minorUnits, forKey: .taxableAmount)
        try c.encode(amount.minorUnits, forKey: .amount)
        try c.encode(amount.currency, forKey: .currency)
    }
}

/// A line with its share of the discounts and its tax, exactly as the document shows it.
public struct ComputedLine: Hashable, Sendable, Codable {
    public var id: String
    /// As input.
    public var amount: Money
    /// >= 0 share of invoice discounts (allocated by largest remainder over positive discountable lines).
    public var discountAmount: Money
    /// One entry per rate on the line, in the line's order.
    public var taxes: [LineTax]
    /// amount - discount, minus inclusive tax.
    public var amountExcludingTax: Money
    /// amountExcludingTax + all tax.
    public var total: Money

    public init(
        id: String, amount: Money, discountAmount: Money, taxes: [LineTax], amountExcludingTax: Money, total: Money
    ) {
        self.id = id
        self.amount = amount
        self.discountAmount = discountAmount
        self.taxes = taxes
        self.amountExcludingTax = amountExcludingTax
        self.total = total
    }

    /// The line's tax at every rate.
    public func tax() throws(BillingError) -> Money {
        try InvoiceMath.checked("the tax of line \(id)") { () throws(MoneyError) in
            try Money.sum(taxes.map(\.amount), currency: amount.currency)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case id, currency, amount, discountAmount, taxes, amountExcludingTax, total
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let currency = try c.decode(Currency.self, forKey: .currency)
        id = try c.decode(String.self, forKey: .id)
        amount = Money(minorUnits: try c.decode(Int64.self, forKey: .amount), currency: currency)
        discountAmount = Money(minorUnits: try c.decode(Int64.self, forKey: .discountAmount), currency: currency)
        taxes = try c.decode([LineTax].self, forKey: .taxes)
        amountExcludingTax = Money(minorUnits: try c.decode(Int64.self, forKey: .amountExcludingTax), currency: currency)
        total = Money(minorUnits: try c.decode(Int64.self, forKey: .total), currency: currency)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(amount.currency, forKey: .currency)
        try c.encode(amount.minorUnits, forKey: .amount)
        try c.encode(discountAmount.minorUnits, forKey: .discountAmount)
        try c.encode(taxes, forKey: .taxes)
        try c.encode(amountExcludingTax.minorUnits, forKey: .amountExcludingTax)
        try c.encode(total.minorUnits, forKey: .total)
    }
}

/// An invoice's lines and totals. Every total is the exact sum of the lines' figures, so a
/// document never shows a total its lines do not add up to.
public struct InvoiceTotals: Hashable, Sendable, Codable {
    public var currency: Currency
    public var lines: [ComputedLine]
    /// Sum of line amounts (as entered).
    public var subtotal: Money
    public var totalDiscount: Money
    /// Per rate, summed, in the order the rates first appear on the lines.
    public var taxes: [LineTax]
    public var totalExcludingTax: Money
    public var tax: Money
    /// What the customer owes before credit balance.
    public var total: Money
    /// Named on the document.
    public var rounding: RoundingPolicy

    public init(
        currency: Currency, lines: [ComputedLine], subtotal: Money, totalDiscount: Money, taxes: [LineTax],
        totalExcludingTax: Money, tax: Money, total: Money, rounding: RoundingPolicy
    ) {
        self.currency = currency
        self.lines = lines
        self.subtotal = subtotal
        self.totalDiscount = totalDiscount
        self.taxes = taxes
        self.totalExcludingTax = totalExcludingTax
        self.tax = tax
        self.total = total
        self.rounding = rounding
    }

    /// The line with `id`, if the invoice has one.
    public func line(_ id: String) -> ComputedLine? {
        lines.first { $0.id == id }
    }

    private enum CodingKeys: String, CodingKey {
        case currency, lines, subtotal, totalDiscount, taxes, totalExcludingTax, tax, total, rounding
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let currency = try c.decode(Currency.self, forKey: .currency)
        func money(_ key: CodingKeys) throws -> Money {
            Money(minorUnits: try c.decode(Int64.self, forKey: key), currency: currency)
        }
        self.currency = currency
        lines = try c.decode([ComputedLine].self, forKey: .lines)
        subtotal = try money(.subtotal)
        totalDiscount = try money(.totalDiscount)
        taxes = try c.decode([LineTax].self, forKey: .taxes)
        totalExcludingTax = try money(.totalExcludingTax)
        tax = try money(.tax)
        total = try money(.total)
        rounding = try c.decode(RoundingPolicy.self, forKey: .rounding)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(currency, forKey: .currency)
        try c.encode(lines, forKey: .lines)
        try c.encode(subtotal.minorUnits, forKey: .subtotal)
        try c.encode(totalDiscount.minorUnits, forKey: .totalDiscount)
        try c.encode(taxes, forKey: .taxes)
        try c.encode(totalExcludingTax.minorUnits, forKey: .totalExcludingTax)
        try c.encode(tax.minorUnits, forKey: .tax)
        try c.encode(total.minorUnits, forKey: .total)
        try c.encode(rounding, forKey: .rounding)
    }
}

/// Invoice arithmetic: discounts, tax and totals over exact money.
///
/// The steps, each in whole minor units:
/// 1. Discounts, in the order given, each taking its share of what the previous ones left of
///    the discountable subtotal (the positive, discountable lines); a percentage rounds with
///    the policy's mode, an amount caps at what is left. The discount total is split over
///    those lines in proportion to their amounts by largest remainder, so the shares add up.
/// 2. Tax on each line's discounted amount: exclusive `taxable × p`; inclusive
///    `amount × p / (1 + Σp)`, where `Σp` is all the line's inclusive rates.
///    - `.line` rounds each line's tax at each rate with the mode.
///    - `.invoice` taxes, per rate, the sum of the lines' amounts once, rounded with the
///      mode, then gives each line the floor of its exact tax plus one minor unit for the
///      lines with the largest discarded fractions until the lines add up to the invoice's
///      tax (largest remainder; it works for credit lines too, where proportional shares of
///      a signed sum do not). Lines whose inclusive rates add up differently contain
///      different fractions of tax, so for inclusive rates "per rate" means per rate and
///      combined percentage; with one inclusive rate per line that is simply per rate.
/// 3. Totals are sums of the lines' figures, never computed separately, so they cannot drift.
public enum InvoiceMath {
    public static func totals(
        lines: [InvoiceLineInput], discounts: [Discount], currency: Currency, rounding: RoundingPolicy
    ) throws(BillingError) -> InvoiceTotals {
        try validate(lines: lines, discounts: discounts, currency: currency)
        let discountShares = try discountShares(lines: lines, discounts: discounts, currency: currency, mode: rounding.mode)

        var bases: [Money] = []
        bases.reserveCapacity(lines.count)
        for (line, share) in zip(lines, discountShares) {
            bases.append(try checked("the discounted amount of line \(line.id)") { () throws(MoneyError) in
                try line.amount.subtracting(share)
            })
        }

        let taxAmounts: [[Money]] =
            switch rounding.tax {
            case .line: try taxesRoundedPerLine(lines: lines, bases: bases, mode: rounding.mode)
            case .invoice: try taxesRoundedPerInvoice(lines: lines, bases: bases, mode: rounding.mode)
            }

        var computed: [ComputedLine] = []
        computed.reserveCapacity(lines.count)
        for index in lines.indices {
            let line = lines[index]
            let base = bases[index]
            let amounts = taxAmounts[index]
            computed.append(try checked("the totals of line \(line.id)") { () throws(MoneyError) in
                let lineTax = try Money.sum(amounts, currency: currency)
                let inclusive = line.taxRates.first?.behavior == .inclusive
                let excludingTax = inclusive ? try base.subtracting(lineTax) : base
                let taxes = zip(line.taxRates, amounts).map { rate, amount in
                    LineTax(rateID: rate.id, taxableAmount: excludingTax, amount: amount)
                }
                return ComputedLine(
                    id: line.id, amount: line.amount, discountAmount: discountShares[index], taxes: taxes,
                    amountExcludingTax: excludingTax, total: try excludingTax.adding(lineTax))
            })
        }

        return try checked("the invoice totals") { () throws(MoneyError) in
            var rateOrder: [String] = []
            var byRate: [String: LineTax] = [:]
            for tax in computed.flatMap(\.taxes) {
                if let sum = byRate[tax.rateID] {
                    byRate[tax.rateID] = LineTax(
                        rateID: tax.rateID, taxableAmount: try sum.taxableAmount.adding(tax.taxableAmount),
                        amount: try sum.amount.adding(tax.amount))
                } else {
                    rateOrder.append(tax.rateID)
                    byRate[tax.rateID] = tax
                }
            }
            return InvoiceTotals(
                currency: currency,
                lines: computed,
                subtotal: try Money.sum(computed.map(\.amount), currency: currency),
                totalDiscount: try Money.sum(computed.map(\.discountAmount), currency: currency),
                taxes: rateOrder.compactMap { byRate[$0] },
                totalExcludingTax: try Money.sum(computed.map(\.amountExcludingTax), currency: currency),
                tax: try Money.sum(computed.flatMap(\.taxes).map(\.amount), currency: currency),
                total: try Money.sum(computed.map(\.total), currency: currency),
                rounding: rounding)
        }
    }

    /// Runs money arithmetic, naming `what` was being computed if it fails.
    static func checked<T>(_ what: @autoclosure () -> String, _ body: () throws(MoneyError) -> T) throws(BillingError) -> T {
        do throws(MoneyError) {
            return try body()
        } catch {
            throw .money(error, while: what())
        }
    }

    // MARK: - Validation

    private static func validate(lines: [InvoiceLineInput], discounts: [Discount], currency: Currency) throws(BillingError) {
        var lineIDs: Set<String> = []
        var ratesByID: [String: TaxRate] = [:]
        for line in lines {
            guard line.amount.currency == currency else {
                throw .invalid("currency", "line \(line.id) is in \(line.amount.currency), the invoice in \(currency)")
            }
            guard lineIDs.insert(line.id).inserted else {
                throw .invalid("lines", "two lines have the id \(line.id)")
            }
            if let first = line.taxRates.first, line.taxRates.contains(where: { $0.behavior != first.behavior }) {
                throw .invalid("tax_rates", "line \(line.id) mixes inclusive and exclusive tax rates")
            }
            var rateIDs: Set<String> = []
            for rate in line.taxRates {
                guard rateIDs.insert(rate.id).inserted else {
                    throw .invalid("tax_rates", "line \(line.id) names tax rate \(rate.id) twice")
                }
                if let known = ratesByID[rate.id] {
                    guard known.percentage == rate.percentage, known.behavior == rate.behavior else {
                        throw .invalid(
                            "tax_rates",
                            "tax rate \(rate.id) is \(known.percentage) \(known.behavior) on one line and "
                                + "\(rate.percentage) \(rate.behavior) on line \(line.id)")
                    }
                } else {
                    ratesByID[rate.id] = rate
                }
            }
        }
        for discount in discounts {
            guard case .amountOff(let amount) = discount else { continue }
            guard amount.currency == currency else {
                throw .invalid("currency", "a discount is in \(amount.currency), the invoice in \(currency)")
            }
            guard !amount.isNegative else {
                throw .invalid("discounts", "an amount-off discount cannot be negative (\(amount))")
            }
        }
    }

    // MARK: - Discounts

    /// Each line's share of the discounts: zero for credits and lines that are not
    /// discountable, the rest by largest remainder in proportion to the lines' amounts.
    private static func discountShares(
        lines: [InvoiceLineInput], discounts: [Discount], currency: Currency, mode: RoundingMode
    ) throws(BillingError) -> [Money] {
        var shares = Array(repeating: Money.zero(currency), count: lines.count)
        let eligible = lines.indices.filter { lines[$0].discountable && lines[$0].amount.isPositive }
        guard !eligible.isEmpty, !discounts.isEmpty else { return shares }
        return try checked("the invoice discounts") { () throws(MoneyError) in
            let discountable = try Money.sum(eligible.map { lines[$0].amount }, currency: currency)
            var remaining = discountable
            for discount in discounts {
                let off: Money
                switch discount {
                case .percentOff(let percentage):
                    off = try remaining.multiplied(
                        by: percentage.millionths, dividedBy: Percentage.wholeInMillionths, rounding: mode)
                case .amountOff(let amount):
                    off = try amount.isLessThanOrEqual(to: remaining) ? amount : remaining
                }
                remaining = try remaining.subtracting(off)
            }
            let total = try discountable.subtracting(remaining)
            guard total.isPositive else { return shares }
            let parts = try total.allocated(eligible.map { lines[$0].amount.minorUnits })
            for (index, part) in zip(eligible, parts) {
                shares[index] = part
            }
            return shares
        }
    }

    // MARK: - Tax

    /// The exact tax of `base` at `rate` on `line` is `base × rate / denominator`: the
    /// denominator is the whole for exclusive rates and the whole plus every inclusive rate of
    /// the line for inclusive ones (tax = amount × p / (1 + Σp)).
    private static func taxDenominator(of line: InvoiceLineInput) -> Int64 {
        guard line.taxRates.first?.behavior == .inclusive else { return Percentage.wholeInMillionths }
        // Each rate is at most the whole, so only trillions of rates could overflow this.
        return line.taxRates.reduce(Percentage.wholeInMillionths) { $0 + $1.percentage.millionths }
    }

    private static func taxesRoundedPerLine(
        lines: [InvoiceLineInput], bases: [Money], mode: RoundingMode
    ) throws(BillingError) -> [[Money]] {
        var result: [[Money]] = []
        result.reserveCapacity(lines.count)
        for (line, base) in zip(lines, bases) {
            let denominator = taxDenominator(of: line)
            result.append(try checked("the tax of line \(line.id)") { () throws(MoneyError) in
                var amounts: [Money] = []
                for rate in line.taxRates {
                    amounts.append(try base.multiplied(by: rate.percentage.millionths, dividedBy: denominator, rounding: mode))
                }
                return amounts
            })
        }
        return result
    }

    /// A rate at one combined denominator, and the (line, rate position) pairs it applies to.
    private struct TaxGroup {
        var rate: TaxRate
        var denominator: Int64
        var members: [(line: Int, position: Int)] = []
    }

    private struct TaxGroupKey: Hashable {
        var rateID: String
        var denominator: Int64
    }

    private static func taxesRoundedPerInvoice(
        lines: [InvoiceLineInput], bases: [Money], mode: RoundingMode
    ) throws(BillingError) -> [[Money]] {
        var result = lines.map { line in line.taxRates.map { _ in Money.zero(line.amount.currency) } }
        var order: [TaxGroupKey] = []
        var groups: [TaxGroupKey: TaxGroup] = [:]
        for (index, line) in lines.enumerated() {
            let denominator = taxDenominator(of: line)
            for (position, rate) in line.taxRates.enumerated() {
                let key = TaxGroupKey(rateID: rate.id, denominator: denominator)
                if groups[key] == nil {
                    order.append(key)
                    groups[key] = TaxGroup(rate: rate, denominator: denominator)
                }
                groups[key]?.members.append((index, position))
            }
        }
        for key in order {
            guard let group = groups[key] else { continue }
            let p = group.rate.percentage.millionths
            let d = group.denominator
            try checked("the invoice tax at rate \(key.rateID)") { () throws(MoneyError) in
                let currency = lines[group.members[0].line].amount.currency
                let taxable = try Money.sum(group.members.map { bases[$0.line] }, currency: currency)
                let invoiceTax = try taxable.multiplied(by: p, dividedBy: d, rounding: mode)
                var floors: [Money] = []
                var fractions: [Int64] = []
                for member in group.members {
                    let base = bases[member.line]
                    floors.append(try base.multiplied(by: p, dividedBy: d, rounding: .floor))
                    // (base × p) mod d, from (base mod d) × p, which is below d² and fits.
                    let reduced = (base.minorUnits % d + d) % d
                    fractions.append(reduced * p % d)
                }
                // The invoice's tax lies between the floor and the ceiling of the exact sum,
                // so it exceeds the sum of the floors by at most the number of lines with a
                // fraction: each of those gets at most one more unit.
                let leftover = try invoiceTax.subtracting(Money.sum(floors, currency: currency)).minorUnits
                let byLargestFraction = fractions.indices.sorted {
                    fractions[$0] != fractions[$1] ? fractions[$0] > fractions[$1] : $0 < $1
                }
                let extra = Set(byLargestFraction.prefix(Int(min(max(leftover, 0), Int64(fractions.count)))))
                for (memberIndex, member) in group.members.enumerated() {
                    let unit = Money(minorUnits: extra.contains(memberIndex) ? 1 : 0, currency: currency)
                    result[member.line][member.position] = try floors[memberIndex].adding(unit)
                }
            }
        }
        return result
    }
}
