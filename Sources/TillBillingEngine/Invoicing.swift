import Foundation
import Logging
import TillBilling
import TillCore
import TillPayments
import TillStore

/// What finalizing an invoice led to.
enum FinalizeOutcome: Sendable, Equatable {
    /// Nothing was due (zero, or covered by credit): paid at once.
    case paid
    /// A collection attempt is written; the charge follows the commit.
    case collecting
    /// Open and waiting: sent for payment, or nothing to charge it with.
    case open
    /// The safety bound held it as a draft.
    case held
}

// The invoice work every path shares, inside one transaction.
extension BillingTransaction {
    /// When the scheduler must look at an invoice next.
    func dueAt(_ invoice: Invoice) -> Date? {
        switch invoice.status {
        case .open, .uncollectible:
            // A pending attempt is normally finished right after its commit; the row comes
            // due a little later only so that a crash in between is picked up again.
            if invoice.attempts.contains(where: { $0.status == .pending }) { return now.addingTimeInterval(300) }
            guard invoice.status == .open else { return nil }
            return [invoice.nextAttemptAt, invoice.nextNoticeAt].compactMap { $0 }.min()
        case .draft, .paid, .void:
            return nil
        }
    }

    func dueAt(_ subscription: Subscription, settings: BillingSettings) -> Date? {
        switch subscription.status {
        case .incomplete: subscription.createdAt.addingTimeInterval(Double(settings.incompleteHours) * 3_600)
        default: subscription.nextActionAt
        }
    }

    func invoiceLineID() -> String { Identifiers.make("il") }

    /// Freezes `invoice` (unless the safety bound holds it) and sets up its collection.
    /// The caller saves or inserts the invoice and saves the customer.
    func finalize(
        _ invoice: inout Invoice, customer: inout Customer, settings: BillingSettings, previousTotal: Money?,
        collect: Bool = true
    ) throws -> FinalizeOutcome {
        let total = try invoice.computedTotals().total
        if customer.hold != nil || settings.safetyConcern(total: total, previous: previousTotal) != nil {
            let reason = settings.safetyConcern(total: total, previous: previousTotal) ?? "billing is on hold for the customer"
            invoice.held = true
            if customer.hold == nil {
                customer.hold = BillingHold(reason: reason, invoiceID: invoice.id, since: now)
                emit("customer.billing_held", BillingViews.customer(customer))
                audit("billing.customer.hold", customer.id, ["invoice": invoice.id, "reason": reason])
            }
            return .held
        }
        let prefix = settings.invoicePrefix
        let number = BillingSettings.invoiceNumber(prefix: prefix, try nextValue("invoice_number:" + prefix))
        let credit = try invoice.finalize(number: number, customer: customer, at: now)
        invoice.nextNoticeAt = try InvoiceNotice.schedule(for: invoice, settings: settings, calendar: try customer.calendar()).first?.at
        try customer.adopt(currency: invoice.currency, param: "currency")
        customer.creditBalance -= credit.minorUnits
        if total.isNegative {
            // More credit than charge (a downgrade's proration, say): the rest is the
            // customer's, for their next invoices.
            customer.creditBalance += -total.minorUnits
        }
        emit("invoice.finalized", try BillingViews.invoice(invoice))
        audit("billing.invoice.finalize", invoice.id, ["number": number, "total": "\(total.minorUnits)", "currency": total.currency.code])
        let due = try invoice.amountDue()
        if due.isZero {
            try markPaid(&invoice)
            return .paid
        }
        guard collect, invoice.collection == .chargeAutomatically else {
            if invoice.collection == .sendInvoice { try queueEmail(.invoice, customer: customer, invoice: invoice) }
            return .open
        }
        guard customer.paymentMethod != nil else {
            invoice.attempts.append(failedAttempt(invoice, code: "payment_method_missing", message: "the customer has no saved payment method"))
            emit("invoice.payment_failed", try BillingViews.invoice(invoice))
            return .open
        }
        startAttempt(&invoice, amount: due)
        return .collecting
    }

    func failedAttempt(_ invoice: Invoice, code: String, message: String) -> CollectionAttempt {
        var attempt = CollectionAttempt(number: invoice.attempts.count + 1, invoiceID: invoice.id, amount: .zero(invoice.currency), startedAt: now)
        attempt.status = .failed
        attempt.failureCode = code
        attempt.failureMessage = message
        attempt.finishedAt = now
        return attempt
    }

    /// Writes a pending attempt for the amount due; the charge runs after the commit.
    func startAttempt(_ invoice: inout Invoice, amount: Money) {
        invoice.attempts.append(CollectionAttempt(number: invoice.attempts.count + 1, invoiceID: invoice.id, amount: amount, startedAt: now))
        invoice.nextAttemptAt = nil
        after.collections.append(invoice.id)
    }

