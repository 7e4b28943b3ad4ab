import Foundation
import Synchronization

/// One movement of money as the sandbox gateway itself saw it.
///
/// Tests reconcile Till's records against this list: every authorization, capture, void,
/// refund and dispute the gateway processed, including the ones whose response was lost.
public struct LedgerEntry: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        case authorization, capture, void, refund, refundFailure = "refund_failure"
        case chargeback, chargebackReversal = "chargeback_reversal"
    }

    /// Sequence number within the sandbox, from 1.
    public var sequence: Int
    public var kind: Kind
    /// The id of the object that moved the money (`ch_…`, `re_…`, a PayPal capture id).
    public var object: String
    /// The payment it belongs to (`pi_…`, a PayPal order id).
    public var payment: String
    /// Minor units of `currency`.
    public var amount: Int64
    /// ISO 4217 code, lower case.
    public var currency: String
    /// The gateway's idempotency key for the request that caused it, if any.
    public var idempotencyKey: String?
    /// Who started an authorization, as its request flagged it in the gateway's
    /// stored-credential terms, spelled the gateway-neutral way (`customer`,
    /// `customer_saving_card`, `merchant`); `nil` for other movements.
    public var initiator: String?
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case sequence, kind, object, payment, amount, currency, initiator
        case idempotencyKey = "idempotency_key"
        case createdAt = "created_at"
    }
}

/// The sandbox's append-only record of money movements. Safe to use from any thread.
public final class Ledger: Sendable {
    private let entries = Mutex<[LedgerEntry]>([])

    public init() {}

    /// Appends a movement and returns it with its sequence number.
    @discardableResult
    public func record(
        _ kind: LedgerEntry.Kind, object: String, payment: String, amount: Int64, currency: String,
        idempotencyKey: String? = nil, initiator: String? = nil, at date: Date
    ) -> LedgerEntry {
        entries.withLock { entries in
            let entry = LedgerEntry(
                sequence: entries.count + 1, kind: kind, object: object, payment: payment,
                amount: amount, currency: currency.lowercased(), idempotencyKey: idempotencyKey,
                initiator: initiator, createdAt: date)
            entries.append(entry)
            return entry
        }
    }

    /// Every movement so far, oldest first.
    public var all: [LedgerEntry] { entries.withLock { $0 } }

    public func reset() { entries.withLock { $0.removeAll() } }
}
