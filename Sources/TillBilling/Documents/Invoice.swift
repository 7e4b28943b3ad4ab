import Foundation
import TillCore

/// One line of an invoice, as the customer reads it.
public struct InvoiceLine: Hashable, Sendable, Codable {
    public var id: String
    public var description: String
    public var quantity: Int64
    /// The unit amount the line was priced at, when it came from a price.
    public var unitAmount: Money?
    /// What the line adds to the invoice before discounts and tax (negative for a credit).
    public var amount: Money
    /// The time the line pays for, when it is a period's charge or a proration.
    public var period: BillingPeriod?
    public var priceID: String?
    public var subscriptionItemID: String?
    /// A proration: credit for unused time, or a charge for the remaining time of a change.
    public var proration: Bool
    public var discountable: Bool
    public var taxRates: [TaxRate]
    /// For a usage line: the period's aggregated quantity (exact, possibly fractional).
    public var usageQuantity: UsageDecimal?

    public init(
        id: String, description: String, quantity: Int64 = 1, unitAmount: Money? = nil, amount: Money,
        period: BillingPeriod? = nil, priceID: String? = nil, subscriptionItemID: String? = nil, proration: Bool = false,
        discountable: Bool = true, taxRates: [TaxRate] = []
    ) {
        self.id = id
        self.description = description
        self.quantity = quantity
        self.unitAmount = unitAmount
        self.amount = amount
        self.period = period
        self.priceID = priceID
        self.subscriptionItemID = subscriptionItemID
        self.proration = proration
        self.discountable = discountable
        self.taxRates = taxRates
    }

    var input: InvoiceLineInput {
        InvoiceLineInput(id: id, amount: amount, discountable: discountable && !proration, taxRates: taxRates)
    }
}

/// Why an invoice exists.
public enum InvoiceReason: String, Hashable, Sendable, Codable {
    case subscriptionCreate = "subscription_create"
    case subscriptionCycle = "subscription_cycle"
    case subscriptionUpdate = "subscription_update"
    case subscriptionResume = "subscription_resume"
    case manual
}

/// One try at collecting an invoice: a payment through the payment engine, under a key that
/// names the attempt, so trying the same attempt again can never charge twice.
public struct CollectionAttempt: Hashable, Sendable, Codable {
    public enum Status: String, Hashable, Sendable, Codable {
        /// Written before the payment engine is called; a crash leaves it to be finished.
        case pending
        case succeeded, failed
    }

    public var number: Int
    public var idempotencyKey: String
    public var amount: Money
    public var status: Status
    public var paymentID: String?
    public var failureCode: String?
    public var failureMessage: String?
    public var startedAt: Date
    public var finishedAt: Date?

    public init(number: Int, invoiceID: String, amount: Money, startedAt: Date) {
        self.number = number
        self.idempotencyKey = "\(invoiceID)-attempt-\(number)"
        self.amount = amount
        self.status = .pending
        self.startedAt = startedAt
    }
}

/// An invoice: a draft while it can change, then a document that never does.
///
/// Finalizing freezes the number, the lines, the tax and the totals; after that only its
/// status and what was paid against it move. A credit note amends it; nothing edits it.
public struct Invoice: Hashable, Sendable, Codable {
    public var id: String
    public var customerID: String
    public var subscriptionID: String?
    public var reason: InvoiceReason
    public var status: InvoiceStatus
    public var number: String?
    public var currency: Currency
    public var lines: [InvoiceLine]
    public var discounts: [Discount]
    public var rounding: RoundingPolicy
    /// The frozen totals once finalized; a draft's are computed when shown.
    public var totals: InvoiceTotals?
    /// Customer credit applied when it was finalized.
    public var creditApplied: Money
    public var amountPaid: Money
    /// Credited by credit notes while open (lowering what is due) or after payment.
    public var amountCredited: Money
    public var collection: CollectionMethod
    public var daysUntilDue: Int
    public var dueDate: Date?
    /// The due date as the customer's calendar shows it (`2024-03-15`).
    public var dueDateLocal: String?
    /// The customer's timezone and locale when it was finalized: the document is read in them.
    public var timeZone: String
    public var locale: String
    public var attempts: [CollectionAttempt]
    public var nextAttemptAt: Date?
    /// Held by the safety bound: stays a draft until the merchant releases the customer.
    public var held: Bool
    public var periodStart: Date?
    public var periodEnd: Date?
    public var memo: String?
    public var metadata: [String: String]
    /// Reminder and overdue notices already sent (``InvoiceNotice/key``), so none goes twice.
    public var notices: [String]?
    /// When the next notice is due; `nil` when none is left.
    public var nextNoticeAt: Date?
    /// The late-fee invoice this one led to, once it did.
    public var lateFeeInvoiceID: String?
    public var createdAt: Date
    public var finalizedAt: Date?
    public var paidAt: Date?
    public var voidedAt: Date?

