/// A payment-level row: an operation on a payment, by the payment's derived status.
public typealias PaymentRule = TransitionRule<Payment, PaymentStatus, CheckoutOperation>
/// A dispute-level row: an operation on one dispute, by the dispute's status.
public typealias DisputeRule = TransitionRule<DisputeSubject, DisputeStatus, CheckoutOperation>
/// A resolution row: an outcome reported for a transaction, by the transaction's status.
public typealias ResolutionRule = TransitionRule<Transaction, TransactionStatus, ReportedOutcome>

/// A dispute and, for the operations that name one, the stage the event speaks of (the
/// stage an escalation goes to, the stage evidence answers).
public struct DisputeSubject: Sendable {
    public let dispute: Dispute
    public let stage: DisputeStage?

    public init(_ dispute: Dispute, stage: DisputeStage? = nil) {
        self.dispute = dispute
        self.stage = stage
    }
}

/// The outcome a gateway reports for a transaction, without its details.
public enum ReportedOutcome: String, Hashable, Sendable, CaseIterable {
    case succeeded, failed, unknown, requiresAction
}

/// Which table decides an operation.
public enum CheckoutScope: Sendable, Hashable {
    /// ``CheckoutTable/payment``, by the payment's status.
    case payment
    /// ``CheckoutTable/dispute``, by the dispute's status.
    case dispute
    /// ``CheckoutTable/resolution``, by the transaction's status.
    case transaction
}

extension CheckoutOperation {
    public var scope: CheckoutScope {
        switch self {
        case .authorize, .capture, .recordCapture, .void, .refund, .recordRefund, .expire, .openDispute: .payment
        case .escalateDispute, .submitEvidence, .acceptDispute, .winDispute, .loseDispute, .recordChargeback,
            .recordChargebackReversal:
            .dispute
        case .resolve: .transaction
        }
    }
}

/// The checkout state machine as data, read top to bottom: the whole machine is in this file.
///
/// Every operation first finds its row here (the first row that matches decides; an
/// operation no row speaks for is refused); only then do amount guards run (capturable,
/// refundable, disputable). Rules that hold before any row:
/// - Creating a payment writes its pending authorization; there is no other way to authorize.
/// - Events are deduplicated before the table: a dispute id already opened, or a gateway
///   reference already recorded for the same kind with the same amount, is ``Change/unchanged``
///   in every status; the same reference with another amount is a conflict.
/// - Every refusal leaves the payment exactly as it was.
///
/// `to` is where the payment may stand once the operation's transaction succeeds (an
/// operation Till starts writes a pending transaction first, which changes no status).
public enum CheckoutTable {
    private static let capturable: Set<PaymentStatus> = [.authorized, .partiallyCaptured, .partiallyRefunded]
    private static let withCaptures: Set<PaymentStatus> = [.partiallyCaptured, .captured, .partiallyRefunded, .chargedBack]
    private static let openDispute: Set<DisputeStatus> = [.needsResponse, .underReview]
    private static let everyDispute = Set(DisputeStatus.allCases)

    static let voidInFlight = TransitionGuard<Payment>("a void is pending or unknown") {
        $0.transactions.contains { $0.kind == .void && $0.status.isInFlight }
    }
    static let finalCaptureInFlight = TransitionGuard<Payment>("a final capture is pending or unknown") {
        $0.transactions.contains { $0.kind == .capture && $0.isFinalCapture && $0.status.isInFlight }
    }
    static let captureOrVoidInFlight = TransitionGuard<Payment>("a capture or void is pending or unknown") {
        $0.transactions.contains { ($0.kind == .capture || $0.kind == .void) && $0.status.isInFlight }
    }
    static let nothingToRelease = TransitionGuard<Payment>("nothing uncaptured is left") {
        $0.isRemainderReleased || $0.capturedMinorUnits >= $0.authorizedMinorUnits
    }
    static let stageNotLater = TransitionGuard<DisputeSubject>("the stage is not later than the dispute's") {
        guard let stage = $0.stage else { return false }
        return stage <= $0.dispute.stage
    }
    static let evidenceForEarlierStage = TransitionGuard<DisputeSubject>("the evidence answers an earlier stage") {
        guard let stage = $0.stage else { return false }
        return stage < $0.dispute.stage
    }
    static let atInquiry = TransitionGuard<DisputeSubject>("the dispute is at the inquiry stage") {
        $0.dispute.stage == .inquiry
    }
    static let notAnAuthorization = TransitionGuard<Transaction>("the transaction is not an authorization") {
        $0.kind != .authorize
    }
    static let challengeMarked = TransitionGuard<Transaction>("the challenge is already marked") {
        $0.requiresAction
    }

