import Foundation
import GRDB

/// Why a store operation was refused.
public enum StoreConflict: Error, Sendable, Hashable {
    /// The payment changed since it was read (its version moved): read it again and retry.
    case staleVersion(paymentID: String)
    /// The gateway event was already applied; nothing was written.
    case duplicateGatewayEvent(gateway: String, eventID: String)
    /// A new payment's child key already leads to another payment (a caller's idempotency
    /// key, taken by a concurrent write); nothing was written.
    case duplicateChildKey(key: String)
}

/// Everything a state change writes, in one database transaction: the payment, the ids
/// that lead to it, the events it caused (and their outbox rows), and the gateway event
/// that caused it, if any.
public struct PaymentWrite: Sendable {
    public var payment: PaymentRecord
    /// Transaction ids, dispute ids and gateway references that should find this payment.
    /// An insert refuses a key that already leads somewhere (``StoreConflict/duplicateChildKey(key:)``);
    /// an update keeps the first payment a key was recorded for.
    public var childKeys: [String]
    public var events: [EventRecord]
    public var gatewayEvent: (gateway: String, eventID: String)?
    /// The `Idempotency-Key` claim of the request making this write, saved in the same
    /// transaction: the claim is durable before the gateway call the write precedes, at no
    /// extra commit.
    public var idempotencyClaim: IdempotencyRecord?

    public init(
        payment: PaymentRecord, childKeys: [String] = [], events: [EventRecord] = [],
        gatewayEvent: (gateway: String, eventID: String)? = nil, idempotencyClaim: IdempotencyRecord? = nil
    ) {
        self.payment = payment
        self.childKeys = childKeys
        self.events = events
        self.gatewayEvent = gatewayEvent
        self.idempotencyClaim = idempotencyClaim
    }
}

/// What to do with a request that carries an `Idempotency-Key`.
public enum IdempotencyDecision: Sendable, Hashable {
    /// First use: run it, then ``Store/completeIdempotency(merchantID:key:requestHash:createdAt:status:body:)``.
    case proceed
    /// Already answered: send this again.
    case replay(status: Int, body: Data)
    /// The first request with this key is still running.
    case inFlight
    /// The key was used with a different request.
    case mismatch
}

/// One page of a list, newest first.
public struct Page<Element: Sendable>: Sendable {
    public var items: [Element]
    public var hasMore: Bool
}

/// The daemon's narrow store interface over SQLite. Every method is one transaction; no
/// SQL leaks out, so another backend (PostgreSQL) can stand in later.
public final class Store: Sendable {
    public let database: StoreDatabase
    var pool: DatabasePool { database.pool }

    public init(database: StoreDatabase) {
        self.database = database
    }
}
