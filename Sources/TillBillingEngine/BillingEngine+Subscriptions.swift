import Foundation
import Logging
import TillBilling
import TillCore
import TillPayments
import TillStore

extension BillingEngine {
    public struct ItemRequest: Sendable, Hashable {
        /// An existing item to change or delete; `nil` adds one.
        public var id: String?
        public var priceID: String?
        public var quantity: Int64?
        public var deleted: Bool

        public init(id: String? = nil, priceID: String? = nil, quantity: Int64? = nil, deleted: Bool = false) {
            self.id = id
            self.priceID = priceID
            self.quantity = quantity
            self.deleted = deleted
        }
    }

    public struct NewSubscription: Sendable {
        public var customerID: String
        public var items: [ItemRequest]
        public var currency: Currency?
        public var alignment: BillingAlignment
        public var collection: CollectionMethod
        public var daysUntilDue: Int
        public var taxRateIDs: [String]
        public var discount: Discount?
        public var trialDays: Int?
        public var metadata: [String: String]

        public init(
            customerID: String, items: [ItemRequest], currency: Currency? = nil, alignment: BillingAlignment = .anniversary,
            collection: CollectionMethod = .chargeAutomatically, daysUntilDue: Int = 30, taxRateIDs: [String] = [],
            discount: Discount? = nil, trialDays: Int? = nil, metadata: [String: String] = [:]
        ) {
            self.customerID = customerID
            self.items = items
            self.currency = currency
            self.alignment = alignment
            self.collection = collection
            self.daysUntilDue = daysUntilDue
            self.taxRateIDs = taxRateIDs
            self.discount = discount
            self.trialDays = trialDays
            self.metadata = metadata
        }
    }