    /// Payment-level operations, by the payment's derived status.
    public static let payment = TransitionTable<Payment, PaymentStatus, CheckoutOperation>([
        .refuse(
            "authorize_after_creation", .authorize, from: Set(PaymentStatus.allCases),
            why: "A payment is authorized once, by its creation; a second authorization is a new payment."),

        .refuse(
            "capture_while_void_in_flight", .capture, from: capturable, when: voidInFlight,
            code: CheckoutError.Code.operationInFlight.rawValue,
            why: "The void may have released the authorization; capture after it resolves."),
        .refuse(
            "capture_while_final_capture_in_flight", .capture, from: capturable, when: finalCaptureInFlight,
            code: CheckoutError.Code.operationInFlight.rawValue,
            why: "A final capture releases the rest when it succeeds; nothing may be captured beside it."),
        .allow(
            "capture", .capture, from: capturable, to: [.partiallyCaptured, .captured, .partiallyRefunded],
            why: "Only an authorization with something left can be captured; partiallyRefunded "
                + "may still have an uncaptured rest. Disputed payments are frozen."),

        .refuse(
            "record_capture_while_void_in_flight", .recordCapture, from: capturable, when: voidInFlight,
            code: CheckoutError.Code.operationInFlight.rawValue,
            why: "As for a capture Till starts: the void's outcome decides what is left."),
        .refuse(
            "record_capture_while_final_capture_in_flight", .recordCapture, from: capturable,
            when: finalCaptureInFlight, code: CheckoutError.Code.operationInFlight.rawValue,
            why: "As for a capture Till starts: the final capture's outcome decides what is left."),
        .allow(
            "record_capture", .recordCapture, from: capturable, to: [.partiallyCaptured, .captured, .partiallyRefunded],
            why: "A capture made outside Till obeys the same limits; one the table refuses is "
                + "a contradiction for a person to look at, not something to drop."),

        .refuse(
            "void_while_capture_or_void_in_flight", .void, from: capturable, when: captureOrVoidInFlight,
            code: CheckoutError.Code.operationInFlight.rawValue,
            why: "What is left to release is known only once those resolve."),
        .allow(
            "void", .void, from: capturable, to: [.voided, .captured, .partiallyRefunded],
            why: "A void releases the uncaptured rest: before any capture, or after a partial "
                + "one. A second void is a mistake, not a replay (replays are idempotency keys)."),

        .allow(
            "refund", .refund, from: withCaptures, to: [.partiallyRefunded, .refunded, .chargedBack],
            why: "Only captured money can be refunded, less refunds, in-flight refunds and "
                + "disputed amounts. Till starts no refund while a dispute is open."),
        .allow(
            "record_refund", .recordRefund, from: withCaptures.union([.disputed]),
            to: [.partiallyRefunded, .refunded, .chargedBack, .disputed],
            why: "A refund made in the gateway's dashboard is recorded if it fits the refundable "
                + "amount, even during a dispute (the gateway allowed it)."),

        .ignore(
            "expire_late", .expire, from: [.expired, .voided],
            why: "After a void or an earlier expiry, an expiry is a late event."),
        .ignore(
            "expire_with_nothing_left", .expire,
            from: [.authorized, .partiallyCaptured, .partiallyRefunded, .captured, .refunded, .disputed, .chargedBack],
            when: nothingToRelease, why: "Expiry releases what was not captured; with nothing left it changes nothing."),
        .allow(
            "expire", .expire,
            from: [.authorized, .partiallyCaptured, .partiallyRefunded, .captured, .refunded, .disputed, .chargedBack],
            to: [.expired, .captured, .partiallyRefunded, .refunded, .disputed, .chargedBack],
            why: "Expiry releases whatever was not captured. An authorization still processing or "
                + "refused cannot expire: reconcile it first."),

        .allow(
            "open_dispute", .openDispute, from: withCaptures.union([.disputed]), to: [.disputed],
            why: "Only captured, unrefunded money can be disputed; a dispute on anything else "
                + "contradicts our records."),
    ])

