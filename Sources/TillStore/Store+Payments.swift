import Foundation
import GRDB

// Payments, the ids that lead to them, and the gateway events and deliveries applied to them.
extension Store: PaymentStore {
    public func insert(_ write: PaymentWrite) async throws {
        try await self.write { try $0.insert(write) }
    }

    /// Saves a changed payment if nobody else saved it since `expectedVersion` was read;
    /// the record's version is set to `expectedVersion + 1`.
    ///
    /// - Throws: ``StoreConflict`` (nothing written) for a stale version or an already
    ///   applied gateway event.
    public func update(_ write: PaymentWrite, expectedVersion: Int) async throws {
        try await self.write { try $0.update(write, expectedVersion: expectedVersion) }
    }

    /// Records a gateway event that changed nothing (so a redelivery is recognised);
    /// returns `false` if it was already recorded.
    public func recordGatewayEvent(gateway: String, eventID: String, at date: Date) async throws -> Bool {
        try await write { try $0.recordGatewayEvent(gateway: gateway, eventID: eventID, at: date) }
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



    /// A payment's columns in ``PaymentRecord/databaseSelection``'s order. The hot lookups
    /// use it with cached statements: building and preparing a query per call (and GRDB's
    /// authorizer callback for each column while preparing) cost more than the lookup.
    static let selectPayment =
        "SELECT " + PaymentRecord.columnNames.joined(separator: ", ") + " FROM payments"
    static let insertPaymentSQL =
        "INSERT INTO payments (" + PaymentRecord.columnNames.joined(separator: ", ") + ") VALUES ("
        + Array(repeating: "?", count: PaymentRecord.columnNames.count).joined(separator: ", ") + ")"

    static func recordGatewayEvent(_ write: PaymentWrite, _ db: Database) throws {
        guard let event = write.gatewayEvent else { return }
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO gateway_events (gateway, event_id, received_at) VALUES (?, ?, ?)")
            .execute(arguments: [event.gateway, event.eventID, write.payment.updatedAt])
        guard db.changesCount == 1 else {
            throw StoreConflict.duplicateGatewayEvent(gateway: event.gateway, eventID: event.eventID)
        }
    }

    /// `newPayment`: the write inserts the payment, so each of its keys must be new too; a
    /// taken one is how a concurrent write under the same caller idempotency key shows.
    static func writeChildrenAndEvents(_ write: PaymentWrite, newPayment: Bool = false, _ db: Database) throws {
        if let claim = write.idempotencyClaim { try upsert(claim, db) }
        // Every save runs these: cached statements, not records that build and prepare their
        // SQL each time (GRDB's record persistence showed in the daemon's profile).
        for key in write.childKeys {
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO payment_children (key, payment_id, merchant_id) VALUES (?, ?, ?)")
                .execute(arguments: [key, write.payment.id, write.payment.merchantId])
            if newPayment, db.changesCount != 1 { throw StoreConflict.duplicateChildKey(key: key) }
        }
        try insert(events: write.events, db)
    }

    /// Events and their outbox rows, one per live endpoint of the event's merchant.
    static func insert(events: [EventRecord], _ db: Database) throws {
        var endpointsByMerchant: [String: [String]] = [:]
        for event in events {
            let endpoints: [String]
            if let known = endpointsByMerchant[event.merchantId] {
                endpoints = known
            } else {
                endpoints = try String.fetchAll(
                    db.cachedStatement(sql: "SELECT id FROM webhook_endpoints WHERE merchant_id = ? AND deleted_at IS NULL"),
                    arguments: [event.merchantId])
                endpointsByMerchant[event.merchantId] = endpoints
            }
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

    static func insertPayment(_ payment: PaymentRecord, _ db: Database) throws {
        // The values in `PaymentRecord.columnNames`' order.
        try db.cachedStatement(sql: insertPaymentSQL).execute(arguments: [
            payment.id, payment.merchantId, payment.gateway, payment.gatewayPaymentReference,
            payment.gatewayAuthorizationReference, payment.captureMode, payment.token, payment.description, payment.metadata,
            payment.nextActionURL, payment.state, payment.status, payment.amount, payment.currency, payment.inFlight,
            payment.version, payment.createdAt, payment.updatedAt,
        ])
    }
}
