import Foundation

/// A message to a customer about an invoice, kept in billing's outbox until it is sent.
///
/// Its id is derived from what it is about (`em_<invoice>_<purpose>`), so the same notice
/// queued twice (a retried transaction, a second daemon) is one message.
public struct BillingEmail: Hashable, Sendable, Codable {
    public enum Purpose: String, Hashable, Sendable, Codable, CaseIterable {
        /// A finalized invoice for the customer to pay, with its PDF.
        case invoice
        /// A paid invoice's receipt, with its PDF.
        case receipt
        /// An automatic collection failed; dunning will retry (or has stopped).
        case paymentFailed = "payment_failed"
        /// Before the due date.
        case reminder
        /// After the due date.
        case overdue
        /// A credit note, with its PDF.
        case creditNote = "credit_note"
    }

    public enum Status: String, Hashable, Sendable, Codable {
        case queued, sent, failed
    }

    public var id: String
    public var customerID: String
    public var invoiceID: String
    public var creditNoteID: String?
    public var purpose: Purpose
    /// `overdue-2`, `reminder-3d`: the notice, for reminders and overdue notices.
    public var notice: String?
    public var to: String
    public var locale: String
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var lastError: String?
    /// The message id it was sent under (`<…@till>`), once sent.
    public var messageID: String?
    public var createdAt: Date
    public var sentAt: Date?

    /// Attempts before a message is given up (transient failures are retried with backoff;
    /// a permanent refusal gives up at once).
    public static let maxAttempts = 8

    public init(
        customerID: String, invoiceID: String, creditNoteID: String? = nil, purpose: Purpose, notice: String? = nil,
        to: String, locale: String, createdAt: Date
    ) {
        self.id = Self.id(invoiceID: creditNoteID ?? invoiceID, purpose: purpose, notice: notice)
        self.customerID = customerID
        self.invoiceID = invoiceID
        self.creditNoteID = creditNoteID
        self.purpose = purpose
        self.notice = notice
        self.to = to
        self.locale = locale
        self.status = .queued
        self.attempts = 0
        self.nextAttemptAt = createdAt
        self.createdAt = createdAt
    }

    public static func id(invoiceID: String, purpose: Purpose, notice: String?) -> String {
        "em_" + invoiceID + "_" + purpose.rawValue + (notice.map { "_" + $0 } ?? "")
    }

    /// Seconds before attempt `n + 1` after `n` transient failures: 1, 2, 4 … minutes, at most an hour.
    public static func backoff(afterAttempts n: Int) -> TimeInterval {
        min(3_600, 60 * pow(2, Double(max(0, n - 1))))
    }
}
