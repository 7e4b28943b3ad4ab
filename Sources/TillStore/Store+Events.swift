import Foundation
import GRDB

// Events, and the outbox that delivers them to webhook endpoints.
extension Store: EventStore {
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



    public func dueDeliveries(now: Date, limit: Int) async throws -> [DueDelivery] {
        try await pool.read { db in
            let rows = try OutboxRecord.filter(Column("status") == OutboxRecord.Status.pending.rawValue && Column("next_attempt_at") <= now)
                .order(Column("next_attempt_at")).limit(limit).fetchAll(db)
            return try rows.compactMap { row in
                guard let event = try EventRecord.fetchOne(db, key: row.eventId),
                    let endpoint = try WebhookEndpointRecord.fetchOne(db, key: row.endpointId)
                else { return nil }
                return DueDelivery(outbox: row, event: event, endpoint: endpoint)
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
}

/// A delivery that is due, with what it delivers and where.
public struct DueDelivery: Sendable {
    public var outbox: OutboxRecord
    public var event: EventRecord
    public var endpoint: WebhookEndpointRecord
}
