import Foundation
import Logging
import TillBilling
import TillCore
import TillStore

/// How billing's messages reach customers: rendered and sent by the daemon (documents,
/// SMTP), outside the engine, which only keeps the outbox.
public protocol BillingMailer: Sendable {
    /// Sends `email` about `invoice` (and `creditNote`); throws ``BillingMailFailure``.
    func send(_ email: BillingEmail, invoice: Invoice, creditNote: CreditNote?, customer: Customer, merchantID: String) async throws(BillingMailFailure)
}

/// Why a message was not sent, and whether trying again may help.
public struct BillingMailFailure: Error, Sendable {
    public var permanent: Bool
    public var message: String

    public init(permanent: Bool, message: String) {
        self.permanent = permanent
        self.message = message
    }
}

extension BillingTransaction {
    /// Queues a message to the customer about `invoice`, once: a message with the same id
    /// is already queued or sent. Customers without an email address get none.
    func queueEmail(
        _ purpose: BillingEmail.Purpose, customer: Customer, invoice: Invoice, creditNote: CreditNote? = nil, notice: String? = nil
    ) throws {
        guard let address = customer.email, !address.isEmpty else { return }
        let email = BillingEmail(
            customerID: customer.id, invoiceID: invoice.id, creditNoteID: creditNote?.id, purpose: purpose, notice: notice,
            to: address, locale: customer.locale, createdAt: now)
        guard try find(BillingEmail.self, email.id) == nil else { return }
        try insert(email, clockID: customer.testClockID, dueAt: mailing ? now : nil)
        if mailing { after.emails.append(email.id) }
    }

    func notify(customer: Customer, invoice: Invoice, notice: InvoiceNotice) throws {
        try queueEmail(notice.kind == .reminder ? .reminder : .overdue, customer: customer, invoice: invoice, notice: notice.key)
    }
}

extension BillingEngine {
    /// Sends a queued message through the mailer and records the outcome: sent; failed for
    /// good (a permanent refusal, or too many tries); or due again after a backoff.
    func deliver(emailID: String, merchantID: String, at now: Date) async {
        guard let mailer else { return }
        do {
            let email = try await read(BillingEmail.self, emailID, merchantID: merchantID).value
            guard email.status == .queued else { return }
            let invoice = try await read(Invoice.self, email.invoiceID, merchantID: merchantID).value
            let note = try await email.creditNoteID.asyncMap { id async throws(BillingError) in
                try await read(CreditNote.self, id, merchantID: merchantID).value
            }
            let customer = try await read(Customer.self, email.customerID, merchantID: merchantID).value
            let failure: BillingMailFailure?
            do throws(BillingMailFailure) {
                try await mailer.send(email, invoice: invoice, creditNote: note, customer: customer, merchantID: merchantID)
                failure = nil
            } catch {
                failure = error
            }
            try await transact(merchantID: merchantID, actor: "billing", at: now) { billing in
                var stored = try billing.load(BillingEmail.self, emailID)
                guard stored.value.status == .queued else { return }
                stored.value.attempts += 1
                if let failure {
                    stored.value.lastError = String(failure.message.prefix(500))
                    if failure.permanent || stored.value.attempts >= BillingEmail.maxAttempts {
                        stored.value.status = .failed
                        stored.value.nextAttemptAt = nil
                        billing.emit("email.failed", BillingViews.email(stored.value))
                    } else {
                        stored.value.nextAttemptAt = billing.now.addingTimeInterval(BillingEmail.backoff(afterAttempts: stored.value.attempts))
                    }
                } else {
                    stored.value.status = .sent
                    stored.value.sentAt = billing.now
                    stored.value.nextAttemptAt = nil
                    stored.value.messageID = "<\(stored.value.id)@till>"
                    billing.emit("email.sent", BillingViews.email(stored.value))
                }
                try billing.save(&stored, dueAt: stored.value.nextAttemptAt)
            }
        } catch {
            logger.warning("sending a billing email failed; it stays queued", metadata: ["email": "\(emailID)", "error": "\(error)"])
        }
    }

    public func email(id: String, merchantID: String) async throws(BillingError) -> BillingEmail {
        try await read(BillingEmail.self, id, merchantID: merchantID).value
    }

    public func emails(
        merchantID: String, customerID: String?, invoiceID: String?, startingAfter: String?, limit: Int
    ) async throws(BillingError) -> (items: [BillingEmail], hasMore: Bool) {
        try await list(
            BillingEmail.self, merchantID: merchantID, customerID: customerID, parentID: invoiceID, startingAfter: startingAfter,
            limit: limit)
    }
}

extension Optional {
    func asyncMap<T, E: Error>(_ transform: (Wrapped) async throws(E) -> T) async throws(E) -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
