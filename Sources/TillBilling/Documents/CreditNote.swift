import Foundation
import TillCore

/// What happens to the money a credit note gives back.
public enum CreditOutcome: String, Hashable, Sendable, Codable, CaseIterable {
    /// Refunded to the payment that paid the invoice.
    case refund
    /// Added to the customer's credit balance, for their next invoices.
    case creditBalance = "credit_balance"
    /// Settled outside Till (cash, bank transfer): recorded, nothing moves here.
    case outOfBand = "out_of_band"
    /// The invoice is still open: the credit lowers what is due.
    case reduceAmountDue = "reduce_amount_due"
}

/// Where a credit note's refund stands: written before the payment engine is asked, so a
/// crash leaves something to finish, never a second refund.
public struct CreditRefund: Hashable, Sendable, Codable {
    public enum Status: String, Hashable, Sendable, Codable { case pending, succeeded, failed }

    public var paymentID: String
    public var amount: Money
    /// What the payment had refunded before this one was asked for: finishing a pending
    /// refund after a crash compares with it instead of asking twice.
    public var refundedBefore: Int64
    /// Set, with `refundedBefore`, in its own commit before the payment engine is asked.
    public var claimed: Bool
    public var status: Status
    public var refundID: String?
    public var failureMessage: String?

    public init(paymentID: String, amount: Money, refundedBefore: Int64) {
        self.paymentID = paymentID
        self.amount = amount
        self.refundedBefore = refundedBefore
        self.claimed = false
        self.status = .pending
    }
}

/// An amendment to a finalized invoice: the invoice stays as issued, and this document says
/// what is given back and how.
public struct CreditNote: Hashable, Sendable, Codable {
    public var id: String
    public var invoiceID: String
    public var customerID: String
    public var number: String
    public var status: CreditNoteStatus
    public var currency: Currency
    public var totals: CreditNoteTotals
    public var outcome: CreditOutcome
    public var refund: CreditRefund?
    /// `duplicate`, `fraudulent`, `order_change`, `product_unsatisfactory`, `subscription_canceled`…
    public var reason: String?
    public var memo: String?
    public var createdAt: Date
    public var voidedAt: Date?

    public init(
        id: String, invoice: Invoice, number: String, totals: CreditNoteTotals, outcome: CreditOutcome, reason: String?,
        memo: String?, createdAt: Date
    ) {
        self.id = id
        self.invoiceID = invoice.id
        self.customerID = invoice.customerID
        self.number = number
        self.status = .issued
        self.currency = invoice.currency
        self.totals = totals
        self.outcome = outcome
        self.reason = reason
        self.memo = memo
        self.createdAt = createdAt
    }
}
