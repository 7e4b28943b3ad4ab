import Foundation

// The store as the rest of Till sees it: one protocol per group of tables, each method one
// durable transaction, and `write` for work that must commit rows of several groups
// together. ``Store`` implements them all over SQLite; a second backend (PostgreSQL)
// implements the same protocols, and nothing above the store changes.

/// Merchants and their API keys.
public protocol MerchantStore: Sendable {
    func insert(merchant: MerchantRecord) async throws
    func merchant(id: String) async throws -> MerchantRecord?
    func merchants() async throws -> [MerchantRecord]
    func insert(apiKey: APIKeyRecord) async throws
    func apiKey(hash: String) async throws -> APIKeyRecord?
    func apiKeys(merchantID: String) async throws -> [APIKeyRecord]
    func revokeAPIKey(id: String, at date: Date) async throws -> APIKeyRecord?
}

/// `Idempotency-Key` records, scoped to the merchant and the kind of API key.
public protocol IdempotencyStore: Sendable {
    func beginIdempotency(
        merchantID: String, keyKind: APIKeyRecord.Kind, key: String, requestHash: String, now: Date, retention: TimeInterval
    ) async throws -> IdempotencyDecision
    func idempotencyDecision(
        merchantID: String, keyKind: APIKeyRecord.Kind, key: String, requestHash: String, now: Date, retention: TimeInterval
    ) async throws -> IdempotencyDecision
    func completeIdempotency(
        merchantID: String, keyKind: APIKeyRecord.Kind, key: String, requestHash: String, createdAt: Date, status: Int,
        body: Data
    ) async throws
    func abandonIdempotency(merchantID: String, keyKind: APIKeyRecord.Kind, key: String) async throws
    func purgeIdempotency(before date: Date) async throws -> Int
}

/// Payments, the ids that lead to them, and the gateway events and deliveries applied.
public protocol PaymentStore: Sendable {
    func insert(_ write: PaymentWrite) async throws
    func update(_ write: PaymentWrite, expectedVersion: Int) async throws
    func recordGatewayEvent(gateway: String, eventID: String, at date: Date) async throws -> Bool
    func hasGatewayEvent(gateway: String, eventID: String) async throws -> Bool
    func hasGatewayDelivery(gateway: String, deliveryID: String) async throws -> Bool
    func recordGatewayDelivery(gateway: String, deliveryID: String, at date: Date) async throws -> Bool
    func purgeGatewayDeliveries(before date: Date) async throws -> Int
    func payment(id: String, merchantID: String) async throws -> PaymentRecord?
    func payment(id: String) async throws -> PaymentRecord?
    func payment(childKey: String) async throws -> PaymentRecord?
    func childKeys(prefix: String, merchantID: String) async throws -> [PaymentChildRecord]
    func payments(merchantID: String, status: String?, startingAfter: String?, limit: Int) async throws -> Page<PaymentRecord>
    func inFlightPayments(limit: Int) async throws -> [PaymentRecord]
}

/// Events, and the outbox that delivers them to webhook endpoints.
public protocol EventStore: Sendable {
    func events(
        merchantID: String, type: String?, paymentID: String?, startingAfter: String?, limit: Int
    ) async throws -> Page<EventRecord>
    func event(id: String, merchantID: String) async throws -> EventRecord?
    func dueDeliveries(now: Date, limit: Int) async throws -> [DueDelivery]
    func recordAttempt(_ attempt: DeliveryAttemptRecord, outbox: OutboxRecord) async throws
    func deliveries(eventID: String, merchantID: String) async throws -> [(OutboxRecord, [DeliveryAttemptRecord])]
    func outboxDepth() async throws -> Int
}

/// Merchants' webhook endpoints.
public protocol WebhookEndpointStore: Sendable {
    func insert(endpoint: WebhookEndpointRecord) async throws
    func endpoints(merchantID: String) async throws -> [WebhookEndpointRecord]
    func deleteEndpoint(id: String, merchantID: String, at date: Date) async throws -> Bool
    func rotateEndpointSecret(id: String, merchantID: String, secret: String) async throws -> WebhookEndpointRecord?
}

