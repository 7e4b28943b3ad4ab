import Foundation
import Logging
import TillBilling
import TillCore
import TillPayments
import TillStore

extension BillingEngine {
    /// A line of a one-off invoice: from a price (one-time or not) and a quantity, or a
    /// free amount with a description.
    public struct NewLine: Sendable {
        public var description: String?
        public var priceID: String?
        public var quantity: Int64
        public var amount: Money?
        public var taxRateIDs: [String]

        public init(description: String? = nil, priceID: String? = nil, quantity: Int64 = 1, amount: Money? = nil, taxRateIDs: [String] = []) {
            self.description = description
            self.priceID = priceID
            self.quantity = quantity
            self.amount = amount
            self.taxRateIDs = taxRateIDs
        }
    }

    public struct NewInvoice: Sendable {
        public var customerID: String
        public var currency: Currency?
        public var lines: [NewLine]
        public var collection: CollectionMethod
        public var daysUntilDue: Int
        public var discounts: [Discount]
        public var memo: String?
        public var metadata: [String: String]
        /// Finalize (and, charged automatically, collect) at once instead of leaving a draft.
        public var finalize: Bool

        public init(
            customerID: String, currency: Currency? = nil, lines: [NewLine], collection: CollectionMethod = .chargeAutomatically,
            daysUntilDue: Int = 30, discounts: [Discount] = [], memo: String? = nil, metadata: [String: String] = [:],
            finalize: Bool = false
        ) {
            self.customerID = customerID
            self.currency = currency
            self.lines = lines
            self.collection = collection
            self.daysUntilDue = daysUntilDue
            self.discounts = discounts
            self.memo = memo
            self.metadata = metadata
            self.finalize = finalize
        }
    }

