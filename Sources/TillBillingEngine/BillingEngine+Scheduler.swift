import Foundation
import Logging
import ServiceLifecycle
import TillBilling
import TillCore
import TillPayments
import TillStore

extension BillingEngine {
    /// What one scheduler round did.
    public struct RoundSummary: Sendable, Hashable {
        public var examined = 0
        public var failed = 0
    }

    /// Processes everything due on real time (objects on no test clock), oldest first.
    public func runDue(limit: Int = 100) async -> RoundSummary {
        await runDue(clockID: nil, until: clock(), limit: limit)
    }

    func runDue(clockID: String?, until now: Date, limit: Int) async -> RoundSummary {
        var summary = RoundSummary()
        let records: [BillingObjectRecord]
        do {
            records = try await store.dueBillingObjects(clockID: clockID, now: now, limit: limit)
        } catch {
            logger.error("the billing scheduler could not read what is due", metadata: ["error": "\(error)"])
            summary.failed += 1
            return summary
        }
        for record in records {
            summary.examined += 1
            do {
                try await process(record, at: clockID == nil ? clock() : (record.dueAt ?? now))
            } catch {
                summary.failed += 1
                logger.warning(
                    "billing work failed; it stays due and is tried again",
                    metadata: ["object": "\(record.id)", "error": "\(error)"])
            }
        }
        return summary
    }

    func process(_ record: BillingObjectRecord, at now: Date) async throws(BillingError) {
        switch BillingKind(rawValue: record.kind) {
        case .subscription?:
            try await advance(subscriptionID: record.id, merchantID: record.merchantId, at: now)
        case .invoice?:
            try await followUp(invoiceID: record.id, merchantID: record.merchantId, at: now)
        case .email?:
            await deliver(emailID: record.id, merchantID: record.merchantId, at: now)
        case .creditNote?:
            await refund(creditNoteID: record.id, merchantID: record.merchantId)
            try await transact(merchantID: record.merchantId, actor: "billing", at: now) { billing in
                var stored = try billing.load(CreditNote.self, record.id)
                if stored.value.refund?.status != .pending { try billing.save(&stored, dueAt: nil) }
            }
        default:
            throw BillingError(.internalFailure, code: "internal_error", "\(record.kind) \(record.id) was due, but nothing handles it")
        }
    }

