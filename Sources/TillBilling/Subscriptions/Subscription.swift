import Foundation
import TillCore

/// A subscription's status, with the names the big billing systems use.
public enum SubscriptionStatus: String, Hashable, Sendable, Codable, CaseIterable {
    case trialing, active
    case pastDue = "past_due"
    case unpaid, paused, canceled, incomplete
    case incompleteExpired = "incomplete_expired"

    /// A status after which nothing is ever billed again.
    public var isTerminal: Bool { self == .canceled || self == .incompleteExpired }
}

/// One price a subscription bills, in a quantity.
public struct SubscriptionItem: Hashable, Sendable, Codable {
    public var id: String
    public var priceID: String
    public var quantity: Int64

    public init(id: String, priceID: String, quantity: Int64) throws(BillingError) {
        guard quantity > 0 else { throw .invalid("quantity", "a quantity must be at least 1 (got \(quantity))") }
        guard quantity <= 1_000_000_000 else { throw .invalid("quantity", "a quantity must be at most 1,000,000,000") }
        self.id = id
        self.priceID = priceID
        self.quantity = quantity
    }
}

/// How a subscription's invoices are paid.
public enum CollectionMethod: String, Hashable, Sendable, Codable, CaseIterable {
    /// The saved payment method is charged when the invoice is finalized.
    case chargeAutomatically = "charge_automatically"
    /// The invoice is left open for the customer to pay by its due date.
    case sendInvoice = "send_invoice"
}

/// Where a subscription's periods are: the schedule they follow and the one running now.
///
/// Periods come from `anchor` and `recurrence` alone (period `index` starts at boundary
/// `index`), so a month-end anchor never drifts: 31 Jan, 29 Feb, 31 Mar. The current period
/// may start later than its schedule slot, when the subscription began mid-slot (calendar
/// alignment) or resumed from a pause; it always ends on a schedule boundary.
public struct BillingSchedule: Hashable, Sendable, Codable {
    public var anchor: Date
    public var recurrence: Recurrence
    public var index: Int
    public var current: BillingPeriod

    public init(anchor: Date, recurrence: Recurrence, index: Int, current: BillingPeriod) {
        self.anchor = anchor
        self.recurrence = recurrence
        self.index = index
        self.current = current
    }

    /// The whole schedule slot the current period falls in (longer than `current` when it
    /// began mid-slot): what a partial period is prorated against.
    public func slot(in calendar: BillingCalendar) throws(BillingError) -> BillingPeriod {
        try calendar.period(anchor: anchor, recurrence: recurrence, index: index)
    }

    /// The schedule after the current period: the next slot, whole.
    public func next(in calendar: BillingCalendar) throws(BillingError) -> BillingSchedule {
        let period = try calendar.period(anchor: anchor, recurrence: recurrence, index: index + 1)
        return BillingSchedule(anchor: anchor, recurrence: recurrence, index: index + 1, current: period)
    }

    /// A schedule whose first period starts at `start`: anniversary billing anchors there;
    /// calendar billing anchors at the calendar boundary at or before it (the 1st of the
    /// month, say), so the first period runs from `start` to the next boundary and is
    /// prorated.
    public static func starting(
        at start: Date, recurrence: Recurrence, alignment: BillingAlignment, calendar: BillingCalendar
    ) throws(BillingError) -> BillingSchedule {
        switch alignment {
        case .anniversary:
            return BillingSchedule(
                anchor: start, recurrence: recurrence, index: 0,
                current: try calendar.period(anchor: start, recurrence: recurrence, index: 0))
        case .calendar:
            let next = calendar.nextCalendarBoundary(after: start, interval: recurrence.interval)
            // A start on a calendar boundary anchors there; any other start falls in the unit
            // that began at the boundary before, and anchoring there keeps every later
            // boundary on the calendar.
            let onBoundary =
                calendar.nextCalendarBoundary(after: start.addingTimeInterval(-1), interval: recurrence.interval) == start
            let anchor = onBoundary ? start : try Self.unitBefore(next, interval: recurrence.interval, calendar: calendar)
            let end = try calendar.boundary(anchor: anchor, recurrence: recurrence, index: 1)
            return BillingSchedule(
                anchor: anchor, recurrence: recurrence, index: 0, current: BillingPeriod(start: start, end: end))
        }
    }

