import Foundation
import GRDB

extension Store: TransactionalStore {
    /// Runs `body` in its own savepoint of the next group-commit batch (so one `fsync`
    /// serves many writers) and answers once that batch is durable.
    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await database.groupWrite { db in try body(SQLiteTransaction(db: db)) }
    }
}

/// ``StoreTransaction`` over an open SQLite transaction. Every statement is a cached one:
/// these run on every payment save, where preparing SQL each time showed in the profile.
struct SQLiteTransaction: StoreTransaction {
    let db: Database

    func insert(_ write: PaymentWrite) throws {
        try Store.recordGatewayEvent(write, db)
        try Store.insertPayment(write.payment, db)
        try Store.writeChildrenAndEvents(write, newPayment: true, db)
    }

    func update(_ write: PaymentWrite, expectedVersion: Int) throws {
        try Store.recordGatewayEvent(write, db)
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
        guard db.changesCount == 1 else { throw StoreConflict.staleVersion(paymentID: payment.id) }
        try Store.writeChildrenAndEvents(write, db)
    }

    func recordGatewayEvent(gateway: String, eventID: String, at date: Date) throws -> Bool {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO gateway_events (gateway, event_id, received_at) VALUES (?, ?, ?)")
            .execute(arguments: [gateway, eventID, date])
        return db.changesCount == 1
    }

    func save(idempotency record: IdempotencyRecord) throws {
        try Store.upsert(record, db)
    }
}
