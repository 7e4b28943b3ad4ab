import Foundation
import GRDB

/// Why a store operation was refused.
public enum StoreConflict: Error, Sendable, Hashable {
    /// The payment changed since it was read (its version moved): read it again and retry.
    case staleVersion(paymentID: String)
    /// The gateway event was already applied; nothing was written.
    case duplicateGatewayEvent(gateway: String, eventID: String)
}

/// Everything a state change writes, in one database transaction: the payment, the ids
/// that lead to it, the events it caused (and their outbox rows), and the gateway event
/// that caused it, if any.
public struct PaymentWrite: Sendable {
    public var payment: PaymentRecord
    /// Transaction ids, dispute ids and gateway references that should find this payment.
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
    private var pool: DatabasePool { database.pool }

    public init(database: StoreDatabase) {
        self.database = database
    }

    // MARK: Merchants and API keys

    public func insert(merchant: MerchantRecord) async throws {
        try await database.groupWrite { db in try merchant.insert(db) }
    }

    public func merchant(id: String) async throws -> MerchantRecord? {
        try database.quickRead { db in try MerchantRecord.fetchOne(db, key: id) }
    }

    public func merchants() async throws -> [MerchantRecord] {
        try await pool.read { db in try MerchantRecord.order(Column("created_at")).fetchAll(db) }
    }

    public func insert(apiKey: APIKeyRecord) async throws {
        try await database.groupWrite { db in try apiKey.insert(db) }
    }

    /// The live (not revoked) key with this hash.
    public func apiKey(hash: String) async throws -> APIKeyRecord? {
        try database.quickRead { db in
            try APIKeyRecord.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM api_keys WHERE hash = ? AND revoked_at IS NULL"), arguments: [hash])
        }
    }

    public func apiKeys(merchantID: String) async throws -> [APIKeyRecord] {
        try await pool.read { db in
            try APIKeyRecord.filter(Column("merchant_id") == merchantID).order(Column("created_at")).fetchAll(db)
        }
    }

    /// Revokes a key; returns it, or `nil` when no live key has this id.
    public func revokeAPIKey(id: String, at date: Date) async throws -> APIKeyRecord? {
        try await database.groupWrite { db in
            guard var key = try APIKeyRecord.fetchOne(db, key: id), key.revokedAt == nil else { return nil }
            key.revokedAt = date
            try key.update(db)
            return key
        }
    }

    // MARK: Idempotency
    //
    // Records are scoped to the merchant and the kind of API key (see
    // ``IdempotencyRecord/keyKind``): the same key sent with a publishable and a secret key
    // names two unrelated requests.

    /// Claims `key` for a request hashing to `requestHash`. Records older than `retention`
    /// are forgotten, so the key may be used afresh.
    public func beginIdempotency(
        merchantID: String, keyKind: APIKeyRecord.Kind, key: String, requestHash: String, now: Date, retention: TimeInterval
    ) async throws -> IdempotencyDecision {
        try await database.groupWrite { db in
            let decision = try Self.idempotencyDecision(
                db, merchantID: merchantID, keyKind: keyKind, key: key, requestHash: requestHash, now: now, retention: retention)
            if decision == .proceed {
                // Replaces an expired record under the key, if there is one.
                try Self.upsert(
                    IdempotencyRecord(merchantId: merchantID, keyKind: keyKind, key: key, requestHash: requestHash, createdAt: now), db)
            }
            return decision
        }
    }

    /// What a request with `key` should do, without claiming the key: the caller makes the
    /// claim durable later, with its first write (``PaymentWrite/idempotencyClaim``) or its
    /// answer (``completeIdempotency(merchantID:keyKind:key:requestHash:createdAt:status:body:)``),
    /// and keeps concurrent duplicates out by itself meanwhile.
    public func idempotencyDecision(
        merchantID: String, keyKind: APIKeyRecord.Kind, key: String, requestHash: String, now: Date, retention: TimeInterval
    ) async throws -> IdempotencyDecision {
        try database.quickRead { db in
            try Self.idempotencyDecision(
                db, merchantID: merchantID, keyKind: keyKind, key: key, requestHash: requestHash, now: now, retention: retention)
        }
    }

