import Foundation
import GRDB

// Merchants and their API keys.
extension Store: MerchantStore {
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
}
