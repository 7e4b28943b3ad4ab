import Foundation
import TillBilling
import TillCore
import TillPayments
import TillStore

extension BillableMetric: BillingDocument {
    static var documentKind: BillingKind { .billableMetric }
    // The code is unique per merchant: the store's number index keeps it so.
    var numberColumn: String? { code }
}

// Usage: billable metrics, event ingestion, and usage billed in arrears at period ends.
extension BillingEngine {
    /// What became of one event of a batch.
    public enum UsageOutcome: Sendable {
        /// Stored now.
        case accepted
        /// An event with this id was already stored for the customer; it counts once.
        case duplicate
        /// Refused, with why; nothing of it was stored.
        case rejected(BillingError)
    }

    public func createMetric(
        code: String, name: String, aggregation: UsageAggregation, property: String?, filters: [UsageFilter],
        merchantID: String
    ) async throws(BillingError) -> BillableMetric {
        let now = clock()
        let metric = try BillableMetric(
            id: Identifiers.make("bm"), code: code, name: name, aggregation: aggregation, property: property, filters: filters,
            createdAt: now)
        do {
            return try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)", at: now) { billing in
                try billing.insert(metric)
                billing.emit("billable_metric.created", BillingViews.metric(metric))
                billing.audit("billing.metric.create", metric.id, ["code": code])
                return metric
            }
        } catch {
            guard error.code == "duplicate_number" else { throw error }
            throw BillingError.conflict("metric_code_taken", "a billable metric with code \(code) exists already", param: "code")
        }
    }

    public func metric(id: String, merchantID: String) async throws(BillingError) -> BillableMetric {
        try await read(BillableMetric.self, id, merchantID: merchantID).value
    }

    public func metrics(merchantID: String, startingAfter: String?, limit: Int) async throws(BillingError) -> (items: [BillableMetric], hasMore: Bool) {
        try await list(BillableMetric.self, merchantID: merchantID, startingAfter: startingAfter, limit: limit)
    }

    /// Stores a batch of events in one durable transaction: each is checked on its own (its
    /// customer, its metric, its time against the customer's clock and the grace window, its
    /// value), the bad ones are refused with their reason, and the rest land together. The
    /// answer comes once they are on disk.
    public func ingestUsage(
        _ events: [UsageEvent], merchantID: String
    ) async throws(BillingError) -> [UsageOutcome] {
        let received = clock()
        return try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)", at: received) { billing in
            let settings = try billing.settings()
            let metrics = try billing.metrics()
            var customers: [String: Date?] = [:]
            var outcomes: [UsageOutcome] = []
            var records: [UsageEventRecord] = []
            var slots: [Int] = []
            outcomes.reserveCapacity(events.count)
            for (index, event) in events.enumerated() {
                do {
                    guard let metric = metrics[event.metricCode] else {
                        throw BillingError(
                            .notFound, code: "unknown_metric", "no billable metric has code \(event.metricCode)", param: "code")
                    }
                    let customerNow: Date
                    if let known = customers[event.customerID] {
                        guard let known else { throw BillingError.notFound("customer", event.customerID, param: "customer") }
                        customerNow = known
                    } else {
                        let customer = try billing.findCustomerNow(event.customerID, realNow: received)
                        customers[event.customerID] = .some(customer)
                        guard let customer else { throw BillingError.notFound("customer", event.customerID, param: "customer") }
                        customerNow = customer
                    }
                    try event.checkTime(now: customerNow, graceDays: settings.usageGraceDays)
                    let value = try metric.value(of: event.properties)
                    records.append(
                        UsageEventRecord(
                            merchantID: merchantID, customerID: event.customerID, eventID: event.id, metric: metric.code,
                            occurredAt: event.timestamp ?? customerNow, value: value, properties: try Self.propertiesJSON(event.properties),
                            receivedAt: received))
                    slots.append(index)
                    outcomes.append(.accepted)
                } catch let error as BillingError {
                    outcomes.append(.rejected(error))
                }
            }
            let inserted = try billing.tx.insert(usage: records)
            for (slot, new) in zip(slots, inserted) where !new { outcomes[slot] = .duplicate }
            return outcomes
        }
    }

    static let propertiesEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func propertiesJSON(_ properties: [String: String]) throws(BillingError) -> Data {
        do {
            return try propertiesEncoder.encode(properties)
        } catch {
            throw BillingError(.internalFailure, code: "internal_error", "event properties do not encode")
        }
    }

    /// One metered item's usage in the subscription's current period, priced as the period
    /// end would bill it.
    public struct ItemUsage: Sendable {
        public var itemID: String
        public var price: Price
        public var metric: BillableMetric
        public var period: BillingPeriod
        public var quantity: UsageDecimal
        public var amount: Money
        public var breakdown: [String]
    }

    /// The subscription's usage so far in its current period.
    public func currentUsage(subscriptionID: String, merchantID: String) async throws(BillingError) -> [ItemUsage] {
        try await transact(merchantID: merchantID, actor: "billing") { billing in
            let subscription = try billing.load(Subscription.self, subscriptionID).value
            let settings = try billing.settings()
            let book = try billing.book(priceIDs: subscription.items.map(\.priceID), taxRateIDs: [])
            let metrics = try billing.metricsByID()
            var result: [ItemUsage] = []
            for item in subscription.items {
                let price = try book.price(item.priceID)
                guard let usage = price.usage, let metric = metrics[usage.metricID] else { continue }
                let period = subscription.schedule.current
                let quantity = try billing.usageQuantity(metric, customerID: subscription.customerID, period: period)
                let exact = try usage.model.exactAmount(for: quantity)
                result.append(
                    ItemUsage(
                        itemID: item.id, price: price, metric: metric, period: period, quantity: quantity,
                        amount: Money(minorUnits: try exact.amount.rounded(settings.rounding.mode), currency: subscription.currency),
                        breakdown: exact.breakdown))
            }
            return result
        }
    }

    /// The invoice the subscription's next renewal would make, were it now: the next
    /// period's charges, this period's usage so far and any late-usage corrections. Nothing
    /// is written; no number is taken.
    public func upcomingInvoice(subscriptionID: String, merchantID: String) async throws(BillingError) -> Invoice {
        try await transact(merchantID: merchantID, actor: "billing") { billing in
            var subscription = try billing.load(Subscription.self, subscriptionID).value
            let customer = try billing.customer(subscription.customerID).value
            try billing.useClock(of: customer)
            guard !subscription.status.isTerminal else {
                throw BillingError.conflict("subscription_ended", "subscription \(subscriptionID) has ended; nothing is upcoming")
            }
            let settings = try billing.settings()
            let ended = subscription.schedule.current
            let calendar = try customer.calendar()
            if subscription.cancelAtPeriodEnd == false {
                subscription.schedule = try subscription.schedule.next(in: calendar)
            }
            if let pending = subscription.pendingChange { subscription.items = pending.items }
            let book = try billing.book(priceIDs: subscription.items.map(\.priceID), taxRateIDs: subscription.taxRateIDs)
            var lines =
                subscription.cancelAtPeriodEnd
                ? []
                : try SubscriptionBilling.periodLines(
                    items: subscription.items, book: book, currency: subscription.currency,
                    period: subscription.schedule.current, factor: nil, taxRateIDs: subscription.taxRateIDs,
                    rounding: settings.rounding.mode, makeID: billing.invoiceLineID)
            let id = "upcoming_" + subscriptionID
            lines += try billing.usageLines(&subscription, period: ended, invoiceID: id, settings: settings)
            return Invoice(
                id: id, customer: customer, subscriptionID: subscriptionID, reason: .subscriptionCycle,
                currency: subscription.currency, lines: lines, discounts: subscription.discount.map { [$0] } ?? [],
                rounding: settings.rounding, collection: subscription.collection, daysUntilDue: subscription.daysUntilDue,
                createdAt: billing.now)
        }
    }
}