    /// The decision the record under `key` makes; an expired record counts as none.
    private static func idempotencyDecision(
        _ db: Database, merchantID: String, keyKind: APIKeyRecord.Kind, key: String, requestHash: String, now: Date,
        retention: TimeInterval
    ) throws -> IdempotencyDecision {
        guard
            let existing = try IdempotencyRecord.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM idempotency_keys WHERE merchant_id = ? AND key_kind = ? AND key = ?"),
                arguments: [merchantID, keyKind.rawValue, key]),
            now.timeIntervalSince(existing.createdAt) < retention
        else { return .proceed }
        guard existing.requestHash == requestHash else { return .mismatch }
        if let status = existing.responseStatus, let body = existing.responseBody {
            return .replay(status: status, body: body)
        }
        return .inFlight
    }

    /// Stores the answer to a request whose claim may not have been written yet: claim and
    /// answer are saved together, replacing an expired record under the same key.
    public func completeIdempotency(
        merchantID: String, keyKind: APIKeyRecord.Kind, key: String, requestHash: String, createdAt: Date, status: Int,
        body: Data
    ) async throws {
        try await database.groupWrite { db in
            try Self.upsert(
                IdempotencyRecord(
                    merchantId: merchantID, keyKind: keyKind, key: key, requestHash: requestHash, responseStatus: status,
                    responseBody: body, createdAt: createdAt),
                db)
        }
    }

    private static func upsert(_ record: IdempotencyRecord, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO idempotency_keys (merchant_id, key_kind, key, request_hash, response_status, response_body, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (merchant_id, key_kind, key) DO UPDATE SET
                    request_hash = excluded.request_hash, response_status = excluded.response_status,
                    response_body = excluded.response_body, created_at = excluded.created_at
                """
        ).execute(
            arguments: [
                record.merchantId, record.keyKind.rawValue, record.key, record.requestHash, record.responseStatus,
                record.responseBody, record.createdAt,
            ])
    }

    /// Releases a key whose request stopped before doing anything, so a retry runs afresh.
    public func abandonIdempotency(merchantID: String, keyKind: APIKeyRecord.Kind, key: String) async throws {
        try await database.groupWrite { db in
            try db.execute(
                sql: "DELETE FROM idempotency_keys WHERE merchant_id = ? AND key_kind = ? AND key = ? AND response_status IS NULL",
                arguments: [merchantID, keyKind.rawValue, key])
        }
    }

    /// Forgets keys older than `date`; returns how many.
    @discardableResult
    public func purgeIdempotency(before date: Date) async throws -> Int {
        try await database.groupWrite { db in
            try IdempotencyRecord.filter(Column("created_at") < date).deleteAll(db)
        }
    }

    // MARK: Payments

    public func insert(_ write: PaymentWrite) async throws {
        try await database.groupWrite { db in
            try Self.recordGatewayEvent(write, db)
            try Self.insertPayment(write.payment, db)
            try Self.writeChildrenAndEvents(write, db)
        }
    }

    /// Saves a changed payment if nobody else saved it since `expectedVersion` was read;
    /// the record's version is set to `expectedVersion + 1`.
    ///
    /// - Throws: ``StoreConflict`` (nothing written) for a stale version or an already
    ///   applied gateway event.
    public func update(_ write: PaymentWrite, expectedVersion: Int) async throws {
        try await database.groupWrite { db in
            try Self.recordGatewayEvent(write, db)
            var payment = write.payment
            payment.version = expectedVersion + 1
            try db.cachedStatement(
                sql: """
                    UPDATE payments SET gateway = ?, gateway_payment_reference = ?, gateway_authorization_reference = ?,
                        next_action_url = ?, state = ?, status = ?, in_flight = ?, version = ?, updated_at = ?
                    WHERE id = ? AND version = ?
                    """
            ).execute(arguments: [
                payment.gateway, payment.gatewayPaymentReference, payment.gatewayAuthorizationReference,
                payment.nextActionURL, payment.state, payment.status, payment.inFlight, payment.version,
                payment.updatedAt, payment.id, expectedVersion,
            ])
            let changed = db.changesCount
            guard changed == 1 else { throw StoreConflict.staleVersion(paymentID: payment.id) }
            try Self.writeChildrenAndEvents(write, db)
        }
    }

    /// Records a gateway event that changed nothing (so a redelivery is recognised);
    /// returns `false` if it was already recorded.
    public func recordGatewayEvent(gateway: String, eventID: String, at date: Date) async throws -> Bool {
        try await database.groupWrite { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO gateway_events (gateway, event_id, received_at) VALUES (?, ?, ?)",
                arguments: [gateway, eventID, date])
            return db.changesCount == 1
        }
    }

    public func hasGatewayEvent(gateway: String, eventID: String) async throws -> Bool {
        try database.quickRead { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM gateway_events WHERE gateway = ? AND event_id = ?)",
                arguments: [gateway, eventID]) ?? false
        }
    }

    /// Whether a gateway delivery (PayPal's transmission id) was handled before.
    public func hasGatewayDelivery(gateway: String, deliveryID: String) async throws -> Bool {
        try database.quickRead { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM gateway_deliveries WHERE gateway = ? AND delivery_id = ?)",
                arguments: [gateway, deliveryID]) ?? false
        }
    }

    /// Records a handled delivery; returns `false` if it was already recorded.
    @discardableResult
    public func recordGatewayDelivery(gateway: String, deliveryID: String, at date: Date) async throws -> Bool {
        try await database.groupWrite { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO gateway_deliveries (gateway, delivery_id, received_at) VALUES (?, ?, ?)",
                arguments: [gateway, deliveryID, date])
            return db.changesCount == 1
        }
    }

    /// Forgets deliveries received before `date`; returns how many.
    @discardableResult
    public func purgeGatewayDeliveries(before date: Date) async throws -> Int {
        try await database.groupWrite { db in
            try db.execute(sql: "DELETE FROM gateway_deliveries WHERE received_at < ?", arguments: [date])
            return db.changesCount
        }
    }

    /// A merchant's payment; other merchants' ids are not found.
    public func payment(id: String, merchantID: String) async throws -> PaymentRecord? {
        try database.quickRead { db in
            try PaymentRecord.fetchOne(
                db.cachedStatement(sql: Self.selectPayment + " WHERE id = ? AND merchant_id = ?"), arguments: [id, merchantID])
        }
    }

    /// Any merchant's payment, for workers.
    public func payment(id: String) async throws -> PaymentRecord? {
        try database.quickRead { db in
            try PaymentRecord.fetchOne(db.cachedStatement(sql: Self.selectPayment + " WHERE id = ?"), arguments: [id])
        }
    }

    /// The payment a transaction id, dispute id or gateway reference belongs to.
    public func payment(childKey: String) async throws -> PaymentRecord? {
        try database.quickRead { db in
            try PaymentRecord.fetchOne(
                db.cachedStatement(
                    sql: Self.selectPayment + " WHERE id = (SELECT payment_id FROM payment_children WHERE key = ?)"),
                arguments: [childKey])
        }
    }

    /// A merchant's child keys that start with `prefix` (`dp_` lists the disputes' keys).
    public func childKeys(prefix: String, merchantID: String) async throws -> [PaymentChildRecord] {
        try await pool.read { db in
            // A range on the primary key, so the prefix search uses its index.
            try PaymentChildRecord
                .filter(Column("key") >= prefix && Column("key") < prefix + "\u{10FFFF}" && Column("merchant_id") == merchantID)
                .order(Column("key")).fetchAll(db)
        }
    }

    /// A merchant's payments, newest first, after the cursor payment `startingAfter`.
    public func payments(
        merchantID: String, status: String? = nil, startingAfter: String? = nil, limit: Int
    ) async throws -> Page<PaymentRecord> {
        try await pool.read { db in
            var request = PaymentRecord.filter(Column("merchant_id") == merchantID)
            if let status { request = request.filter(Column("status") == status) }
            if let startingAfter {
                guard let cursor = try PaymentRecord.filter(Column("id") == startingAfter && Column("merchant_id") == merchantID).fetchOne(db)
                else { return Page(items: [], hasMore: false) }
                request = request.filter(
                    Column("created_at") < cursor.createdAt
                        || (Column("created_at") == cursor.createdAt && Column("id") < cursor.id))
            }
            let rows = try request.order(Column("created_at").desc, Column("id").desc).limit(limit + 1).fetchAll(db)
            return Page(items: Array(rows.prefix(limit)), hasMore: rows.count > limit)
        }
    }

    /// Payments with a `pending` or `unknown` transaction, oldest change first.
    public func inFlightPayments(limit: Int) async throws -> [PaymentRecord] {
        try await pool.read { db in
            try PaymentRecord.filter(Column("in_flight") == true).order(Column("updated_at")).limit(limit).fetchAll(db)
        }
    }

    // MARK: Events

    public func events(
        merchantID: String, type: String? = nil, paymentID: String? = nil, startingAfter: String? = nil, limit: Int
    ) async throws -> Page<EventRecord> {
        try await pool.read { db in
            var request = EventRecord.filter(Column("merchant_id") == merchantID)
            if let type { request = request.filter(Column("type") == type) }
            if let paymentID { request = request.filter(Column("payment_id") == paymentID) }
            if let startingAfter {
                guard let cursor = try EventRecord.filter(Column("id") == startingAfter && Column("merchant_id") == merchantID).fetchOne(db)
                else { return Page(items: [], hasMore: false) }
                request = request.filter(
                    Column("created_at") < cursor.createdAt
                        || (Column("created_at") == cursor.createdAt && Column("id") < cursor.id))
            }
            let rows = try request.order(Column("created_at").desc, Column("id").desc).limit(limit + 1).fetchAll(db)
            return Page(items: Array(rows.prefix(limit)), hasMore: rows.count > limit)
        }
    }

    public func event(id: String, merchantID: String) async throws -> EventRecord? {
        try await pool.read { db in
            try EventRecord.filter(Column("id") == id && Column("merchant_id") == merchantID).fetchOne(db)
        }
    }

    // MARK: Webhook endpoints and the outbox

    public func insert(endpoint: WebhookEndpointRecord) async throws {
        try await database.groupWrite { db in try endpoint.insert(db) }
    }

    public func endpoints(merchantID: String) async throws -> [WebhookEndpointRecord] {
        try await pool.read { db in
            try WebhookEndpointRecord.filter(Column("merchant_id") == merchantID && Column("deleted_at") == nil)
                .order(Column("created_at")).fetchAll(db)
        }
    }

    /// Deletes an endpoint (pending deliveries to it stop); `false` when there is none.
    public func deleteEndpoint(id: String, merchantID: String, at date: Date) async throws -> Bool {
        try await database.groupWrite { db in
            try db.execute(
                sql: "UPDATE webhook_endpoints SET deleted_at = ? WHERE id = ? AND merchant_id = ? AND deleted_at IS NULL",
                arguments: [date, id, merchantID])
            guard db.changesCount == 1 else { return false }
            try db.execute(
                sql: "UPDATE outbox SET status = 'failed', last_error = 'endpoint deleted' WHERE endpoint_id = ? AND status = 'pending'",
                arguments: [id])
            return true
        }
    }

    /// Replaces an endpoint's signing secret; returns the endpoint, or `nil` when none.
    public func rotateEndpointSecret(id: String, merchantID: String, secret: String) async throws -> WebhookEndpointRecord? {
        try await database.groupWrite { db in
            guard var endpoint = try WebhookEndpointRecord
                .filter(Column("id") == id && Column("merchant_id") == merchantID && Column("deleted_at") == nil).fetchOne(db)
            else { return nil }
            endpoint.secret = secret
            try endpoint.update(db)
            return endpoint
        }
    }

    /// A delivery that is due, with what it delivers and where.
    public struct Delivery: Sendable {
        public var outbox: OutboxRecord
        public var event: EventRecord
        public var endpoint: WebhookEndpointRecord
    }

    public func dueDeliveries(now: Date, limit: Int) async throws -> [Delivery] {
        try await pool.read { db in
            let rows = try OutboxRecord.filter(Column("status") == OutboxRecord.Status.pending.rawValue && Column("next_attempt_at") <= now)
                .order(Column("next_attempt_at")).limit(limit).fetchAll(db)
            return try rows.compactMap { row in
                guard let event = try EventRecord.fetchOne(db, key: row.eventId),
                    let endpoint = try WebhookEndpointRecord.fetchOne(db, key: row.endpointId)
                else { return nil }
                return Delivery(outbox: row, event: event, endpoint: endpoint)
            }
        }
    }

    /// Records one attempt and the delivery's new state. A delivery that stopped being
    /// pending meanwhile (its endpoint was deleted) keeps its final state; the attempt is
    /// still recorded.
    public func recordAttempt(_ attempt: DeliveryAttemptRecord, outbox: OutboxRecord) async throws {
        try await database.groupWrite { db in
            var attempt = attempt
            try attempt.insert(db)
            let current = try OutboxRecord.fetchOne(db, key: outbox.id)
            guard current?.status == .pending else { return }
            try outbox.update(db)
        }
    }

    /// Each delivery of an event and its attempts.
    public func deliveries(eventID: String, merchantID: String) async throws -> [(OutboxRecord, [DeliveryAttemptRecord])] {
        try await pool.read { db in
            let rows = try OutboxRecord.filter(Column("event_id") == eventID && Column("merchant_id") == merchantID)
                .order(Column("id")).fetchAll(db)
            return try rows.map { row in
                (row, try DeliveryAttemptRecord.filter(Column("outbox_id") == row.id).order(Column("id")).fetchAll(db))
            }
        }
    }

    /// Deliveries still to be made.
    public func outboxDepth() async throws -> Int {
        try await pool.read { db in
            try OutboxRecord.filter(Column("status") == OutboxRecord.Status.pending.rawValue).fetchCount(db)
        }
    }

    // MARK: Helpers

    /// A payment's columns in ``PaymentRecord/databaseSelection``'s order. The hot lookups
    /// use it with cached statements: building and preparing a query per call (and GRDB's
    /// authorizer callback for each column while preparing) cost more than the lookup.
    private static let selectPayment =
        "SELECT " + PaymentRecord.columnNames.joined(separator: ", ") + " FROM payments"
    private static let insertPaymentSQL =
        "INSERT INTO payments (" + PaymentRecord.columnNames.joined(separator: ", ") + ") VALUES ("
        + Array(repeating: "?", count: PaymentRecord.columnNames.count).joined(separator: ", ") + ")"

    private static func recordGatewayEvent(_ write: PaymentWrite, _ db: Database) throws {
        guard let event = write.gatewayEvent else { return }
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO gateway_events (gateway, event_id, received_at) VALUES (?, ?, ?)")
            .execute(arguments: [event.gateway, event.eventID, write.payment.updatedAt])
        guard db.changesCount == 1 else {
            throw StoreConflict.duplicateGatewayEvent(gateway: event.gateway, eventID: event.eventID)
        }
    }

    private static func writeChildrenAndEvents(_ write: PaymentWrite, _ db: Database) throws {
        if let claim = write.idempotencyClaim { try upsert(claim, db) }
        // Every save runs these: cached statements, not records that build and prepare their
        // SQL each time (GRDB's record persistence showed in the daemon's profile).
        for key in write.childKeys {
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO payment_children (key, payment_id, merchant_id) VALUES (?, ?, ?)")
                .execute(arguments: [key, write.payment.id, write.payment.merchantId])
        }
        guard !write.events.isEmpty else { return }
        let endpoints = try String.fetchAll(
            db.cachedStatement(sql: "SELECT id FROM webhook_endpoints WHERE merchant_id = ? AND deleted_at IS NULL"),
            arguments: [write.payment.merchantId])
        for event in write.events {
            try db.cachedStatement(
                sql: "INSERT INTO events (id, merchant_id, type, payment_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?)"
            ).execute(arguments: [event.id, event.merchantId, event.type, event.paymentId, event.body, event.createdAt])
            for endpoint in endpoints {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO outbox (event_id, endpoint_id, merchant_id, status, attempts, next_attempt_at, created_at)
                        VALUES (?, ?, ?, ?, 0, ?, ?)
                        """
                ).execute(arguments: [
                    event.id, endpoint, event.merchantId, OutboxRecord.Status.pending.rawValue, event.createdAt, event.createdAt,
                ])
            }
        }
    }

    private static func insertPayment(_ payment: PaymentRecord, _ db: Database) throws {
        // The values in `PaymentRecord.columnNames`' order.
        try db.cachedStatement(sql: insertPaymentSQL).execute(arguments: [
            payment.id, payment.merchantId, payment.gateway, payment.gatewayPaymentReference,
            payment.gatewayAuthorizationReference, payment.captureMode, payment.token, payment.description, payment.metadata,
            payment.nextActionURL, payment.state, payment.status, payment.amount, payment.currency, payment.inFlight,
            payment.version, payment.createdAt, payment.updatedAt,
        ])
    }
}
