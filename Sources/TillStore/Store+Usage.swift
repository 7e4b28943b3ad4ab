import Foundation
import GRDB

extension Store: UsageStore {
    public func aggregate(usage query: UsageQuery) async throws -> UsageAggregate {
        try await pool.read { db in try Self.aggregate(query, db) }
    }

    public func usageEventCount(merchantID: String) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM usage_events WHERE merchant_id = ?", arguments: [merchantID]) ?? 0
        }
    }

    // Times are whole milliseconds since 1970 in an INTEGER column, so that the period index
    // compares integers, not text.
    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000).rounded(.down))
    }

    static func insert(usage events: [UsageEventRecord], _ db: Database) throws -> [Bool] {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO usage_events (merchant_id, customer_id, event_id, metric, occurred_at, value, properties, received_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (merchant_id, customer_id, event_id) DO NOTHING
                """)
        var inserted: [Bool] = []
        inserted.reserveCapacity(events.count)
        for event in events {
            try statement.execute(arguments: [
                event.merchantID, event.customerID, event.eventID, event.metric, milliseconds(event.occurredAt), event.value,
                String(decoding: event.properties, as: UTF8.self), milliseconds(event.receivedAt),
            ])
            inserted.append(db.changesCount == 1)
        }
        return inserted
    }

    static func aggregate(_ query: UsageQuery, _ db: Database) throws -> UsageAggregate {
        var sql = "FROM usage_events WHERE merchant_id = ? AND customer_id = ? AND metric = ? AND occurred_at >= ? AND occurred_at < ?"
        var arguments: StatementArguments = [
            query.merchantID, query.customerID, query.metric, milliseconds(query.from), milliseconds(query.to),
        ]
        // Filter keys are checked names (letters, digits, _ and -), quoted as a JSON path.
        for (key, values) in query.filters.sorted(by: { $0.key < $1.key }) where !values.isEmpty {
            sql += " AND json_extract(properties, ?) IN (" + Array(repeating: "?", count: values.count).joined(separator: ", ") + ")"
            arguments += StatementArguments(["$.\"\(key)\""] + values)
        }
        switch query.kind {
        case .count:
            return .count(try Int64.fetchOne(db, sql: "SELECT COUNT(*) " + sql, arguments: arguments) ?? 0)
        case .distinctCount:
            return .count(try Int64.fetchOne(db, sql: "SELECT COUNT(DISTINCT value) " + sql, arguments: arguments) ?? 0)
        case .values:
            return .values(try String.fetchAll(db, sql: "SELECT value " + sql + " AND value IS NOT NULL", arguments: arguments))
        case .latest:
            return .latest(
                try String.fetchOne(db, sql: "SELECT value " + sql + " ORDER BY occurred_at DESC, seq DESC LIMIT 1", arguments: arguments))
        }
    }
}

extension SQLiteTransaction {
    func insert(usage events: [UsageEventRecord]) throws -> [Bool] {
        try Store.insert(usage: events, db)
    }

    func aggregate(usage query: UsageQuery) throws -> UsageAggregate {
        try Store.aggregate(query, db)
    }
}
