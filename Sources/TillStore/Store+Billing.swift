import Foundation
import GRDB

// Billing's documents. Reads here are their own transaction; read-modify-write runs inside
// `write` through the transaction's methods below.
extension Store: BillingStore {
    public func billingObject(id: String, merchantID: String) async throws -> BillingObjectRecord? {
        try await pool.read { db in try Self.billingObject(id: id, merchantID: merchantID, db) }
    }

    public func billingObjects(
        merchantID: String, matching query: BillingObjectQuery, startingAfter: String?, limit: Int
    ) async throws -> Page<BillingObjectRecord> {
        try await pool.read { db in
            var request = Self.filtered(merchantID: merchantID, query)
            if let startingAfter {
                guard let cursor = try Self.billingObject(id: startingAfter, merchantID: merchantID, db),
                    let sequence = try Int64.fetchOne(
                        db, sql: "SELECT rowid FROM billing_objects WHERE id = ?", arguments: [cursor.id])
                else {
                    return Page(items: [], hasMore: false)
                }
                request = request.filter(
                    Column("created_at") < cursor.createdAt
                        || (Column("created_at") == cursor.createdAt && Column.rowID < sequence))
            }
            // Objects made at one frozen test-clock instant share `created_at`; insertion order
            // (the rowid) keeps them in the order they were made rather than by random id.
            let rows = try request.order(Column("created_at").desc, Column.rowID.desc).limit(limit + 1).fetchAll(db)
            return Page(items: Array(rows.prefix(limit)), hasMore: rows.count > limit)
        }
    }

    public func dueBillingObjects(clockID: String?, now: Date, limit: Int) async throws -> [BillingObjectRecord] {
        try await pool.read { db in
            try BillingObjectRecord.filter(Column("clock_id") == clockID && Column("due_at") <= now)
                .order(Column("due_at"), Column("id")).limit(limit).fetchAll(db)
        }
    }

    static func billingObject(id: String, merchantID: String, _ db: Database) throws -> BillingObjectRecord? {
        try BillingObjectRecord.filter(Column("id") == id && Column("merchant_id") == merchantID).fetchOne(db)
    }

    static func filtered(merchantID: String, _ query: BillingObjectQuery) -> QueryInterfaceRequest<BillingObjectRecord> {
        var request = BillingObjectRecord.filter(Column("merchant_id") == merchantID && Column("kind") == query.kind)
        if let customer = query.customerID { request = request.filter(Column("customer_id") == customer) }
        if let parent = query.parentID { request = request.filter(Column("parent_id") == parent) }
        if let status = query.status { request = request.filter(Column("status") == status) }
        return request
    }
}

extension SQLiteTransaction {
    func billingObject(id: String, merchantID: String) throws -> BillingObjectRecord? {
        try Store.billingObject(id: id, merchantID: merchantID, db)
    }

    func billingObjects(merchantID: String, matching query: BillingObjectQuery) throws -> [BillingObjectRecord] {
        try Store.filtered(merchantID: merchantID, query).order(Column("created_at"), Column.rowID).fetchAll(db)
    }

    func insert(billing record: BillingObjectRecord) throws {
        do {
            try record.insert(db)
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            throw BillingStoreConflict.duplicateID(record.id)
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw BillingStoreConflict.duplicateNumber(record.number ?? "")
        }
    }

    func update(billing record: BillingObjectRecord, expectedVersion: Int) throws {
        var record = record
        record.version = expectedVersion + 1
        do {
            try db.execute(
                sql: """
                    UPDATE billing_objects SET customer_id = ?, parent_id = ?, status = ?, clock_id = ?, due_at = ?,
                        number = ?, body = ?, version = ?, updated_at = ?
                    WHERE id = ? AND merchant_id = ? AND version = ?
                    """,
                arguments: [
                    record.customerId, record.parentId, record.status, record.clockId, record.dueAt, record.number,
                    record.body, record.version, record.updatedAt, record.id, record.merchantId, expectedVersion,
                ])
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw BillingStoreConflict.duplicateNumber(record.number ?? "")
        }
        guard db.changesCount == 1 else { throw BillingStoreConflict.staleVersion(id: record.id) }
    }

    func nextSequenceValue(merchantID: String, name: String) throws -> Int64 {
        try db.execute(
            sql: """
                INSERT INTO billing_sequences (merchant_id, name, last_value) VALUES (?, ?, 1)
                ON CONFLICT (merchant_id, name) DO UPDATE SET last_value = last_value + 1
                """,
            arguments: [merchantID, name])
        guard
            let value = try Int64.fetchOne(
                db, sql: "SELECT last_value FROM billing_sequences WHERE merchant_id = ? AND name = ?",
                arguments: [merchantID, name])
        else { throw BillingStoreConflict.staleVersion(id: name) }
        return value
    }

    func insert(events: [EventRecord]) throws {
        try Store.insert(events: events, db)
    }
}
