import Foundation
import GRDB

// Merchants' webhook endpoints.
extension Store: WebhookEndpointStore {
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
}
