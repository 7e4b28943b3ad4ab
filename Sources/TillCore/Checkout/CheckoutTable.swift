/// What the transition table says about an operation in a given state.
public enum Verdict: String, Hashable, Sendable, Codable {
    /// The state allows it; amount and in-flight guards still apply.
    case allowed
    /// A duplicated or late event: returns ``Change/unchanged`` and changes nothing.
    case ignored
    /// Refused with ``CheckoutError/Code/notAllowed``, naming the state; changes nothing.
    case refused
}

/// One row of the payment table: where an operation may start.
public struct PaymentRule: Hashable, Sendable {
    public let operation: CheckoutOperation
    public let allowed: Set<PaymentStatus>
    public let ignored: Set<PaymentStatus>
    /// Why the row is what it is.
    public let why: String

    /// The row's verdict for a payment in `status`.
    public func verdict(in status: PaymentStatus) -> Verdict {
        if allowed.contains(status) { return .allowed }
        if ignored.contains(status) { return .ignored }
        return .refused
    }
}

/// One row of the resolution table: an outcome reported for a transaction in a status.
public struct ResolutionRule: Hashable, Sendable {
    /// The outcome reported, without its details.
    public enum Reported: String, Hashable, Sendable, CaseIterable {
        case succeeded, failed, unknown, requiresAction
    }

    public let current: TransactionStatus
    public let reported: Reported
    /// `.refused` here means a contradiction: ``CheckoutError/Code/conflictingOutcome``.
    public let verdict: Verdict
    public let why: String
}

/// One row of the dispute table: an operation on a dispute in a status.
public struct DisputeRule: Hashable, Sendable {
    public let operation: CheckoutOperation
    public let allowed: Set<DisputeStatus>
    public let ignored: Set<DisputeStatus>
    public let why: String

    /// The row's verdict for a dispute in `status`.
    public func verdict(in status: DisputeStatus) -> Verdict {
        if allowed.contains(status) { return .allowed }
        if ignored.contains(status) { return .ignored }
        return .refused
    }
}

/// The checkout state machine as data, read top to bottom.
///
/// Every operation first checks its row here; only then do amount guards run (capturable,
/// refundable, disputable) and in-flight guards (nothing races a pending void). Rules that
/// hold before any row:
/// - Creating a payment writes its pending authorization; there is no other way to authorize.
/// - Events are deduplicated before the table: a dispute id already opened, or a gateway
///   reference already recorded for the same kind with the same amount, is ``Change/unchanged``
///   in every status; the same reference with another amount is a conflict.
/// - Every refusal leaves the payment exactly as it was.
public enum CheckoutTable {
    /// Payment-level operations, by the payment's derived status. Statuses not listed
    /// are refused.
    public static let payment: [PaymentRule] = [
        PaymentRule(
            operation: .capture,
            allowed: [.authorized, .partiallyCaptured, .partiallyRefunded],
            ignored: [],
            why: "Only an authorization with something left can be captured; partiallyRefunded "
                + "may still have an uncaptured rest. Disputed payments are frozen."),
        PaymentRule(
            operation: .recordCapture,
            allowed: [.authorized, .partiallyCaptured, .partiallyRefunded],
            ignored: [],
            why: "A capture made outside Till obeys the same limits; one the table refuses is "
                + "a contradiction for a person to look at, not something to drop."),
        PaymentRule(
            operation: .void,
            allowed: [.authorized, .partiallyCaptured, .partiallyRefunded],
            ignored: [],
            why: "A void releases the uncaptured rest: before any capture, or after a partial "
                + "one. A second void is a mistake, not a replay (replays are idempotency keys)."),
        PaymentRule(
            operation: .refund,
            allowed: [.partiallyCaptured, .captured, .partiallyRefunded, .chargedBack],
            ignored: [],
            why: "Only captured money can be refunded, less refunds, in-flight refunds and "
                + "disputed amounts. Till starts no refund while a dispute is open."),
        PaymentRule(
            operation: .recordRefund,
            allowed: [.partiallyCaptured, .captured, .partiallyRefunded, .chargedBack, .disputed],
            ignored: [],
            why: "A refund made in the gateway's dashboard is recorded if it fits the refundable "
                + "amount, even during a dispute (the gateway allowed it)."),
        PaymentRule(
            operation: .expire,
            allowed: [.authorized, .partiallyCaptured, .partiallyRefunded, .captured, .refunded,
                      .disputed, .chargedBack],
            ignored: [.expired, .voided],
            why: "Expiry releases whatever was not captured; if nothing was left it changes "
                + "nothing. After a void or an earlier expiry it is a late event. An authorization "
                + "still processing or refused cannot expire: reconcile it first."),
        PaymentRule(
            operation: .openDispute,
            allowed: [.partiallyCaptured, .captured, .partiallyRefunded, .disputed, .chargedBack],
            ignored: [],
            why: "Only captured, unrefunded money can be disputed; a dispute on anything else "
                + "contradicts our records."),
    ]

