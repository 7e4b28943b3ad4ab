import TillCore

/// What can happen to a subscription.
public enum SubscriptionOperation: String, Hashable, Sendable, CaseIterable {
    /// The current period ended: bill the next one (or end the trial, or end the subscription).
    case renew
    /// An invoice of the subscription was paid.
    case paymentSucceeded
    /// Collecting an invoice of the subscription failed (a retry may follow).
    case paymentFailed
    /// The last retry failed.
    case retriesExhausted
    /// The first invoice was not paid in time.
    case expireIncomplete
    /// Items or quantities change.
    case changeItems
    case cancelNow
    case cancelAtPeriodEnd
    /// Undo a cancellation scheduled for the period end.
    case keep
    case pause
    case resume
}

public typealias SubscriptionRule = TransitionRule<Subscription, SubscriptionStatus, SubscriptionOperation>

/// The subscription lifecycle as data, read top to bottom; an operation no row speaks for is
/// refused, so a new status or operation is closed until a row opens it.
public enum SubscriptionLifecycle {
    static let changeInFlight = TransitionGuard<Subscription>("a change's invoice is still being collected") {
        $0.changeInvoiceID != nil
    }

    public static let table = TransitionTable<Subscription, SubscriptionStatus, SubscriptionOperation>([
        // Renewals: the scheduler's work at a period end.
        .allow(
            "renew", .renew, from: [.active, .pastDue, .unpaid, .trialing],
            to: [.active, .pastDue, .unpaid, .canceled],
            why: "each period is billed when the previous one ends; a failed collection shows as past_due; a cancellation at period end ends it"),
        .ignore(
            "renew_while_stopped", .renew, from: [.paused, .canceled, .incompleteExpired, .incomplete],
            why: "a stopped subscription bills nothing; a late tick changes nothing"),

        // Collection outcomes.
        .allow(
            "paid", .paymentSucceeded, from: [.incomplete, .pastDue, .unpaid, .active, .trialing], to: [.active],
            why: "paying the open invoice makes the subscription good again"),
        .ignore(
            "paid_after_end", .paymentSucceeded, from: [.canceled, .incompleteExpired, .paused],
            why: "a late payment of an old invoice does not revive an ended subscription"),
        .allow(
            "first_payment_failed", .paymentFailed, from: [.incomplete], to: [.incomplete],
            why: "until the first invoice is paid the subscription has not started"),
        .allow(
            "payment_failed", .paymentFailed, from: [.active, .pastDue, .trialing], to: [.pastDue],
            why: "a failed renewal is retried on the dunning schedule while the subscription is past_due"),
        .ignore(
            "payment_failed_again", .paymentFailed, from: [.unpaid, .canceled, .paused, .incompleteExpired],
            why: "nothing more to say about a subscription that already stopped collecting"),
        .allow(
            "retries_exhausted", .retriesExhausted, from: [.pastDue], to: [.unpaid, .canceled],
            why: "after the last retry the merchant's setting decides: keep it unpaid, or cancel it"),
        .ignore(
            "retries_exhausted_late", .retriesExhausted, from: [.active, .unpaid, .canceled, .paused, .trialing],
            why: "a payment or a cancellation got there first"),
        .allow(
            "expire_incomplete", .expireIncomplete, from: [.incomplete], to: [.incompleteExpired],
            why: "a first invoice unpaid after its window voids the start"),
        .ignore(
            "expire_after_payment", .expireIncomplete, from: [.active, .pastDue, .canceled, .trialing],
            why: "the first invoice was paid (or the subscription canceled) before the window closed"),

        // The merchant's changes.
        .refuse(
            "change_in_flight", .changeItems, from: [.active, .trialing, .pastDue], when: changeInFlight,
            code: "subscription_change_in_flight",
            why: "the previous change's invoice is still being collected; a second change would prorate against terms that may not stand"),
        .allow(
            "change", .changeItems, from: [.active, .trialing, .pastDue], to: [.active, .trialing, .pastDue],
            why: "upgrades prorate now; downgrades wait for the period end"),
        .allow(
            "cancel_now", .cancelNow, from: [.active, .trialing, .pastDue, .unpaid, .paused, .incomplete], to: [.canceled],
            why: "a merchant can end any live subscription; unused paid time is credited"),
        .allow(
            "cancel_at_period_end", .cancelAtPeriodEnd, from: [.active, .trialing, .pastDue], to: [.active, .trialing, .pastDue],
            why: "the customer keeps what they paid for, and nothing more is billed"),
        .allow(
            "keep", .keep, from: [.active, .trialing, .pastDue], to: [.active, .trialing, .pastDue],
            why: "a cancellation scheduled for the period end can be withdrawn before it happens"),
        .allow(
            "pause", .pause, from: [.active], to: [.paused],
            why: "billing stops; the unused part of the paid period is credited when it resumes"),
        .allow(
            "resume", .resume, from: [.paused], to: [.active, .pastDue],
            why: "a new period starts on the day it resumes"),
    ])

    /// The verdict for `operation` on `subscription`; refusals name the status.
    @discardableResult
    public static func check(_ operation: SubscriptionOperation, _ subscription: Subscription) throws(BillingError) -> Verdict {
        let rule = table.rule(for: operation, in: subscription.status, subject: subscription)
        switch rule?.verdict ?? .refused {
        case .refused:
            let code = rule?.refusal ?? "subscription_state_invalid"
            let detail = rule.map { " (\($0.why))" } ?? ""
            throw BillingError.conflict(
                code, "subscription \(subscription.id) is \(subscription.status.rawValue): cannot \(operation.rawValue)\(detail)")
        case let verdict:
            return verdict
        }
    }
}