    func markPaid(_ invoice: inout Invoice) throws {
        if try invoice.check(.pay) == .allowed {
            invoice.status = .paid
            invoice.paidAt = now
            invoice.nextAttemptAt = nil
            emit("invoice.paid", try BillingViews.invoice(invoice))
            if let customer = try find(Customer.self, invoice.customerID) {
                try queueEmail(.receipt, customer: customer.value, invoice: invoice)
            }
            audit("billing.invoice.paid", invoice.id, ["amount_paid": "\(invoice.amountPaid.minorUnits)"])
        }
    }

    /// A change's invoice that is settled (paid, void, uncollectible) no longer holds the
    /// subscription's next change back.
    func releaseChange(of invoice: Invoice) throws {
        guard let id = invoice.subscriptionID, var sub = try find(Subscription.self, id), sub.value.changeInvoiceID == invoice.id
        else { return }
        sub.value.changeInvoiceID = nil
        try save(&sub, dueAt: sub.record.dueAt)
    }

    /// The subscription's previous invoice total, for the safety bound.
    func previousTotal(of subscription: Subscription) throws -> Money? {
        guard let id = subscription.latestInvoiceID, let invoice = try find(Invoice.self, id) else { return nil }
        return invoice.value.totals?.total
    }

    /// Charges a subscription's items now or from its next renewal on: the lines, refs and
    /// invoice of one billing, inserted.
    func billPeriod(
        _ subscription: inout Subscription, customer: inout Customer, settings: BillingSettings, reason: InvoiceReason,
        factor: ProrationFactor?, collect: Bool, usagePeriod: BillingPeriod? = nil, usageItems: [SubscriptionItem]? = nil
    ) throws -> (Invoice, FinalizeOutcome) {
        let book = try book(priceIDs: subscription.items.map(\.priceID), taxRateIDs: subscription.taxRateIDs)
        let invoiceID = Identifiers.make("inv")
        var lines = try SubscriptionBilling.periodLines(
            items: subscription.items, book: book, currency: subscription.currency, period: subscription.schedule.current,
            factor: factor, taxRateIDs: subscription.taxRateIDs, rounding: settings.rounding.mode, makeID: invoiceLineID)
        if let usagePeriod {
            // The period that just ended is billed for its usage by the items it ran with.
            let current = subscription.items
            subscription.items = usageItems ?? current
            lines += try usageLines(&subscription, period: usagePeriod, invoiceID: invoiceID, settings: settings)
            subscription.items = current
        }
        var invoice = Invoice(
            id: invoiceID, customer: customer, subscriptionID: subscription.id, reason: reason,
            currency: subscription.currency, lines: lines, discounts: subscription.discount.map { [$0] } ?? [],
            rounding: settings.rounding, collection: subscription.collection, daysUntilDue: subscription.daysUntilDue,
            createdAt: now)
        let previous = try previousTotal(of: subscription)
        emit("invoice.created", try BillingViews.invoice(invoice))
        let outcome = try finalize(&invoice, customer: &customer, settings: settings, previousTotal: previous, collect: collect)
        subscription.latestInvoiceID = invoice.id
        subscription.charges = lines.compactMap { line in
            guard let item = line.subscriptionItemID, let period = line.period else { return nil }
            return ChargeReference(invoiceID: invoice.id, lineID: line.id, itemID: item, period: period)
        }
        try insert(invoice, clockID: customer.testClockID, dueAt: dueAt(invoice))
        return (invoice, outcome)
    }

    /// An invoice of usage alone, for a subscription that ends (at its period end, or now):
    /// `nil` when it has no metered items and nothing to correct.
    func billFinalUsage(
        _ subscription: inout Subscription, customer: inout Customer, settings: BillingSettings, period: BillingPeriod
    ) throws -> Invoice? {
        let invoiceID = Identifiers.make("inv")
        let lines = try usageLines(&subscription, period: period, invoiceID: invoiceID, settings: settings)
        guard !lines.isEmpty else { return nil }
        var invoice = Invoice(
            id: invoiceID, customer: customer, subscriptionID: subscription.id, reason: .subscriptionCycle,
            currency: subscription.currency, lines: lines, discounts: subscription.discount.map { [$0] } ?? [],
            rounding: settings.rounding, collection: subscription.collection, daysUntilDue: subscription.daysUntilDue,
            createdAt: now)
        emit("invoice.created", try BillingViews.invoice(invoice))
        _ = try finalize(&invoice, customer: &customer, settings: settings, previousTotal: nil, collect: true)
        subscription.latestInvoiceID = invoice.id
        try insert(invoice, clockID: customer.testClockID, dueAt: dueAt(invoice))
        return invoice
    }