    public init(
        id: String, customer: Customer, subscriptionID: String?, reason: InvoiceReason, currency: Currency,
        lines: [InvoiceLine], discounts: [Discount], rounding: RoundingPolicy, collection: CollectionMethod,
        daysUntilDue: Int, memo: String? = nil, metadata: [String: String] = [:], createdAt: Date
    ) {
        self.id = id
        self.customerID = customer.id
        self.subscriptionID = subscriptionID
        self.reason = reason
        self.status = .draft
        self.currency = currency
        self.lines = lines
        self.discounts = discounts
        self.rounding = rounding
        self.creditApplied = .zero(currency)
        self.amountPaid = .zero(currency)
        self.amountCredited = .zero(currency)
        self.collection = collection
        self.daysUntilDue = daysUntilDue
        self.timeZone = customer.timeZone
        self.locale = customer.locale
        self.attempts = []
        self.held = false
        self.periodStart = lines.compactMap(\.period?.start).min()
        self.periodEnd = lines.compactMap(\.period?.end).max()
        self.memo = memo
        self.metadata = metadata
        self.createdAt = createdAt
    }

    /// The totals: frozen once finalized, computed from the lines while a draft.
    public func computedTotals() throws(BillingError) -> InvoiceTotals {
        if let totals { return totals }
        return try InvoiceMath.totals(lines: lines.map(\.input), discounts: discounts, currency: currency, rounding: rounding)
    }

    /// What is still to pay: the total, less credit applied, payments and credit notes.
    public func amountRemaining() throws(BillingError) -> Money {
        let total = try computedTotals().total
        do {
            let owed = try total.subtracting(creditApplied).subtracting(amountPaid).subtracting(amountCredited)
            return owed.isNegative ? .zero(currency) : owed
        } catch {
            throw .money(error, while: "the amount remaining on \(id)")
        }
    }

    /// What the customer owes once credit is applied (what collection charges).
    public func amountDue() throws(BillingError) -> Money {
        let total = try computedTotals().total
        do {
            let due = try total.subtracting(creditApplied)
            return due.isNegative ? .zero(currency) : due
        } catch {
            throw .money(error, while: "the amount due on \(id)")
        }
    }

    public mutating func check(_ operation: InvoiceOperation) throws(BillingError) -> Verdict {
        try InvoiceLifecycle.check(operation, from: status)
    }

    /// Adds a line to a draft; a finalized invoice refuses.
    public mutating func add(_ line: InvoiceLine) throws(BillingError) {
        _ = try check(.edit)
        guard line.amount.currency == currency else {
            throw BillingError(
                .invalidInput, code: "currency_mismatch",
                "invoice \(id) is in \(currency.code); a line in \(line.amount.currency.code) cannot be added", param: "currency")
        }
        guard lines.count < 250 else { throw .invalid("lines", "an invoice has at most 250 lines") }
        lines.append(line)
        periodStart = lines.compactMap(\.period?.start).min()
        periodEnd = lines.compactMap(\.period?.end).max()
    }

    /// Freezes the invoice: its number, totals, the credit it uses and its due date (in the
    /// customer's calendar). Returns the credit taken from the customer's balance.
    public mutating func finalize(
        number: String, customer: Customer, at date: Date
    ) throws(BillingError) -> Money {
        _ = try check(.finalize)
        let totals = try computedTotals()
        self.totals = totals
        self.number = number
        self.status = .open
        self.finalizedAt = date
        self.held = false
        self.timeZone = customer.timeZone
        self.locale = customer.locale
        let available = customer.credit(in: currency)
        let credit = available.isPositive && totals.total.isPositive
            ? Money(minorUnits: min(available.minorUnits, totals.total.minorUnits), currency: currency) : .zero(currency)
        creditApplied = credit
        let calendar = try customer.calendar()
        let days = collection == .sendInvoice ? daysUntilDue : 0
        // Due at the end of the customer's local day, `days` days on: "due 15 March" means
        // all of 15 March where the customer is.
        let startOfToday = calendar.startOfDay(date)
        let dueDay = try calendar.boundary(anchor: startOfToday, recurrence: try Recurrence(.day), index: days + 1)
        let due = dueDay.addingTimeInterval(-1)
        dueDate = due
        dueDateLocal = calendar.localDate(of: due).description
        return credit
    }
}