    /// A subscription's period ended (or its first invoice went unpaid too long): the
    /// renewal, with its invoice and collection attempt, is one transaction, and the
    /// subscription's version makes a second scheduler's identical transaction fail.
    func advance(subscriptionID: String, merchantID: String, at now: Date) async throws(BillingError) {
        try await transact(merchantID: merchantID, actor: "billing", at: now) { billing in
            var stored = try billing.load(Subscription.self, subscriptionID)
            var customer = try billing.customer(stored.value.customerID)
            try billing.useClock(of: customer.value)
            let settings = try billing.settings()
            let subscription = stored.value
            if subscription.status == .incomplete {
                guard let due = billing.dueAt(subscription, settings: settings), due <= billing.now else { return }
                try SubscriptionLifecycle.check(.expireIncomplete, subscription)
                stored.value.status = .incompleteExpired
                stored.value.endedAt = billing.now
                if let id = subscription.latestInvoiceID, var invoice = try billing.find(Invoice.self, id),
                    try invoice.value.check(.void) == .allowed
                {
                    invoice.value.status = .void
                    invoice.value.voidedAt = billing.now
                    try billing.save(&invoice, dueAt: nil)
                    billing.emit("invoice.voided", try BillingViews.invoice(invoice.value))
                }
                try billing.save(&stored, dueAt: nil)
                billing.emit("customer.subscription.updated", try BillingViews.subscription(stored.value))
                billing.audit("billing.subscription.expire", subscriptionID)
                return
            }
            guard subscription.schedule.current.end <= billing.now else {
                // Not due after all (the clock moved back, or another daemon renewed it).
                try billing.save(&stored, dueAt: billing.dueAt(subscription, settings: settings))
                return
            }
            guard try SubscriptionLifecycle.check(.renew, subscription) == .allowed else {
                try billing.save(&stored, dueAt: nil)
                return
            }
            let calendar = try customer.value.calendar()
            if subscription.cancelAtPeriodEnd {
                _ = try billing.billFinalUsage(
                    &stored.value, customer: &customer.value, settings: settings, period: subscription.schedule.current)
                try billing.save(&customer, dueAt: customer.record.dueAt)
                stored.value.status = .canceled
                stored.value.endedAt = subscription.schedule.current.end
                stored.value.charges = []
                try billing.save(&stored, dueAt: nil)
                billing.emit("customer.subscription.deleted", try BillingViews.subscription(stored.value))
                billing.audit("billing.subscription.end", subscriptionID)
                return
            }
            var factor: ProrationFactor?
            var reason = InvoiceReason.subscriptionCycle
            if subscription.status == .trialing, let trialEnd = subscription.trialEnd {
                stored.value.schedule = try BillingSchedule.starting(
                    at: trialEnd, recurrence: subscription.schedule.recurrence, alignment: subscription.alignment,
                    calendar: calendar)
                factor = try Self.partialFactor(stored.value.schedule, calendar: calendar)
                stored.value.status = .active
                reason = .subscriptionCycle
            } else {
                stored.value.schedule = try subscription.schedule.next(in: calendar)
            }
            if let pending = subscription.pendingChange {
                stored.value.items = pending.items
                stored.value.pendingChange = nil
            }
            // An unpaid subscription keeps its invoices coming, so no period goes unbilled,
            // but charges nothing until the merchant or customer settles what is open.
            let collect = stored.value.status != .unpaid
            _ = try billing.billPeriod(
                &stored.value, customer: &customer.value, settings: settings, reason: reason, factor: factor,
                collect: collect, usagePeriod: subscription.schedule.current, usageItems: subscription.items)
            try billing.save(&stored, dueAt: billing.dueAt(stored.value, settings: settings))
            try billing.save(&customer, dueAt: customer.record.dueAt)
            billing.emit("customer.subscription.updated", try BillingViews.subscription(stored.value))
            billing.audit(
                "billing.subscription.renew", subscriptionID,
                ["period_start": RFC3339.format(stored.value.schedule.current.start)])
        }
    }

    /// An invoice came due: a pending attempt left by a crash is finished under its own
    /// key; a scheduled retry becomes a new attempt.
    func followUp(invoiceID: String, merchantID: String, at now: Date) async throws(BillingError) {
        let invoice = try await read(Invoice.self, invoiceID, merchantID: merchantID).value
        if invoice.attempts.last?.status == .pending {
            await collect(invoiceID: invoiceID, merchantID: merchantID, at: now)
            return
        }
        try await transact(merchantID: merchantID, actor: "billing", at: now) { billing in
            var stored = try billing.load(Invoice.self, invoiceID)
            var customer = try billing.customer(stored.value.customerID)
            try billing.useClock(of: customer.value)
            if stored.value.status == .open, let noticeAt = stored.value.nextNoticeAt, noticeAt <= billing.now {
                try billing.sendNotices(&stored.value, customer: &customer.value)
                try billing.save(&customer, dueAt: customer.record.dueAt)
            }
            guard stored.value.status == .open, let next = stored.value.nextAttemptAt, next <= billing.now else {
                try billing.save(&stored, dueAt: billing.dueAt(stored.value))
                return
            }
            let due = try stored.value.amountRemaining()
            if customer.value.paymentMethod == nil || due.isZero || customer.value.hold != nil {
                stored.value.nextAttemptAt = nil
                try billing.save(&stored, dueAt: nil)
                return
            }
            billing.startAttempt(&stored.value, amount: due)
            try billing.save(&stored, dueAt: billing.dueAt(stored.value))
        }
    }
}