    /// Credits what `charges` paid for after now, one credit note per invoice, the money
    /// going back by `outcome` (for paid invoices; open ones have what is due lowered).
    func creditUnusedTime(
        charges: [ChargeReference], customer: inout Customer, outcome: CreditOutcome?, reason: String
    ) throws -> [CreditNote] {
        let calendar = try customer.calendar()
        var notes: [CreditNote] = []
        for invoiceID in Array(Set(charges.map(\.invoiceID))).sorted() {
            guard var invoice = try find(Invoice.self, invoiceID), invoice.value.status == .paid || invoice.value.status == .open
            else { continue }
            let requests = try SubscriptionBilling.unusedCredit(
                invoice: invoice.value, charges: charges, at: now, calendar: calendar)
            guard !requests.isEmpty else { continue }
            let chosen = invoice.value.status == .open
                ? CreditOutcome.reduceAmountDue : (outcome ?? (invoice.value.amountPaid.isPositive ? .refund : .creditBalance))
            notes.append(
                try issueCreditNote(invoice: &invoice, lines: requests, outcome: chosen, reason: reason, memo: nil, customer: &customer))
        }
        return notes
    }

    /// A credit note against a finalized invoice, with its money going where `outcome` says.
    func issueCreditNote(
        invoice: inout Stored<Invoice>, lines: [CreditLineRequest], outcome: CreditOutcome, reason: String?, memo: String?,
        customer: inout Customer
    ) throws -> CreditNote {
        guard let totals = invoice.value.totals, invoice.value.status != .draft else {
            throw BillingError.conflict(
                "invoice_not_finalized", "invoice \(invoice.value.id) is a draft: edit it instead of crediting it", param: "invoice")
        }
        guard invoice.value.status != .void else {
            throw BillingError.conflict("invoice_voided", "invoice \(invoice.value.id) is void: there is nothing to credit", param: "invoice")
        }
        let previous = try all(CreditNote.self, parentID: invoice.value.id).map(\.value).filter { $0.status == .issued }
        let computed = try CreditNoteMath.credit(totals, lines: lines, alreadyCredited: previous.flatMap(\.totals.lines))
        let open = invoice.value.status == .open || invoice.value.status == .uncollectible
        switch (outcome, open) {
        case (.reduceAmountDue, false):
            throw BillingError.invalid(
                "outcome", "invoice \(invoice.value.id) is \(invoice.value.status.rawValue): reduce_amount_due is only for open invoices")
        case (.refund, true), (.creditBalance, true):
            throw BillingError.invalid(
                "outcome", "invoice \(invoice.value.id) is still open: its credit lowers what is due (reduce_amount_due)")
        default:
            break
        }
        let sequence = try nextValue("credit_note:" + invoice.value.id)
        let number = (invoice.value.number ?? invoice.value.id) + "-CN-" + (sequence < 10 ? "0" : "") + String(sequence)
        var note = CreditNote(
            id: Identifiers.make("cn"), invoice: invoice.value, number: number, totals: computed, outcome: outcome,
            reason: reason, memo: memo, createdAt: now)
        let total = computed.total
        switch outcome {
        case .reduceAmountDue:
            invoice.value.amountCredited = try add(invoice.value.amountCredited, total)
            if try invoice.value.amountRemaining().isZero, invoice.value.attempts.allSatisfy({ $0.status != .pending }) {
                try markPaid(&invoice.value)
                try releaseChange(of: invoice.value)
            }
        case .creditBalance:
            invoice.value.amountCredited = try add(invoice.value.amountCredited, total)
            try customer.adopt(currency: total.currency, param: "currency")
            customer.creditBalance += total.minorUnits
        case .outOfBand:
            invoice.value.amountCredited = try add(invoice.value.amountCredited, total)
        case .refund:
            guard let attempt = invoice.value.attempts.last(where: { $0.status == .succeeded }), let paymentID = attempt.paymentID else {
                throw BillingError.invalid(
                    "outcome", "invoice \(invoice.value.id) was not paid through Till: credit it to the balance or out of band")
            }
            let refunded = previous.compactMap(\.refund).filter { $0.status != .failed }.reduce(Int64(0)) { $0 + $1.amount.minorUnits }
            guard refunded + total.minorUnits <= invoice.value.amountPaid.minorUnits else {
                throw BillingError.invalid(
                    "outcome",
                    "a refund of \(total) would exceed what was paid by card (\(invoice.value.amountPaid), \(Money(minorUnits: refunded, currency: total.currency)) refunded already); credit the rest to the balance")
            }
            invoice.value.amountCredited = try add(invoice.value.amountCredited, total)
            note.refund = CreditRefund(paymentID: paymentID, amount: total, refundedBefore: 0)
            after.refunds.append(note.id)
        }
        try save(&invoice, dueAt: dueAt(invoice.value))
        try insert(note, clockID: customer.testClockID, dueAt: note.refund == nil ? nil : now.addingTimeInterval(300))
        emit("credit_note.created", BillingViews.creditNote(note))
        try queueEmail(.creditNote, customer: customer, invoice: invoice.value, creditNote: note)
        audit("billing.credit_note.create", note.id, ["invoice": invoice.value.id, "total": "\(total.minorUnits)", "outcome": outcome.rawValue])
        return note
    }

    func add(_ a: Money, _ b: Money) throws -> Money {
        do { return try a.adding(b) } catch { throw BillingError.money(error, while: "adding \(b) to \(a)") }
    }
}