extension BillingTransaction {
    /// The merchant's metrics by code.
    func metrics() throws -> [String: BillableMetric] {
        Dictionary(try all(BillableMetric.self).map { ($0.value.code, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    func metricsByID() throws -> [String: BillableMetric] {
        Dictionary(try all(BillableMetric.self).map { ($0.value.id, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// A customer's present (its test clock's time, if it is on one); `nil` if there is no
    /// such customer.
    func findCustomerNow(_ id: String, realNow: Date) throws -> Date? {
        guard let customer = try find(Customer.self, id) else { return nil }
        guard let clockID = customer.value.testClockID else { return realNow }
        return try load(TestClock.self, clockID).value.frozenTime
    }

    /// The metric's quantity for a customer over `period`.
    func usageQuantity(_ metric: BillableMetric, customerID: String, period: BillingPeriod) throws -> UsageDecimal {
        let kind: UsageQuery.Kind =
            switch metric.aggregation {
            case .count: .count
            case .uniqueCount: .distinctCount
            case .sum, .max: .values
            case .latest: .latest
            }
        let query = UsageQuery(
            merchantID: merchantID, customerID: customerID, metric: metric.code, from: period.start, to: period.end, kind: kind,
            filters: Dictionary(metric.filters.map { ($0.key, $0.values) }, uniquingKeysWith: { first, _ in first }))
        let reading: UsageReading =
            switch try tx.aggregate(usage: query) {
            case .count(let count): .count(count)
            case .values(let values): .values(values)
            case .latest(let value): .latest(value)
            }
        return try metric.quantity(from: reading)
    }

    /// The usage lines of an invoice that closes `period`: each metered item's usage in it,
    /// and corrections for earlier periods that late events changed. Updates the
    /// subscription's record of what was billed and forgets periods past the grace window.
    func usageLines(
        _ subscription: inout Subscription, period: BillingPeriod, invoiceID: String, settings: BillingSettings
    ) throws -> [InvoiceLine] {
        var billed = subscription.usageBilled ?? []
        let metered = try subscription.items.filter { try load(Price.self, $0.priceID, param: "price").value.isMetered }
        guard !metered.isEmpty || !billed.isEmpty else { return [] }
        let metrics = try metricsByID()
        let book = try book(
            priceIDs: metered.map(\.priceID) + billed.map(\.priceID), taxRateIDs: subscription.taxRateIDs)
        let rounding = settings.rounding.mode
        var lines: [InvoiceLine] = []
        for (index, previous) in billed.enumerated() where previous.period != period {
            let price = try book.price(previous.priceID)
            guard let usage = price.usage, let metric = metrics[usage.metricID] else { continue }
            let quantity = try usageQuantity(metric, customerID: subscription.customerID, period: previous.period)
            if let correction = try SubscriptionBilling.usageCorrection(
                of: previous, price: price, metric: metric, quantity: quantity, book: book, currency: subscription.currency,
                taxRateIDs: subscription.taxRateIDs, rounding: rounding, invoiceID: invoiceID, makeID: invoiceLineID)
            {
                lines.append(correction.line)
                billed[index] = correction.billed
            }
        }
        for item in metered where !billed.contains(where: { $0.itemID == item.id && $0.period == period }) {
            let price = try book.price(item.priceID)
            guard let usage = price.usage, let metric = metrics[usage.metricID] else { continue }
            let quantity = try usageQuantity(metric, customerID: subscription.customerID, period: period)
            let charge = try SubscriptionBilling.usageLine(
                item: item, price: price, metric: metric, quantity: quantity, book: book, currency: subscription.currency,
                period: period, taxRateIDs: subscription.taxRateIDs, rounding: rounding, invoiceID: invoiceID,
                makeID: invoiceLineID)
            lines.append(charge.line)
            billed.append(charge.billed)
        }
        // A period whose grace window has closed can take no more events: nothing left to correct.
        let horizon = now.addingTimeInterval(-Double(settings.usageGraceDays) * 86_400 - UsageEvent.maxFutureSkew)
        subscription.usageBilled = billed.filter { $0.period.end > horizon }
        return lines
    }
}