    /// The calendar boundary one unit before `boundary` (itself a calendar boundary).
    static func unitBefore(_ boundary: Date, interval: BillingInterval, calendar: BillingCalendar) throws(BillingError) -> Date {
        var gregorian = Calendar(identifier: .gregorian)
        gregorian.timeZone = calendar.timeZone
        let component: Calendar.Component
        switch interval {
        case .day: component = .day
        case .week: component = .weekOfYear
        case .month: component = .month
        case .year: component = .year
        }
        guard let earlier = gregorian.date(byAdding: component, value: -1, to: boundary) else {
            throw .invalid("billing_cycle_anchor", "cannot compute the calendar period before \(boundary)")
        }
        return earlier
    }
}

/// A change of items that waits for the end of the period (a downgrade).
public struct PendingChange: Hashable, Sendable, Codable {
    public var items: [SubscriptionItem]
    public var requestedAt: Date

    public init(items: [SubscriptionItem], requestedAt: Date) {
        self.items = items
        self.requestedAt = requestedAt
    }
}

/// A customer's recurring charges: items, the periods they are billed for, and where in
/// its lifecycle it stands.
public struct Subscription: Hashable, Sendable, Codable {
    public var id: String
    public var customerID: String
    public var status: SubscriptionStatus
    public var items: [SubscriptionItem]
    public var currency: Currency
    public var alignment: BillingAlignment
    public var collection: CollectionMethod
    /// Days an invoice sent for payment has (send_invoice), counted in the customer's calendar.
    public var daysUntilDue: Int
    public var taxRateIDs: [String]
    public var discount: Discount?
    /// The paid periods' schedule; during a trial it is the trial, as one period.
    public var schedule: BillingSchedule
    public var trialEnd: Date?
    public var cancelAtPeriodEnd: Bool
    public var canceledAt: Date?
    public var endedAt: Date?
    public var pausedAt: Date?
    public var pendingChange: PendingChange?
    public var latestInvoiceID: String?
    /// The invoice a change created that is still being collected: another change waits
    /// until it settles.
    public var changeInvoiceID: String?
    /// The invoice lines that pay for the current period's items as they stand: what a
    /// cancellation or pause credits the unused part of. A change replaces the lines of the
    /// items it credited; a renewal starts the list again.
    public var charges: [ChargeReference]
    /// What each usage item was billed for its recent periods, so a late event that lands
    /// in a period already invoiced becomes a correction line on the next invoice. Only
    /// periods still inside the grace window are kept. (Optional: older bodies lack it.)
    public var usageBilled: [UsageBilled]?
    public var metadata: [String: String]
    public var createdAt: Date

    public init(
        id: String, customerID: String, status: SubscriptionStatus, items: [SubscriptionItem], currency: Currency,
        alignment: BillingAlignment, collection: CollectionMethod, daysUntilDue: Int, taxRateIDs: [String],
        discount: Discount?, schedule: BillingSchedule, trialEnd: Date?, metadata: [String: String], createdAt: Date
    ) throws(BillingError) {
        guard !items.isEmpty else { throw .invalid("items", "a subscription needs at least one item") }
        guard items.count <= 20 else { throw .invalid("items", "a subscription has at most 20 items") }
        guard Set(items.map(\.priceID)).count == items.count else {
            throw .invalid("items", "each price may appear once in a subscription; raise its quantity instead")
        }
        guard (0...365).contains(daysUntilDue) else { throw .invalid("days_until_due", "days_until_due must be 0 to 365") }
        self.id = id
        self.customerID = customerID
        self.status = status
        self.items = items
        self.currency = currency
        self.alignment = alignment
        self.collection = collection
        self.daysUntilDue = daysUntilDue
        self.taxRateIDs = taxRateIDs
        self.discount = discount
        self.schedule = schedule
        self.trialEnd = trialEnd
        self.cancelAtPeriodEnd = false
        self.pendingChange = nil
        self.charges = []
        self.metadata = metadata
        self.createdAt = createdAt
    }

    /// When the scheduler must next act: the end of the current period (renewal, trial end,
    /// cancellation at period end), unless nothing will ever happen again.
    public var nextActionAt: Date? {
        switch status {
        case .canceled, .incompleteExpired, .paused, .incomplete: nil
        default: schedule.current.end
        }
    }
}

/// An invoice line that paid for some of a subscription item's time.
public struct ChargeReference: Hashable, Sendable, Codable {
    public var invoiceID: String
    public var lineID: String
    public var itemID: String
    public var period: BillingPeriod

    public init(invoiceID: String, lineID: String, itemID: String, period: BillingPeriod) {
        self.invoiceID = invoiceID
        self.lineID = lineID
        self.itemID = itemID
        self.period = period
    }
}