    /// What a reported outcome does to a transaction, by the transaction's current status.
    public static let resolution = TransitionTable<Transaction, TransactionStatus, ReportedOutcome>([
        .allow("pending_succeeded", .succeeded, from: [.pending], to: [.succeeded], why: "the call's answer"),
        .allow("pending_failed", .failed, from: [.pending], to: [.failed], why: "the call's answer"),
        .allow(
            "pending_unknown", .unknown, from: [.pending], to: [.unknown],
            why: "the answer was lost; its amount stays reserved"),
        .refuse(
            "challenge_on_non_authorization", .requiresAction, from: [.pending], when: notAnAuthorization,
            code: CheckoutError.Code.conflictingOutcome.rawValue,
            why: "only an authorization can require a 3-D Secure challenge"),
        .ignore(
            "challenge_again", .requiresAction, from: [.pending], when: challengeMarked,
            why: "the challenge was already reported"),
        .allow(
            "pending_requires_action", .requiresAction, from: [.pending], to: [.pending],
            why: "a 3-D Secure challenge; stays pending, marked"),
        .allow("unknown_succeeded", .succeeded, from: [.unknown], to: [.succeeded], why: "reconciled"),
        .allow("unknown_failed", .failed, from: [.unknown], to: [.failed], why: "reconciled"),
        .ignore("unknown_unknown", .unknown, from: [.unknown], why: "still lost"),
        .ignore(
            "unknown_requires_action", .requiresAction, from: [.unknown],
            why: "late: a challenge reported after the outcome was lost; only succeeded or failed settle it"),
        .ignore("succeeded_succeeded", .succeeded, from: [.succeeded], why: "duplicate"),
        .refuse(
            "succeeded_failed", .failed, from: [.succeeded], code: CheckoutError.Code.conflictingOutcome.rawValue,
            why: "contradiction: money moved and the gateway now says it did not"),
        .ignore("succeeded_unknown", .unknown, from: [.succeeded], why: "late: a timeout noticed after the webhook arrived"),
        .ignore("succeeded_requires_action", .requiresAction, from: [.succeeded], why: "late: the challenge was completed"),
        .refuse(
            "failed_succeeded", .succeeded, from: [.failed], code: CheckoutError.Code.conflictingOutcome.rawValue,
            why: "contradiction: a failed operation never succeeds later"),
        .ignore("failed_failed", .failed, from: [.failed], why: "duplicate"),
        .ignore("failed_unknown", .unknown, from: [.failed], why: "late"),
        .ignore("failed_requires_action", .requiresAction, from: [.failed], why: "late"),
    ])

    /// Dispute-level operations, by the dispute's status. Stages only move forward.
    public static let dispute = TransitionTable<DisputeSubject, DisputeStatus, CheckoutOperation>([
        .ignore(
            "escalate_to_same_or_earlier_stage", .escalateDispute, from: everyDispute, when: stageNotLater,
            why: "stages only move forward: an escalation to the current or an earlier stage is late"),
        .allow(
            "escalate", .escalateDispute, from: openDispute, to: [.needsResponse],
            why: "inquiry -> chargeback -> preArbitration while open; the dispute needs a response again"),

        .ignore(
            "evidence_for_earlier_stage", .submitEvidence, from: everyDispute, when: evidenceForEarlierStage,
            why: "evidence for a stage the dispute has left is a late event"),
        .allow(
            "submit_evidence", .submitEvidence, from: [.needsResponse], to: [.underReview],
            why: "evidence once per stage"),
        .ignore(
            "evidence_again", .submitEvidence, from: [.underReview],
            why: "a second submission while under review is a duplicate"),

        .allow(
            "accept", .acceptDispute, from: openDispute, to: [.accepted],
            why: "accepting charges the whole disputed amount back, like losing"),
        .ignore("accept_again", .acceptDispute, from: [.accepted], why: "duplicate"),

        .allow(
            "win", .winDispute, from: openDispute, to: [.won],
            why: "winning reverses every charged-back amount exactly"),
        .ignore("win_again", .winDispute, from: [.won], why: "duplicate; won after lost is a contradiction"),

        .allow(
            "lose", .loseDispute, from: openDispute, to: [.lost],
            why: "losing charges the whole disputed amount back"),
        .ignore(
            "lose_again", .loseDispute, from: [.lost, .accepted],
            why: "duplicate; the gateway reports an accepted dispute as lost"),

        .refuse(
            "chargeback_at_inquiry", .recordChargeback, from: openDispute, when: atInquiry,
            why: "no money moves at the inquiry stage; a withdrawal there contradicts the dispute's stage"),
        .allow(
            "record_chargeback", .recordChargeback, from: openDispute, to: openDispute,
            why: "funds withdrawn while the dispute is fought; its status does not change"),
        .ignore(
            "chargeback_after_outcome", .recordChargeback, from: [.won, .lost, .accepted],
            why: "after the outcome the amount is already settled, so a withdrawal reported late changes nothing"),

        .allow(
            "record_chargeback_reversal", .recordChargebackReversal, from: openDispute, to: openDispute,
            why: "funds reinstated while the dispute is fought; its status does not change"),
        .ignore(
            "reversal_after_win", .recordChargebackReversal, from: [.won],
            why: "a won dispute was already reversed exactly; reinstatement after a loss is a contradiction"),
    ])
}

extension TransactionOutcome {
    /// The outcome's row key in ``CheckoutTable/resolution``.
    public var reported: ReportedOutcome {
        switch self {
        case .succeeded: .succeeded
        case .failed: .failed
        case .unknown: .unknown
        case .requiresAction: .requiresAction
        }
    }
}