/// Runs the billing scheduler on real time: at start-up (a crash may have left work due)
/// and then every `interval`. Several daemons may run it on one database: every step is a
/// versioned transaction, and every charge carries its attempt's key.
public struct BillingScheduler: Service {
    let engine: BillingEngine
    let interval: Duration
    let logger: Logger

    public init(engine: BillingEngine, interval: Duration, logger: Logger) {
        self.engine = engine
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var summary = await engine.runDue()
                // A full round may mean more is due: keep going before sleeping.
                while summary.examined == 100, summary.failed < summary.examined, !Task.isCancelled {
                    summary = await engine.runDue()
                }
                if summary.examined > 0 {
                    logger.info("billing round", metadata: ["examined": "\(summary.examined)", "failed": "\(summary.failed)"])
                }
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
            }
        }
    }
}

extension BillingTransaction {
    /// Sends the notices of `invoice` that have come due: only the latest if several have
    /// (a clock that jumped, a daemon that was down), the earlier ones recorded as passed,
    /// so a customer never gets three letters at once. The first overdue notice brings the
    /// merchant's late fee, once, as an invoice of its own.
    func sendNotices(_ invoice: inout Invoice, customer: inout Customer) throws {
        let settings = try settings()
        let schedule = try InvoiceNotice.schedule(for: invoice, settings: settings, calendar: try customer.calendar())
        let sent = Set(invoice.notices ?? [])
        let due = schedule.filter { $0.at <= now && !sent.contains($0.key) }
        if let latest = due.last {
            invoice.notices = (invoice.notices ?? []) + due.map(\.key)
            var view = try BillingViews.invoice(invoice)
            if case .object(var object) = view {
                object["notice"] = .object(["kind": .string(latest.kind.rawValue), "level": .int(Int64(latest.level)), "key": .string(latest.key)])
                view = .object(object)
            }
            emit(latest.kind == .reminder ? "invoice.will_be_due" : "invoice.overdue", view)
            audit("billing.invoice.notice", invoice.id, ["notice": latest.key])
            try notify(customer: customer, invoice: invoice, notice: latest)
            if latest.kind == .overdue, invoice.lateFeeInvoiceID == nil, invoice.metadata["late_fee_for"] == nil,
                let fee = settings.lateFee
            {
                let amount = try fee.amount(on: try invoice.amountRemaining(), rounding: settings.rounding.mode)
                if amount.isPositive {
                    invoice.lateFeeInvoiceID = try chargeLateFee(amount, for: invoice, customer: &customer, settings: settings).id
                }
            }
        }
        let done = Set(invoice.notices ?? [])
        invoice.nextNoticeAt = schedule.first { !done.contains($0.key) }?.at
    }

    /// The late fee as a one-off invoice for the customer to pay like the overdue one; it
    /// never draws a late fee itself.
    func chargeLateFee(_ amount: Money, for overdue: Invoice, customer: inout Customer, settings: BillingSettings) throws -> Invoice {
        let line = InvoiceLine(
            id: invoiceLineID(), description: "Late fee: invoice \(overdue.number ?? overdue.id) is overdue (due \(overdue.dueDateLocal ?? "earlier"))",
            amount: amount, discountable: false)
        var invoice = Invoice(
            id: Identifiers.make("inv"), customer: customer, subscriptionID: nil, reason: .manual, currency: overdue.currency,
            lines: [line], discounts: [], rounding: settings.rounding, collection: .sendInvoice,
            daysUntilDue: max(overdue.daysUntilDue, 1), metadata: ["late_fee_for": overdue.id], createdAt: now)
        emit("invoice.created", try BillingViews.invoice(invoice))
        _ = try finalize(&invoice, customer: &customer, settings: settings, previousTotal: nil, collect: false)
        try insert(invoice, clockID: customer.testClockID, dueAt: dueAt(invoice))
        audit("billing.invoice.late_fee", invoice.id, ["for": overdue.id, "amount": "\(amount.minorUnits)"])
        return invoice
    }
}
