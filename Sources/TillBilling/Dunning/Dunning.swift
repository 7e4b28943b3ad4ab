import Foundation
import TillCore

/// What billing does when money does not come in: which failures are worth retrying, and
/// when a customer who pays by invoice is reminded.
public enum Dunning {
    /// Failures a retry cannot fix: the card is reported lost or stolen, suspected of fraud
    /// or expired, or there is no usable payment method. Retrying them only adds declines
    /// to the merchant's record with the card networks (Visa and Mastercard fine repeated
    /// retries of such codes), so dunning stops at once and the subscription takes its
    /// configured end state.
    public static let hardDeclines: Set<String> = [
        "lost_or_stolen", "fraud_suspected", "expired_card", "payment_method_invalid", "payment_method_missing",
    ]

    public static func isHardDecline(_ code: String) -> Bool { hardDeclines.contains(code) }

    /// Reminders go out at this local hour, in the customer's timezone.
    public static let noticeHour = 9
}

/// A reminder or overdue notice of an invoice the customer pays themselves.
public struct InvoiceNotice: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        /// Before the due date.
        case reminder
        /// After the due date, levels 1 to 3.
        case overdue
    }

    public var kind: Kind
    /// Days before the due date for a reminder; the overdue level (1–3) for a notice.
    public var level: Int
    /// When it is due to go out: `noticeHour` local time on its day.
    public var at: Date

    /// `reminder-3d`, `overdue-1`: what the invoice records as sent.
    public var key: String { kind == .reminder ? "reminder-\(level)d" : "overdue-\(level)" }

    /// The notices of an open `send_invoice` invoice, in time order: reminders
    /// `settings.reminderDaysBeforeDue` days before the due day (only those after the day it
    /// was finalized) and the overdue levels `settings.overdueNoticeDays` days after it, each
    /// at 09:00 on its day where the customer is.
    public static func schedule(
        for invoice: Invoice, settings: BillingSettings, calendar: BillingCalendar
    ) throws(BillingError) -> [InvoiceNotice] {
        guard invoice.collection == .sendInvoice, let finalized = invoice.finalizedAt, let due = invoice.dueDate else { return [] }
        let morning = calendar.startOfDay(finalized).addingTimeInterval(Double(Dunning.noticeHour) * 3_600)
        let dueIndex = calendar.days(from: calendar.startOfDay(finalized), to: calendar.startOfDay(due))
        let day = try Recurrence(.day)
        var notices: [InvoiceNotice] = []
        for before in settings.reminderDaysBeforeDue where dueIndex - before >= 1 {
            notices.append(
                InvoiceNotice(
                    kind: .reminder, level: before, at: try calendar.boundary(anchor: morning, recurrence: day, index: dueIndex - before)))
        }
        for (index, after) in settings.overdueNoticeDays.enumerated() {
            notices.append(
                InvoiceNotice(
                    kind: .overdue, level: index + 1, at: try calendar.boundary(anchor: morning, recurrence: day, index: dueIndex + after)))
        }
        return notices.sorted { $0.at < $1.at }
    }
}