/// Billing's documents and counters, read outside a transaction. Writes go through
/// ``TransactionalStore/write(_:)``, so that a document, the documents it changes with it, its
/// events and its counters commit together.
public protocol BillingStore: Sendable {
    func billingObject(id: String, merchantID: String) async throws -> BillingObjectRecord?
    /// Newest first, `limit` at most, after the object `startingAfter` in that order.
    func billingObjects(
        merchantID: String, matching query: BillingObjectQuery, startingAfter: String?, limit: Int
    ) async throws -> Page<BillingObjectRecord>
    /// Objects whose `due_at` has come on the given clock (`nil`: real time, objects on no
    /// test clock), earliest first.
    func dueBillingObjects(clockID: String?, now: Date, limit: Int) async throws -> [BillingObjectRecord]
}

/// One durable transaction, open: what a ``TransactionalStore/write(_:)`` body may write.
/// Everything written through it commits together or not at all, and the write returns
/// only once it is on disk.
public protocol StoreTransaction {
    /// A new payment with its child ids, events (and their outbox rows), gateway event and
    /// idempotency claim; a child id that already leads to a payment is
    /// ``StoreConflict/duplicateChildKey(key:)`` and nothing of the whole transaction is kept.
    func insert(_ write: PaymentWrite) throws
    /// A changed payment, if its version is still `expectedVersion` (else ``StoreConflict``
    /// and nothing of the whole transaction is kept).
    func update(_ write: PaymentWrite, expectedVersion: Int) throws
    /// Records a gateway event; `false` if it was already recorded.
    func recordGatewayEvent(gateway: String, eventID: String, at date: Date) throws -> Bool
    /// Saves an idempotency record (a claim, or a claim with its answer).
    func save(idempotency record: IdempotencyRecord) throws

    /// A billing object as this transaction sees it (read-modify-write happens inside one
    /// transaction, so nothing can change between the read and the write).
    func billingObject(id: String, merchantID: String) throws -> BillingObjectRecord?
    /// Every billing object matching `query`, oldest first (for the few a document needs:
    /// a customer's subscriptions, an invoice's credit notes).
    func billingObjects(merchantID: String, matching query: BillingObjectQuery) throws -> [BillingObjectRecord]
    /// A new billing object (``BillingStoreConflict/duplicateID(_:)`` or
    /// ``BillingStoreConflict/duplicateNumber(_:)`` if taken).
    func insert(billing record: BillingObjectRecord) throws
    /// A changed billing object, if its version is still `expectedVersion`; its version
    /// becomes `expectedVersion + 1` (else ``BillingStoreConflict/staleVersion(id:)``).
    func update(billing record: BillingObjectRecord, expectedVersion: Int) throws
    /// The next value of a merchant's named counter (1 first): gapless, because it advances
    /// only with a transaction that commits.
    func nextSequenceValue(merchantID: String, name: String) throws -> Int64
    /// Events not tied to a payment (billing's), with their outbox rows to every endpoint.
    func insert(events: [EventRecord]) throws

    /// Usage events; for each, `true` if it is new and `false` if an event with its id was
    /// already stored for its customer (the stored one is kept, unchanged).
    func insert(usage events: [UsageEventRecord]) throws -> [Bool]
    /// Aggregates one customer's usage of one metric over a period, inside the transaction.
    func aggregate(usage query: UsageQuery) throws -> UsageAggregate
}

/// Usage reads outside a transaction.
public protocol UsageStore: Sendable {
    func aggregate(usage query: UsageQuery) async throws -> UsageAggregate
    /// How many usage events a merchant has stored (for the benchmark and the operator).
    func usageEventCount(merchantID: String) async throws -> Int
}

/// A store whose writes of several table groups can share one durable transaction: how
/// billing will save an invoice with the payment that collects it, the outbox row and the
/// idempotency record, in one commit.
public protocol TransactionalStore: Sendable {
    /// Runs `body` in a transaction and returns its result once the transaction is durable.
    /// A `body` that throws writes nothing and its error is rethrown. It must not block:
    /// it runs on the store's writer, beside other callers' writes.
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T
}
