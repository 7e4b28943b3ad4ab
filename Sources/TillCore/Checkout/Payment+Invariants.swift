/// A broken invariant of the checkout state machine, found by
/// ``Payment/checkInvariants(after:)``.
public struct InvariantViolation: Hashable, Sendable, CustomStringConvertible {
    /// A stable name for the invariant (`captured_within_authorized`).
    public let invariant: String
    /// What was found.
    public let detail: String

    public var description: String { "\(invariant): \(detail)" }
}

extension Payment {
    /// Checks every invariant of DESIGN.md's state machine on this payment; with `previous`,
    /// also those about how it may change (append-only history, terminal transactions
    /// frozen, dispute stages forward only). Empty when all hold.
    public func checkInvariants(after previous: Payment? = nil) -> [InvariantViolation] {
        var found: [InvariantViolation] = []
        func check(_ holds: Bool, _ invariant: String, _ detail: @autoclosure () -> String) {
            if !holds { found.append(InvariantViolation(invariant: invariant, detail: detail())) }
        }

        // Shape of the history.
        check(transactions.first?.kind == .authorize, "authorization_first", "the first transaction is not the authorization")
        check(
            transactions.filter { $0.kind == .authorize }.count == 1, "one_authorization",
            "\(transactions.filter { $0.kind == .authorize }.count) authorizations")
        check(Set(transactions.map(\.id)).count == transactions.count, "unique_transaction_ids", "a transaction id repeats")
        check(Set(disputes.map(\.id)).count == disputes.count, "unique_dispute_ids", "a dispute id repeats")
        for (earlier, later) in zip(transactions, transactions.dropFirst()) {
            check(
                earlier.sequence < later.sequence, "sequences_increase",
                "\(later.id) has sequence \(later.sequence) after \(earlier.sequence)")
        }
        for transaction in transactions {
            check(
                transaction.amount.currency == currency, "single_currency",
                "\(transaction.id) is in \(transaction.amount.currency.code), the payment in \(currency.code)")
            check(transaction.amount.minorUnits > 0, "positive_amounts", "\(transaction.id) has amount \(transaction.amount.minorUnits)")
            check(
                (transaction.status == .failed) == (transaction.failure != nil), "failure_iff_failed",
                "\(transaction.id) is \(transaction.status.rawValue) with failure \(String(describing: transaction.failure))")
            check(
                !transaction.requiresAction || (transaction.kind == .authorize && transaction.status == .pending),
                "requires_action_only_on_pending_authorization", "\(transaction.id) carries the requires-action marker")
            if transaction.kind == .chargeback || transaction.kind == .chargebackReversal {
                check(transaction.status == .succeeded, "chargebacks_are_facts", "\(transaction.id) is \(transaction.status.rawValue)")
                check(
                    transaction.disputeID.map { dispute(id: $0) != nil } ?? false, "chargeback_has_dispute",
                    "\(transaction.id) names no known dispute")
            }
        }
        for dispute in disputes {
            check(dispute.amount.currency == currency, "single_currency", "dispute \(dispute.id) is in \(dispute.amount.currency.code)")
            check(dispute.amount.minorUnits > 0, "positive_amounts", "dispute \(dispute.id) has amount \(dispute.amount.minorUnits)")
        }

        // Amounts. In-flight amounts count as if they succeed, so that any resolution keeps
        // every bound.
        let authorized = authorizedMinorUnits
        let captured = capturedMinorUnits
        let refunded = refundedMinorUnits
        let chargedBack = chargedBackMinorUnits
        check(0 <= captured && captured <= authorized, "captured_within_authorized", "captured \(captured) of authorized \(authorized)")
        check(
            Int64.saturating(captured, plus: inFlight(.capture)) <= authorized, "captures_in_flight_reserved",
            "captured \(captured) + in flight \(inFlight(.capture)) > authorized \(authorized)")
        check(0 <= refunded && refunded <= captured, "refunded_within_captured", "refunded \(refunded) of captured \(captured)")
        check(
            Int64.saturating(.saturating(refunded, plus: inFlight(.refund)), plus: disputedMinorUnits) <= captured, "refunds_and_disputes_reserved",
            "refunded \(refunded) + in flight \(inFlight(.refund)) + disputed \(disputedMinorUnits) > captured \(captured)")
        check(
            0 <= chargedBack && chargedBack <= Int64.saturating(captured, minus: refunded), "chargeback_within_unrefunded",
            "charged back \(chargedBack) of captured \(captured) - refunded \(refunded)")
        check(disputes.isEmpty || captured > 0, "disputes_need_capture", "a dispute on a payment with nothing captured")

        // Voids: only before any capture, or to release the rest after a partial capture.
        let voids = transactions.filter { $0.kind == .void }
        check(voids.filter { $0.status == .succeeded }.count <= 1, "one_void", "more than one void succeeded")
        check(voids.filter(\.status.isInFlight).count <= 1, "one_void_in_flight", "more than one void in flight")
        if let void = voids.first(where: { $0.status == .succeeded }) {
            check(
                Int64.saturating(captured, plus: void.amount.minorUnits) == authorized, "void_releases_the_rest",
                "void of \(void.amount.minorUnits) with captured \(captured) of authorized \(authorized)")
            check(
                !transactions.contains { $0.kind == .capture && $0.sequence > void.sequence && $0.status != .failed },
                "no_capture_after_void", "a capture after void \(void.id)")
        }
        if voids.contains(where: { $0.status != .failed }) {
            let blocking = transactions.filter { $0.kind == .capture && $0.status.isInFlight }
            check(blocking.isEmpty, "no_capture_racing_void", "capture \(blocking.first?.id ?? "") in flight beside a void")
        }

        // Disputes: chargebacks within the disputed amount; a won dispute reversed exactly; a
        // lost or accepted one charged back in full.
        for dispute in disputes {
            let net = chargedBackMinorUnits(disputeID: dispute.id)
            check(
                0 <= net && net <= dispute.amount.minorUnits, "chargeback_within_dispute",
                "dispute \(dispute.id) of \(dispute.amount.minorUnits) has \(net) charged back")
            switch dispute.status {
            case .won:
                check(net == 0, "won_dispute_reversed_exactly", "won dispute \(dispute.id) still has \(net) charged back")
            case .lost, .accepted:
                check(
                    net == dispute.amount.minorUnits, "lost_dispute_charged_back",
                    "\(dispute.status.rawValue) dispute \(dispute.id) of \(dispute.amount.minorUnits) has \(net) charged back")
            case .needsResponse, .underReview:
                break
            }
            check(
                (dispute.closedAt != nil) == !dispute.status.isOpen, "closed_iff_decided",
                "dispute \(dispute.id) is \(dispute.status.rawValue) with closedAt \(String(describing: dispute.closedAt))")
        }

        // The derived status agrees with the amounts it summarises.
        found += statusConsistency()

        if let previous {
            found += transitionViolations(from: previous)
        }
        return found
    }

