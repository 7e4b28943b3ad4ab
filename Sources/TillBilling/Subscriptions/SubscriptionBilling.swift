import Foundation
import TillCore

/// The prices, products and tax rates a computation reads, looked up by id.
public struct PriceBook: Sendable {
    public var prices: [String: Price]
    public var products: [String: Product]
    public var taxRates: [String: TaxRate]

    public init(prices: [String: Price], products: [String: Product], taxRates: [String: TaxRate]) {
        self.prices = prices
        self.products = products
        self.taxRates = taxRates
    }

    public func price(_ id: String) throws(BillingError) -> Price {
        guard let price = prices[id] else { throw BillingError(.notFound, code: "resource_missing", "no price \(id)", param: "price") }
        return price
    }

    public func rates(_ ids: [String]) throws(BillingError) -> [TaxRate] {
        var rates: [TaxRate] = []
        for id in ids {
            guard let rate = taxRates[id] else {
                throw BillingError(.notFound, code: "resource_missing", "no tax rate \(id)", param: "tax_rates")
            }
            rates.append(rate)
        }
        return rates
    }

    /// The tax rates that apply to a price: those whose behaviour matches the price's (an
    /// inclusive price is taxed by inclusive rates only, so one line never mixes the two).
    public func rates(_ ids: [String], for price: Price) throws(BillingError) -> [TaxRate] {
        let rates = try rates(ids)
        if let wrong = rates.first(where: { $0.behavior != price.taxBehavior }) {
            throw .invalid(
                "tax_rates",
                "tax rate \(wrong.id) is \(wrong.behavior.rawValue) but price \(price.id) is tax-\(price.taxBehavior.rawValue)")
        }
        return rates
    }

    public func label(_ price: Price) -> String {
        price.nickname ?? products[price.productID]?.name ?? price.id
    }
}

/// How a subscription's items become invoice lines: whole periods, partial periods and
/// prorations, always computed in the customer's calendar and rounded by a named mode.
public enum SubscriptionBilling {
    /// The lines charging `items` for `period`; `factor` prorates a partial period (a
    /// calendar-aligned start, a resumption), `nil` charges it whole.
    public static func periodLines(
        items: [SubscriptionItem], book: PriceBook, currency: Currency, period: BillingPeriod, factor: ProrationFactor?,
        taxRateIDs: [String], rounding: RoundingMode, makeID: () -> String
    ) throws(BillingError) -> [InvoiceLine] {
        var lines: [InvoiceLine] = []
        for item in items {
            let price = try book.price(item.priceID)
            // Usage is billed in arrears, by ``usageLines``.
            if price.isMetered { continue }
            let whole = try price.amount(quantity: item.quantity, in: currency)
            let amount = try factor.map { f throws(BillingError) in try f.unused(of: whole, rounding: rounding) } ?? whole
            let partial = factor.map { !$0.isWhole } ?? false
            lines.append(
                InvoiceLine(
                    id: makeID(),
                    description: "\(item.quantity) × \(book.label(price))" + (partial ? " (partial period)" : ""),
                    quantity: item.quantity, unitAmount: try price.unitAmount(in: currency), amount: amount, period: period,
                    priceID: price.id, subscriptionItemID: item.id, proration: partial, discountable: true,
                    taxRates: try book.rates(taxRateIDs, for: price)))
        }
        return lines
    }

    /// What the items cost for one whole period.
    public static func periodAmount(
        items: [SubscriptionItem], book: PriceBook, currency: Currency
    ) throws(BillingError) -> Money {
        var total = Money.zero(currency)
        for item in items {
            let amount = try book.price(item.priceID).amount(quantity: item.quantity, in: currency)
            do { total = try total.adding(amount) } catch { throw .money(error, while: "the subscription's period amount") }
        }
        return total
    }

    /// A change costs less per period than what it replaces: it waits for the period end,
    /// since the customer already paid for this one.
    public static func isDowngrade(
        from old: [SubscriptionItem], to new: [SubscriptionItem], book: PriceBook, currency: Currency
    ) throws(BillingError) -> Bool {
        try periodAmount(items: new, book: book, currency: currency).minorUnits
            < periodAmount(items: old, book: book, currency: currency).minorUnits
    }

    /// The proration of a change at a point of the period: credit for the unused time of
    /// each item that changes, and a charge for the remaining time of what replaces it, as
    /// separate lines (unchanged items add nothing). Day-based, in the customer's calendar.
    public static func prorationLines(
        from old: [SubscriptionItem], to new: [SubscriptionItem], book: PriceBook, currency: Currency,
        period: BillingPeriod, factor: ProrationFactor, taxRateIDs: [String], rounding: RoundingMode,
        makeID: () -> String
    ) throws(BillingError) -> [InvoiceLine] {
        let unchanged = Set(old).intersection(new)
        var lines: [InvoiceLine] = []
        for item in old where !unchanged.contains(item) {
            let price = try book.price(item.priceID)
            let unused = try factor.unused(of: try price.amount(quantity: item.quantity, in: currency), rounding: rounding)
            guard !unused.isZero else { continue }
            let credit: Money
            do { credit = try unused.negated() } catch { throw .money(error, while: "a proration credit") }
            lines.append(
                InvoiceLine(
                    id: makeID(), description: "Unused time on \(item.quantity) × \(book.label(price))",
                    quantity: item.quantity, unitAmount: try price.unitAmount(in: currency), amount: credit,
                    period: period, priceID: price.id, subscriptionItemID: item.id, proration: true, discountable: false,
                    taxRates: try book.rates(taxRateIDs, for: price)))
        }
        for item in new where !unchanged.contains(item) {
            let price = try book.price(item.priceID)
            let charge = try factor.unused(of: try price.amount(quantity: item.quantity, in: currency), rounding: rounding)
            guard !charge.isZero else { continue }
            lines.append(
                InvoiceLine(
                    id: makeID(), description: "Remaining time on \(item.quantity) × \(book.label(price))",
                    quantity: item.quantity, unitAmount: try price.unitAmount(in: currency), amount: charge,
                    period: period, priceID: price.id, subscriptionItemID: item.id, proration: true, discountable: false,
                    taxRates: try book.rates(taxRateIDs, for: price)))
        }
        return lines
    }

    /// What to credit on `invoice` for the time after `date` that its lines in `charges`
    /// paid for: each line's unused share of its own period, on the basis credit notes
    /// take (tax-exclusive for exclusive lines, tax-inclusive for inclusive ones).
    public static func unusedCredit(
        invoice: Invoice, charges: [ChargeReference], at date: Date, calendar: BillingCalendar
    ) throws(BillingError) -> [CreditLineRequest] {
        let totals = try invoice.computedTotals()
        var requests: [CreditLineRequest] = []
        for charge in charges where charge.invoiceID == invoice.id {
            guard let line = totals.lines.first(where: { $0.id == charge.lineID }),
                let source = invoice.lines.first(where: { $0.id == charge.lineID }), line.amount.isPositive
            else { continue }
            let factor = try ProrationFactor(period: charge.period, at: date, calendar: calendar)
            let inclusive = source.taxRates.contains { $0.behavior == .inclusive }
            let basis: Money
            do {
                basis = inclusive ? try line.amount.subtracting(line.discountAmount) : line.amountExcludingTax
            } catch {
                throw .money(error, while: "the credit basis of line \(line.id)")
            }
            let amount = try factor.unused(of: basis, rounding: invoice.rounding.mode)
            if amount.isPositive { requests.append(CreditLineRequest(invoiceLineID: line.id, amount: amount)) }
        }
        return requests
    }
}