    public func createInvoice(_ request: NewInvoice, merchantID: String) async throws(BillingError) -> Invoice {
        guard (0...365).contains(request.daysUntilDue) else { throw .invalid("days_until_due", "days_until_due must be 0 to 365") }
        guard request.lines.count <= 250 else { throw .invalid("lines", "an invoice has at most 250 lines") }
        let id: String = try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            var customer = try billing.customer(request.customerID)
            try billing.useClock(of: customer.value)
            let settings = try billing.settings()
            let book = try billing.book(
                priceIDs: request.lines.compactMap(\.priceID), taxRateIDs: request.lines.flatMap(\.taxRateIDs))
            let currency = request.currency ?? customer.value.currency
                ?? request.lines.first.flatMap { line in line.amount?.currency ?? line.priceID.flatMap { book.prices[$0]?.primaryCurrency } }
            guard let currency else { throw BillingError.invalid("currency", "name the invoice's currency") }
            try customer.value.adopt(currency: currency, param: "currency")
            var lines: [InvoiceLine] = []
            for line in request.lines { lines.append(try Self.line(line, book: book, currency: currency, makeID: billing.invoiceLineID)) }
            var invoice = Invoice(
                id: Identifiers.make("inv"), customer: customer.value, subscriptionID: nil, reason: .manual, currency: currency,
                lines: lines, discounts: request.discounts, rounding: settings.rounding, collection: request.collection,
                daysUntilDue: request.daysUntilDue, memo: request.memo, metadata: request.metadata, createdAt: billing.now)
            _ = try invoice.computedTotals()
            billing.emit("invoice.created", try BillingViews.invoice(invoice))
            if request.finalize {
                _ = try billing.finalize(&invoice, customer: &customer.value, settings: settings, previousTotal: nil)
            }
            try billing.insert(invoice, clockID: customer.value.testClockID, dueAt: billing.dueAt(invoice))
            try billing.save(&customer, dueAt: customer.record.dueAt)
            billing.audit("billing.invoice.create", invoice.id, ["customer": customer.value.id])
            return invoice.id
        }
        return try await invoice(id: id, merchantID: merchantID)
    }

    static func line(_ line: NewLine, book: PriceBook, currency: Currency, makeID: () -> String) throws(BillingError) -> InvoiceLine {
        if let priceID = line.priceID {
            guard line.amount == nil else { throw .invalid("lines", "a line has a price or an amount, not both") }
            let price = try book.price(priceID)
            return InvoiceLine(
                id: makeID(), description: line.description ?? "\(line.quantity) × \(book.label(price))", quantity: line.quantity,
                unitAmount: try price.unitAmount(in: currency), amount: try price.amount(quantity: line.quantity, in: currency),
                priceID: priceID, taxRates: try book.rates(line.taxRateIDs, for: price))
        }
        guard let amount = line.amount else { throw .invalid("lines", "a line needs a price or an amount") }
        guard amount.currency == currency else {
            throw BillingError(.invalidInput, code: "currency_mismatch", "the invoice is in \(currency.code); a line is in \(amount.currency.code)", param: "lines")
        }
        guard let description = line.description, !description.isEmpty else {
            throw .invalid("lines", "a line with a free amount needs a description")
        }
        guard line.quantity > 0 else { throw .invalid("quantity", "a quantity must be at least 1 (got \(line.quantity))") }
        let rates = try book.rates(line.taxRateIDs)
        if Set(rates.map(\.behavior)).count > 1 { throw .invalid("tax_rates", "a line's tax rates are all inclusive or all exclusive") }
        let total: Money
        do { total = try amount.multiplied(by: line.quantity) } catch { throw .money(error, while: "a line's amount") }
        return InvoiceLine(
            id: makeID(), description: description, quantity: line.quantity, unitAmount: amount, amount: total,
            discountable: !amount.isNegative, taxRates: rates)
    }

    public func addLine(invoiceID: String, _ line: NewLine, merchantID: String) async throws(BillingError) -> Invoice {
        try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            var stored = try billing.load(Invoice.self, invoiceID)
            _ = try stored.value.check(.edit)
            let book = try billing.book(priceIDs: line.priceID.map { [$0] } ?? [], taxRateIDs: line.taxRateIDs)
            try stored.value.add(try Self.line(line, book: book, currency: stored.value.currency, makeID: billing.invoiceLineID))
            _ = try stored.value.computedTotals()
            try billing.save(&stored, dueAt: nil)
            billing.emit("invoice.updated", try BillingViews.invoice(stored.value))
        }
        return try await invoice(id: invoiceID, merchantID: merchantID)
    }

    public func finalizeInvoice(id: String, merchantID: String) async throws(BillingError) -> Invoice {
        try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            var stored = try billing.load(Invoice.self, id)
            var customer = try billing.customer(stored.value.customerID)
            try billing.useClock(of: customer.value)
            let settings = try billing.settings()
            _ = try stored.value.check(.finalize)
            _ = try billing.finalize(&stored.value, customer: &customer.value, settings: settings, previousTotal: nil)
            try billing.save(&stored, dueAt: billing.dueAt(stored.value))
            try billing.save(&customer, dueAt: customer.record.dueAt)
        }
        return try await invoice(id: id, merchantID: merchantID)
    }

    /// Collects an open invoice now (a draft is finalized first), with the saved payment
    /// method, or records it paid outside Till. A decline is an error naming the decline;
    /// the invoice keeps the failed attempt.
    public func payInvoice(id: String, outOfBand: Bool, merchantID: String) async throws(BillingError) -> Invoice {
        try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            var stored = try billing.load(Invoice.self, id)
            var customer = try billing.customer(stored.value.customerID)
            try billing.useClock(of: customer.value)
            let settings = try billing.settings()
            if stored.value.status == .draft {
                if stored.value.held, customer.value.hold != nil {
                    throw BillingError.conflict("customer_on_hold", "billing is on hold for customer \(customer.value.id): release the hold first")
                }
                _ = try billing.finalize(&stored.value, customer: &customer.value, settings: settings, previousTotal: nil, collect: false)
            }
            guard try stored.value.check(.pay) == .allowed else { return }
            if stored.value.attempts.last?.status == .pending {
                throw BillingError.conflict("invoice_payment_in_progress", "invoice \(id) is being collected; wait for the attempt to finish")
            }
            let due = try stored.value.amountRemaining()
            if outOfBand || due.isZero {
                try billing.markPaid(&stored.value)
                try billing.releaseChange(of: stored.value)
            } else {
                guard customer.value.paymentMethod != nil else {
                    throw BillingError.invalid("payment_method", "customer \(customer.value.id) has no saved payment method", code: "payment_method_missing")
                }
                billing.startAttempt(&stored.value, amount: due)
            }
            try billing.save(&stored, dueAt: billing.dueAt(stored.value))
            try billing.save(&customer, dueAt: customer.record.dueAt)
        }
        let invoice = try await invoice(id: id, merchantID: merchantID)
        if invoice.status != .paid, let last = invoice.attempts.last, last.status == .failed {
            throw BillingError(
                .paymentFailed, code: last.failureCode == "card_declined" || last.failureCode == nil ? "card_declined" : "payment_failed",
                "invoice \(id) was not paid: \(last.failureMessage ?? "the payment failed")", declineCode: last.failureCode)
        }
        return invoice
    }

    public func voidInvoice(id: String, merchantID: String) async throws(BillingError) -> Invoice {
        try await settle(id: id, operation: .void, merchantID: merchantID)
    }

    public func markUncollectible(id: String, merchantID: String) async throws(BillingError) -> Invoice {
        try await settle(id: id, operation: .markUncollectible, merchantID: merchantID)
    }

    func settle(id: String, operation: InvoiceOperation, merchantID: String) async throws(BillingError) -> Invoice {
        try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            var stored = try billing.load(Invoice.self, id)
            let customer = try billing.customer(stored.value.customerID)
            try billing.useClock(of: customer.value)
            if stored.value.attempts.last?.status == .pending {
                throw BillingError.conflict("invoice_payment_in_progress", "invoice \(id) is being collected; wait for the attempt to finish")
            }
            guard try stored.value.check(operation) == .allowed else { return }
            if operation == .void {
                guard stored.value.amountPaid.isZero else {
                    throw BillingError.conflict("invoice_partially_paid", "invoice \(id) has payments; credit it with a credit note instead")
                }
                stored.value.status = .void
                stored.value.voidedAt = billing.now
            } else {
                stored.value.status = .uncollectible
            }
            stored.value.nextAttemptAt = nil
            try billing.releaseChange(of: stored.value)
            try billing.save(&stored, dueAt: nil)
            billing.emit(operation == .void ? "invoice.voided" : "invoice.marked_uncollectible", try BillingViews.invoice(stored.value))
            billing.audit("billing.invoice.\(operation == .void ? "void" : "uncollectible")", id)
        }
        return try await invoice(id: id, merchantID: merchantID)
    }

    public func invoice(id: String, merchantID: String) async throws(BillingError) -> Invoice {
        try await read(Invoice.self, id, merchantID: merchantID).value
    }

    public func invoices(
        merchantID: String, customerID: String?, subscriptionID: String?, status: String?, startingAfter: String?, limit: Int
    ) async throws(BillingError) -> (items: [Invoice], hasMore: Bool) {
        try await list(
            Invoice.self, merchantID: merchantID, customerID: customerID, parentID: subscriptionID, status: status,
            startingAfter: startingAfter, limit: limit)
    }

    // MARK: Credit notes

    public func createCreditNote(
        invoiceID: String, lines: [CreditLineRequest], outcome: CreditOutcome?, reason: String?, memo: String?,
        merchantID: String
    ) async throws(BillingError) -> CreditNote {
        guard !lines.isEmpty else { throw .invalid("lines", "a credit note credits at least one line") }
        let id: String = try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            var invoice = try billing.load(Invoice.self, invoiceID, param: "invoice")
            var customer = try billing.customer(invoice.value.customerID)
            try billing.useClock(of: customer.value)
            let open = invoice.value.status == .open || invoice.value.status == .uncollectible
            let chosen = outcome ?? (open ? .reduceAmountDue : (invoice.value.amountPaid.isPositive ? .refund : .creditBalance))
            let note = try billing.issueCreditNote(
                invoice: &invoice, lines: lines, outcome: chosen, reason: reason, memo: memo, customer: &customer.value)
            try billing.save(&customer, dueAt: customer.record.dueAt)
            return note.id
        }
        return try await creditNote(id: id, merchantID: merchantID)
    }

    public func creditNote(id: String, merchantID: String) async throws(BillingError) -> CreditNote {
        try await read(CreditNote.self, id, merchantID: merchantID).value
    }

    public func creditNotes(
        merchantID: String, invoiceID: String?, startingAfter: String?, limit: Int
    ) async throws(BillingError) -> (items: [CreditNote], hasMore: Bool) {
        try await list(CreditNote.self, merchantID: merchantID, parentID: invoiceID, startingAfter: startingAfter, limit: limit)
    }

    // MARK: Holds

    /// Releases the safety hold: the held drafts are finalized and collected as they
    /// would have been.
    public func releaseHold(customerID: String, merchantID: String) async throws(BillingError) -> Customer {
        try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            var customer = try billing.customer(customerID)
            try billing.useClock(of: customer.value)
            guard customer.value.hold != nil else {
                throw BillingError.conflict("customer_not_on_hold", "billing is not on hold for customer \(customerID)")
            }
            customer.value.hold = nil
            var settings = try billing.settings()
            // The merchant looked at these amounts: the bound does not hold them again.
            settings.maxInvoiceAmounts = [:]
            settings.maxGrowthFactor = .max
            for var invoice in try billing.all(Invoice.self, customerID: customerID) where invoice.value.status == .draft && invoice.value.held {
                _ = try billing.finalize(&invoice.value, customer: &customer.value, settings: settings, previousTotal: nil)
                try billing.save(&invoice, dueAt: billing.dueAt(invoice.value))
            }
            try billing.save(&customer, dueAt: customer.record.dueAt)
            billing.emit("customer.billing_released", BillingViews.customer(customer.value))
            billing.audit("billing.customer.release", customerID)
        }
        return try await customer(id: customerID, merchantID: merchantID)
    }

    // MARK: Test clocks

    public func createTestClock(frozenTime: Date, name: String?, merchantID: String) async throws(BillingError) -> TestClock {
        guard testClocksEnabled else {
            throw .invalid("test_clock", "test clocks are off in this daemon (they are on under till serve --sandbox)")
        }
        let clock = TestClock(id: Identifiers.make("clock"), name: name, frozenTime: frozenTime, createdAt: self.clock())
        return try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            try billing.insert(clock)
            billing.emit("test_clock.created", BillingViews.testClock(clock))
            return clock
        }
    }

    public func testClock(id: String, merchantID: String) async throws(BillingError) -> TestClock {
        try await read(TestClock.self, id, merchantID: merchantID).value
    }

    /// Moves a test clock to `time`, doing everything that falls due on the way in order,
    /// each at its own time: renewals, collections, retries, expiries.
    public func advance(testClockID: String, to time: Date, merchantID: String) async throws(BillingError) -> TestClock {
        guard testClocksEnabled else { throw .invalid("test_clock", "test clocks are off in this daemon") }
        let clock = try await testClock(id: testClockID, merchantID: merchantID)
        try clock.checkAdvance(to: time)
        try await moveClock(testClockID, to: clock.frozenTime, status: .advancing, merchantID: merchantID)
        var steps = 0
        // Bounded: a pending collection whose outcome stays unknown comes due again every ten
        // minutes of clock time, and must not keep one request busy forever.
        while steps < 5_000 {
            let due: [BillingObjectRecordSummary]
            do {
                due = try await store.dueBillingObjects(clockID: testClockID, now: time, limit: 1).map {
                    BillingObjectRecordSummary(dueAt: $0.dueAt ?? time)
                }
            } catch {
                throw BillingError(.internalFailure, code: "internal_error", "billing storage failed: \(type(of: error))")
            }
            guard let next = due.first else { break }
            try await moveClock(testClockID, to: max(next.dueAt, clock.frozenTime), status: .advancing, merchantID: merchantID)
            let summary = await runDue(clockID: testClockID, until: next.dueAt, limit: 1)
            steps += 1
            if summary.failed > 0 { break }
        }
        try await moveClock(testClockID, to: time, status: .ready, merchantID: merchantID)
        return try await testClock(id: testClockID, merchantID: merchantID)
    }

    func moveClock(_ id: String, to time: Date, status: TestClock.Status, merchantID: String) async throws(BillingError) {
        try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            var stored = try billing.load(TestClock.self, id)
            stored.value.frozenTime = max(stored.value.frozenTime, time)
            stored.value.status = status
            try billing.save(&stored, dueAt: nil)
            if status == .ready { billing.emit("test_clock.ready", BillingViews.testClock(stored.value)) }
        }
    }
}

struct BillingObjectRecordSummary: Sendable {
    var dueAt: Date
}