    /// Starts a subscription: a trial, or its first period invoiced and (charged
    /// automatically) collected before this returns.
    public func createSubscription(_ request: NewSubscription, merchantID: String) async throws(BillingError) -> Subscription {
        if let days = request.trialDays, !(1...730).contains(days) {
            throw .invalid("trial_period_days", "a trial is 1 to 730 days")
        }
        let id: String = try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            var customer = try billing.customer(request.customerID)
            try billing.useClock(of: customer.value)
            let settings = try billing.settings()
            var items: [SubscriptionItem] = []
            for request in request.items {
                guard request.id == nil, !request.deleted, let priceID = request.priceID else {
                    throw BillingError.invalid("items", "a new subscription's items each name a price (and a quantity)")
                }
                items.append(try SubscriptionItem(id: Identifiers.make("si"), priceID: priceID, quantity: request.quantity ?? 1))
            }
            let book = try billing.book(priceIDs: items.map(\.priceID), taxRateIDs: request.taxRateIDs)
            let recurrence = try Self.commonRecurrence(items, book)
            let primary = try book.price(items[0].priceID).primaryCurrency
            let currency = request.currency ?? customer.value.currency ?? primary
            try customer.value.adopt(currency: currency, param: "currency")
            _ = try SubscriptionBilling.periodAmount(items: items, book: book, currency: currency)
            let calendar = try customer.value.calendar()
            let start = billing.now
            var subscription: Subscription
            if let days = request.trialDays {
                let trialEnd = try calendar.boundary(anchor: start, recurrence: try Recurrence(.day), index: days)
                subscription = try Subscription(
                    id: Identifiers.make("sub"), customerID: customer.value.id, status: .trialing, items: items,
                    currency: currency, alignment: request.alignment, collection: request.collection,
                    daysUntilDue: request.daysUntilDue, taxRateIDs: request.taxRateIDs, discount: request.discount,
                    schedule: BillingSchedule(
                        anchor: start, recurrence: recurrence, index: 0, current: BillingPeriod(start: start, end: trialEnd)),
                    trialEnd: trialEnd, metadata: request.metadata, createdAt: start)
            } else {
                let schedule = try BillingSchedule.starting(
                    at: start, recurrence: recurrence, alignment: request.alignment, calendar: calendar)
                let automatic = request.collection == .chargeAutomatically
                subscription = try Subscription(
                    id: Identifiers.make("sub"), customerID: customer.value.id, status: automatic ? .incomplete : .active,
                    items: items, currency: currency, alignment: request.alignment, collection: request.collection,
                    daysUntilDue: request.daysUntilDue, taxRateIDs: request.taxRateIDs, discount: request.discount,
                    schedule: schedule, trialEnd: nil, metadata: request.metadata, createdAt: start)
                let factor = try Self.partialFactor(schedule, calendar: calendar)
                let (_, outcome) = try billing.billPeriod(
                    &subscription, customer: &customer.value, settings: settings, reason: .subscriptionCreate,
                    factor: factor, collect: true)
                if outcome == .paid { subscription.status = .active }
            }
            try billing.insert(
                subscription, clockID: customer.value.testClockID, dueAt: billing.dueAt(subscription, settings: settings))
            try billing.save(&customer, dueAt: customer.record.dueAt)
            billing.emit("customer.subscription.created", try BillingViews.subscription(subscription))
            billing.audit("billing.subscription.create", subscription.id, ["customer": customer.value.id, "status": subscription.status.rawValue])
            return subscription.id
        }
        return try await subscription(id: id, merchantID: merchantID)
    }

    public func subscription(id: String, merchantID: String) async throws(BillingError) -> Subscription {
        try await read(Subscription.self, id, merchantID: merchantID).value
    }

    public func subscriptions(
        merchantID: String, customerID: String?, status: String?, startingAfter: String?, limit: Int
    ) async throws(BillingError) -> (items: [Subscription], hasMore: Bool) {
        try await list(
            Subscription.self, merchantID: merchantID, customerID: customerID, status: status, startingAfter: startingAfter,
            limit: limit)
    }

    /// Changes items or quantities: an upgrade prorates now, on its own invoice collected
    /// before this returns; a downgrade waits for the period end.
    public func changeSubscription(id: String, items changes: [ItemRequest], merchantID: String) async throws(BillingError) -> Subscription {
        guard !changes.isEmpty else { throw .invalid("items", "name the items to change") }
        try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            var stored = try billing.load(Subscription.self, id)
            var customer = try billing.customer(stored.value.customerID)
            try billing.useClock(of: customer.value)
            try SubscriptionLifecycle.check(.changeItems, stored.value)
            let settings = try billing.settings()
            let old = stored.value.items
            let new = try Self.apply(changes, to: old)
            let book = try billing.book(priceIDs: (old + new).map(\.priceID), taxRateIDs: stored.value.taxRateIDs)
            let recurrence = try Self.commonRecurrence(new, book)
            guard recurrence == stored.value.schedule.recurrence else {
                throw BillingError.invalid(
                    "items", "every price of a subscription bills on the same interval (this one bills every \(stored.value.schedule.recurrence.count) \(stored.value.schedule.recurrence.interval.rawValue))")
            }
            _ = try SubscriptionBilling.periodAmount(items: new, book: book, currency: stored.value.currency)
            let downgrade = try SubscriptionBilling.isDowngrade(from: old, to: new, book: book, currency: stored.value.currency)
            if stored.value.status == .trialing || downgrade {
                if stored.value.status == .trialing {
                    stored.value.items = new
                } else {
                    stored.value.pendingChange = PendingChange(items: new, requestedAt: billing.now)
                }
            } else {
                let calendar = try customer.value.calendar()
                let period = BillingPeriod(start: calendar.startOfDay(billing.now), end: stored.value.schedule.current.end)
                let factor = try ProrationFactor(period: stored.value.schedule.current, at: billing.now, calendar: calendar)
                let lines = try SubscriptionBilling.prorationLines(
                    from: old, to: new, book: book, currency: stored.value.currency,
                    period: BillingPeriod(start: max(period.start, stored.value.schedule.current.start), end: period.end),
                    factor: factor, taxRateIDs: stored.value.taxRateIDs, rounding: settings.rounding.mode,
                    makeID: billing.invoiceLineID)
                stored.value.items = new
                stored.value.pendingChange = nil
                let replaced = Set(old).subtracting(new).map(\.id)
                stored.value.charges.removeAll { replaced.contains($0.itemID) }
                if !lines.isEmpty {
                    var invoice = Invoice(
                        id: Identifiers.make("inv"), customer: customer.value, subscriptionID: stored.value.id,
                        reason: .subscriptionUpdate, currency: stored.value.currency, lines: lines, discounts: [],
                        rounding: settings.rounding, collection: stored.value.collection,
                        daysUntilDue: stored.value.daysUntilDue, createdAt: billing.now)
                    billing.emit("invoice.created", try BillingViews.invoice(invoice))
                    // The safety bound compares with the last period's invoice: a quantity typo
                    // shows as a proration many times larger than anything billed before.
                    let outcome = try billing.finalize(
                        &invoice, customer: &customer.value, settings: settings,
                        previousTotal: try billing.previousTotal(of: stored.value))
                    // Until its invoice is paid, the change is in flight: a second one would
                    // prorate against terms that may not stand.
                    if outcome != .paid { stored.value.changeInvoiceID = invoice.id }
                    for line in lines where line.amount.isPositive {
                        if let item = line.subscriptionItemID, let linePeriod = line.period {
                            stored.value.charges.append(
                                ChargeReference(invoiceID: invoice.id, lineID: line.id, itemID: item, period: linePeriod))
                        }
                    }
                    try billing.insert(invoice, clockID: customer.value.testClockID, dueAt: billing.dueAt(invoice))
                }
            }
            try billing.save(&stored, dueAt: billing.dueAt(stored.value, settings: settings))
            try billing.save(&customer, dueAt: customer.record.dueAt)
            billing.emit("customer.subscription.updated", try BillingViews.subscription(stored.value))
            billing.audit("billing.subscription.change", stored.value.id, ["items": new.map { "\($0.priceID)×\($0.quantity)" }.joined(separator: ",")])
        }
        return try await subscription(id: id, merchantID: merchantID)
    }

    /// Cancels now (crediting unused paid time) or at the period end.
    public func cancelSubscription(
        id: String, atPeriodEnd: Bool, prorate: Bool = true, outcome: CreditOutcome? = nil, merchantID: String
    ) async throws(BillingError) -> Subscription {
        if outcome == .reduceAmountDue { throw .invalid("credit_outcome", "a cancellation credits by refund, credit_balance or out_of_band") }
        try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            var stored = try billing.load(Subscription.self, id)
            var customer = try billing.customer(stored.value.customerID)
            try billing.useClock(of: customer.value)
            let settings = try billing.settings()
            if atPeriodEnd {
                try SubscriptionLifecycle.check(.cancelAtPeriodEnd, stored.value)
                stored.value.cancelAtPeriodEnd = true
                stored.value.canceledAt = billing.now
                billing.emit("customer.subscription.updated", try BillingViews.subscription(stored.value))
            } else {
                try SubscriptionLifecycle.check(.cancelNow, stored.value)
                let charges = stored.value.charges
                let credit = prorate && stored.value.status != .trialing
                // Usage so far in the period is billed now: nothing after this moment counts.
                let sofar = BillingPeriod(start: stored.value.schedule.current.start, end: max(billing.now, stored.value.schedule.current.start))
                _ = try billing.billFinalUsage(&stored.value, customer: &customer.value, settings: settings, period: sofar)
                stored.value.status = .canceled
                stored.value.canceledAt = billing.now
                stored.value.endedAt = billing.now
                stored.value.charges = []
                stored.value.pendingChange = nil
                stored.value.changeInvoiceID = nil
                // Saved before the credit notes, which may settle invoices of this subscription.
                try billing.save(&stored, dueAt: nil)
                if credit {
                    _ = try billing.creditUnusedTime(
                        charges: charges, customer: &customer.value, outcome: outcome, reason: "subscription_canceled")
                }
                billing.emit("customer.subscription.deleted", try BillingViews.subscription(stored.value))
            }
            if atPeriodEnd { try billing.save(&stored, dueAt: billing.dueAt(stored.value, settings: settings)) }
            try billing.save(&customer, dueAt: customer.record.dueAt)
            billing.audit("billing.subscription.cancel", stored.value.id, ["at_period_end": "\(atPeriodEnd)"])
        }
        return try await subscription(id: id, merchantID: merchantID)
    }

    /// Withdraws a cancellation scheduled for the period end.
    public func keepSubscription(id: String, merchantID: String) async throws(BillingError) -> Subscription {
        try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            var stored = try billing.load(Subscription.self, id)
            guard stored.value.cancelAtPeriodEnd else {
                throw BillingError.conflict("subscription_not_canceling", "subscription \(id) is not set to cancel")
            }
            try SubscriptionLifecycle.check(.keep, stored.value)
            stored.value.cancelAtPeriodEnd = false
            stored.value.canceledAt = nil
            try billing.save(&stored, dueAt: stored.record.dueAt)
            billing.emit("customer.subscription.updated", try BillingViews.subscription(stored.value))
        }
        return try await subscription(id: id, merchantID: merchantID)
    }

    /// Stops billing now; the unused part of the paid period goes to the customer's credit
    /// balance, which the invoice on resuming uses first.
    public func pauseSubscription(id: String, merchantID: String) async throws(BillingError) -> Subscription {
        try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            var stored = try billing.load(Subscription.self, id)
            var customer = try billing.customer(stored.value.customerID)
            try billing.useClock(of: customer.value)
            try SubscriptionLifecycle.check(.pause, stored.value)
            let charges = stored.value.charges
            stored.value.status = .paused
            stored.value.pausedAt = billing.now
            stored.value.charges = []
            stored.value.changeInvoiceID = nil
            try billing.save(&stored, dueAt: nil)
            _ = try billing.creditUnusedTime(
                charges: charges, customer: &customer.value, outcome: .creditBalance, reason: "subscription_paused")
            try billing.save(&customer, dueAt: customer.record.dueAt)
            billing.emit("customer.subscription.paused", try BillingViews.subscription(stored.value))
            billing.audit("billing.subscription.pause", stored.value.id)
        }
        return try await subscription(id: id, merchantID: merchantID)
    }

    /// Starts a new period today and invoices it.
    public func resumeSubscription(id: String, merchantID: String) async throws(BillingError) -> Subscription {
        try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            var stored = try billing.load(Subscription.self, id)
            var customer = try billing.customer(stored.value.customerID)
            try billing.useClock(of: customer.value)
            try SubscriptionLifecycle.check(.resume, stored.value)
            let settings = try billing.settings()
            let calendar = try customer.value.calendar()
            if let pending = stored.value.pendingChange {
                stored.value.items = pending.items
                stored.value.pendingChange = nil
            }
            stored.value.schedule = try BillingSchedule.starting(
                at: billing.now, recurrence: stored.value.schedule.recurrence, alignment: stored.value.alignment,
                calendar: calendar)
            stored.value.status = .active
            stored.value.pausedAt = nil
            let (_, outcome) = try billing.billPeriod(
                &stored.value, customer: &customer.value, settings: settings, reason: .subscriptionResume,
                factor: try Self.partialFactor(stored.value.schedule, calendar: calendar), collect: true)
            _ = outcome
            try billing.save(&stored, dueAt: billing.dueAt(stored.value, settings: settings))
            try billing.save(&customer, dueAt: customer.record.dueAt)
            billing.emit("customer.subscription.resumed", try BillingViews.subscription(stored.value))
            billing.audit("billing.subscription.resume", stored.value.id)
        }
        return try await subscription(id: id, merchantID: merchantID)
    }

    // MARK: Shared

    /// The one recurrence all the items bill on; one-time prices belong on invoices.
    static func commonRecurrence(_ items: [SubscriptionItem], _ book: PriceBook) throws(BillingError) -> Recurrence {
        var found: Recurrence?
        for item in items {
            let price = try book.price(item.priceID)
            guard price.active else { throw .conflict("price_archived", "price \(price.id) is archived", param: "items") }
            guard let recurrence = price.kind.recurrence else {
                throw .invalid("items", "price \(price.id) is one-time: add it to an invoice, not a subscription")
            }
            if let found, found != recurrence {
                throw .invalid("items", "every price of a subscription bills on the same interval")
            }
            found = recurrence
        }
        guard let found else { throw .invalid("items", "a subscription needs at least one item") }
        return found
    }

    /// The proration of a current period shorter than its slot (a calendar-aligned start).
    static func partialFactor(_ schedule: BillingSchedule, calendar: BillingCalendar) throws(BillingError) -> ProrationFactor? {
        let slot = try schedule.slot(in: calendar)
        guard schedule.current.start > slot.start else { return nil }
        return try ProrationFactor(period: slot, at: schedule.current.start, calendar: calendar)
    }

    static func apply(_ changes: [ItemRequest], to items: [SubscriptionItem]) throws(BillingError) -> [SubscriptionItem] {
        var result = items
        for change in changes {
            if let id = change.id {
                guard let index = result.firstIndex(where: { $0.id == id }) else {
                    throw .invalid("items", "the subscription has no item \(id)")
                }
                if change.deleted {
                    result.remove(at: index)
                    continue
                }
                result[index] = try SubscriptionItem(
                    id: id, priceID: change.priceID ?? result[index].priceID, quantity: change.quantity ?? result[index].quantity)
            } else {
                guard !change.deleted, let priceID = change.priceID else {
                    throw .invalid("items", "a new item names a price")
                }
                result.append(try SubscriptionItem(id: Identifiers.make("si"), priceID: priceID, quantity: change.quantity ?? 1))
            }
        }
        guard !result.isEmpty else { throw .invalid("items", "a subscription keeps at least one item; cancel it instead") }
        guard Set(result.map(\.priceID)).count == result.count else {
            throw .invalid("items", "each price may appear once in a subscription; raise its quantity instead")
        }
        return result
    }
}