    /// What a reported outcome does to a transaction, by the transaction's current status.
    public static let resolution: [ResolutionRule] = [
        ResolutionRule(current: .pending, reported: .succeeded, verdict: .allowed, why: "the call's answer"),
        ResolutionRule(current: .pending, reported: .failed, verdict: .allowed, why: "the call's answer"),
        ResolutionRule(current: .pending, reported: .unknown, verdict: .allowed,
                       why: "the answer was lost; its amount stays reserved"),
        ResolutionRule(current: .pending, reported: .requiresAction, verdict: .allowed,
                       why: "authorizations only: a 3-D Secure challenge; stays pending, marked"),
        ResolutionRule(current: .unknown, reported: .succeeded, verdict: .allowed, why: "reconciled"),
        ResolutionRule(current: .unknown, reported: .failed, verdict: .allowed, why: "reconciled"),
        ResolutionRule(current: .unknown, reported: .unknown, verdict: .ignored, why: "still lost"),
        ResolutionRule(current: .unknown, reported: .requiresAction, verdict: .ignored,
                       why: "late: a challenge reported after the outcome was lost; only succeeded or failed settle it"),
        ResolutionRule(current: .succeeded, reported: .succeeded, verdict: .ignored, why: "duplicate"),
        ResolutionRule(current: .succeeded, reported: .failed, verdict: .refused,
                       why: "contradiction: money moved and the gateway now says it did not"),
        ResolutionRule(current: .succeeded, reported: .unknown, verdict: .ignored,
                       why: "late: a timeout noticed after the webhook arrived"),
        ResolutionRule(current: .succeeded, reported: .requiresAction, verdict: .ignored,
                       why: "late: the challenge was completed"),
        ResolutionRule(current: .failed, reported: .succeeded, verdict: .refused,
                       why: "contradiction: a failed operation never succeeds later"),
        ResolutionRule(current: .failed, reported: .failed, verdict: .ignored, why: "duplicate"),
        ResolutionRule(current: .failed, reported: .unknown, verdict: .ignored, why: "late"),
        ResolutionRule(current: .failed, reported: .requiresAction, verdict: .ignored, why: "late"),
    ]

    /// Dispute-level operations, by the dispute's status. Stages only move forward: an
    /// escalation to the current or an earlier stage is ``Change/unchanged``.
    public static let dispute: [DisputeRule] = [
        DisputeRule(
            operation: .escalateDispute, allowed: [.needsResponse, .underReview], ignored: [],
            why: "inquiry -> chargeback -> preArbitration while open; the dispute needs a response again"),
        DisputeRule(
            operation: .submitEvidence, allowed: [.needsResponse], ignored: [.underReview],
            why: "evidence once per stage; a second submission while under review is a duplicate"),
        DisputeRule(
            operation: .acceptDispute, allowed: [.needsResponse, .underReview], ignored: [.accepted],
            why: "accepting charges the whole disputed amount back, like losing"),
        DisputeRule(
            operation: .winDispute, allowed: [.needsResponse, .underReview], ignored: [.won],
            why: "winning reverses every charged-back amount exactly; won after lost is a contradiction"),
        DisputeRule(
            operation: .loseDispute, allowed: [.needsResponse, .underReview], ignored: [.lost, .accepted],
            why: "losing charges the whole disputed amount back; the gateway reports an accepted "
                + "dispute as lost"),
        DisputeRule(
            operation: .recordChargeback, allowed: [.needsResponse, .underReview],
            ignored: [.won, .lost, .accepted],
            why: "funds withdrawn while the dispute is fought; after the outcome the amount is already "
                + "settled, so a withdrawal reported late changes nothing"),
        DisputeRule(
            operation: .recordChargebackReversal, allowed: [.needsResponse, .underReview],
            ignored: [.won],
            why: "funds reinstated; a won dispute was already reversed exactly; reinstatement "
                + "after a loss is a contradiction"),
    ]

    /// The payment row for an operation, if it has one.
    public static func rule(for operation: CheckoutOperation) -> PaymentRule? {
        payment.first { $0.operation == operation }
    }

    /// The dispute row for an operation, if it has one.
    public static func disputeRule(for operation: CheckoutOperation) -> DisputeRule? {
        dispute.first { $0.operation == operation }
    }

    /// The resolution row for a reported outcome.
    public static func resolutionVerdict(
        current: TransactionStatus, reported: ResolutionRule.Reported
    ) -> Verdict {
        resolution.first { $0.current == current && $0.reported == reported }?.verdict ?? .refused
    }
}

extension TransactionOutcome {
    /// The outcome's row key in ``CheckoutTable/resolution``.
    public var reported: ResolutionRule.Reported {
        switch self {
        case .succeeded: .succeeded
        case .failed: .failed
        case .unknown: .unknown
        case .requiresAction: .requiresAction
        }
    }
}
