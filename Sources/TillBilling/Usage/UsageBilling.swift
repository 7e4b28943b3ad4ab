import Foundation
import TillCore

/// What one usage item was billed for one period.
public struct UsageBilled: Hashable, Sendable, Codable {
    public var itemID: String
    public var priceID: String
    public var period: BillingPeriod
    public var quantity: UsageDecimal
    /// In minor units of the subscription's currency.
    public var amount: Int64
    public var invoiceID: String

    public init(itemID: String, priceID: String, period: BillingPeriod, quantity: UsageDecimal, amount: Int64, invoiceID: String) {
        self.itemID = itemID
        self.priceID = priceID
        self.period = period
        self.quantity = quantity
        self.amount = amount
        self.invoiceID = invoiceID
    }
}

/// A metric's aggregate over a period, as the store found it.
public enum UsageReading: Sendable, Hashable {
    case count(Int64)
    case values([String])
    case latest(String?)
}

extension BillableMetric {
    /// The period's quantity from what the store read: exact sums and maxima of the
    /// values, counts as they are, the last value of a gauge (zero when none).
    public func quantity(from reading: UsageReading) throws(BillingError) -> UsageDecimal {
        switch reading {
        case .count(let count):
            return UsageDecimal(count)
        case .latest(let value):
            guard let value else { return .zero }
            return try UsageDecimal(parsing: value)
        case .values(let values):
            var result = UsageDecimal.zero
            var first = true
            for text in values {
                let value = try UsageDecimal(parsing: text)
                switch aggregation {
                case .max:
                    if first || result < value { result = value }
                default:
                    result = try result.adding(value)
                }
                first = false
            }
            return result
        }
    }
}

/// The usage item's period, priced: the line to bill and the record of what it billed.
public struct UsageCharge: Hashable, Sendable {
    public var line: InvoiceLine
    public var billed: UsageBilled
}

extension SubscriptionBilling {
    /// The line billing `quantity` of a usage item for `period` (in arrears).
    public static func usageLine(
        item: SubscriptionItem, price: Price, metric: BillableMetric, quantity: UsageDecimal, book: PriceBook,
        currency: Currency, period: BillingPeriod, taxRateIDs: [String], rounding: RoundingMode, invoiceID: String,
        makeID: () -> String
    ) throws(BillingError) -> UsageCharge {
        guard let usage = price.usage else { throw .invalid("price", "price \(price.id) is not a usage price") }
        let amount = try usage.model.amount(for: quantity, currency: currency, rounding: rounding)
        var line = InvoiceLine(
            id: makeID(), description: "\(book.label(price)): \(quantity) \(metric.name) (\(usage.model.name))",
            quantity: 1, unitAmount: nil, amount: amount, period: period, priceID: price.id, subscriptionItemID: item.id,
            proration: false, discountable: true, taxRates: try book.rates(taxRateIDs, for: price))
        line.usageQuantity = quantity
        let billed = UsageBilled(
            itemID: item.id, priceID: price.id, period: period, quantity: quantity, amount: amount.minorUnits, invoiceID: invoiceID)
        return UsageCharge(line: line, billed: billed)
    }

    /// The correction for a period already invoiced whose usage changed since (late events):
    /// a line for the difference, positive or negative, and the new record; `nil` when the
    /// quantity is unchanged. The original invoice is never touched.
    public static func usageCorrection(
        of previous: UsageBilled, price: Price, metric: BillableMetric, quantity: UsageDecimal, book: PriceBook,
        currency: Currency, taxRateIDs: [String], rounding: RoundingMode, invoiceID: String, makeID: () -> String
    ) throws(BillingError) -> UsageCharge? {
        guard quantity != previous.quantity, let usage = price.usage else { return nil }
        let amount = try usage.model.amount(for: quantity, currency: currency, rounding: rounding)
        let (difference, overflow) = amount.minorUnits.subtractingReportingOverflow(previous.amount)
        guard !overflow else { throw UsageDecimal.overflow }
        let delta = try quantity.subtracting(previous.quantity)
        var line = InvoiceLine(
            id: makeID(),
            description: "\(book.label(price)): late usage correction, \(delta.isNegative ? "" : "+")\(delta) \(metric.name) "
                + "(\(previous.quantity) billed on \(previous.invoiceID), now \(quantity))",
            quantity: 1, unitAmount: nil, amount: Money(minorUnits: difference, currency: currency), period: previous.period,
            priceID: price.id, subscriptionItemID: previous.itemID, proration: false, discountable: false,
            taxRates: try book.rates(taxRateIDs, for: price))
        line.usageQuantity = delta
        var billed = previous
        billed.quantity = quantity
        billed.amount = amount.minorUnits
        billed.invoiceID = invoiceID
        return UsageCharge(line: line, billed: billed)
    }
}