    private func statusConsistency() -> [InvariantViolation] {
        let status = status
        let authorization = authorization
        let consistent: Bool
        switch status {
        case .requiresAction: consistent = authorization.status == .pending && authorization.requiresAction
        case .processing: consistent = (authorization.status == .pending && !authorization.requiresAction) || authorization.status == .unknown
        case .declined, .failed: consistent = authorization.status == .failed && transactions.count == 1
        case .authorized: consistent = authorizedMinorUnits > 0 && capturedMinorUnits == 0 && !isRemainderReleased
        case .partiallyCaptured:
            consistent = capturedMinorUnits > 0 && capturedMinorUnits < authorizedMinorUnits && !isRemainderReleased
                && refundedMinorUnits == 0
        case .captured:
            consistent = capturedMinorUnits > 0 && refundedMinorUnits == 0
                && (capturedMinorUnits == authorizedMinorUnits || isRemainderReleased)
        case .partiallyRefunded: consistent = refundedMinorUnits > 0 && refundedMinorUnits < capturedMinorUnits
        case .refunded: consistent = refundedMinorUnits > 0 && refundedMinorUnits == capturedMinorUnits
        case .voided: consistent = hasSucceededVoid && capturedMinorUnits == 0
        case .expired: consistent = expiredAt != nil && capturedMinorUnits == 0 && !hasSucceededVoid
        case .disputed: consistent = disputes.contains { $0.status.isOpen }
        case .chargedBack: consistent = chargedBackMinorUnits > 0 && !disputes.contains { $0.status.isOpen }
        }
        guard consistent else {
            return [InvariantViolation(invariant: "status_consistent", detail: "status \(status.rawValue) disagrees with the amounts")]
        }
        return []
    }

    private func transitionViolations(from previous: Payment) -> [InvariantViolation] {
        var found: [InvariantViolation] = []
        func check(_ holds: Bool, _ invariant: String, _ detail: @autoclosure () -> String) {
            if !holds { found.append(InvariantViolation(invariant: invariant, detail: detail())) }
        }
        check(
            id == previous.id && amount == previous.amount && createdAt == previous.createdAt, "identity_fixed",
            "id, amount or creation time changed")
        check(transactions.count >= previous.transactions.count, "history_append_only", "transactions disappeared")
        for (before, after) in zip(previous.transactions, transactions) {
            check(
                before.id == after.id && before.kind == after.kind && before.sequence == after.sequence
                    && before.amount == after.amount, "history_append_only", "transaction \(before.id) was rewritten")
            if before.status.isTerminal {
                check(before == after, "terminal_transactions_frozen", "\(before.id) changed after \(before.status.rawValue)")
            }
        }
        check(disputes.count >= previous.disputes.count, "disputes_append_only", "disputes disappeared")
        for (before, after) in zip(previous.disputes, disputes) {
            check(before.id == after.id && before.amount == after.amount, "disputes_append_only", "dispute \(before.id) was rewritten")
            check(after.stage >= before.stage, "dispute_stage_forward", "dispute \(before.id) went from \(before.stage) to \(after.stage)")
            if !before.status.isOpen {
                check(before == after, "decided_disputes_frozen", "dispute \(before.id) changed after \(before.status.rawValue)")
            }
        }
        if previous.expiredAt != nil {
            check(expiredAt == previous.expiredAt, "expiry_fixed", "the expiry time changed")
        }
        check(capturedMinorUnits >= previous.capturedMinorUnits, "captured_never_decreases", "captured went down")
        check(refundedMinorUnits >= previous.refundedMinorUnits, "refunded_never_decreases", "refunded went down")
        return found
    }
}
