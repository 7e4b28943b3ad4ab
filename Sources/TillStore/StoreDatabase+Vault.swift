import Foundation
import GRDB

extension StoreDatabase: VaultStore {
    public func vaultWrite<T: Sendable>(_ body: @escaping @Sendable (any VaultTransaction) throws -> T) async throws -> T {
        try await pool.write { db in try body(SQLiteVaultTransaction(db: db)) }
    }

    public func vaultGroupWrite<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) throws -> T
    ) async throws -> T {
        try await groupWrite { db in try body(SQLiteVaultTransaction(db: db)) }
    }

    public func vaultRead<T: Sendable>(_ body: @escaping @Sendable (any VaultTransaction) throws -> T) async throws -> T {
        try await pool.read { db in try body(SQLiteVaultTransaction(db: db)) }
    }

    public func vaultQuickRead<T>(_ body: (any VaultTransaction) throws -> T) throws -> T {
        try quickRead { db in try body(SQLiteVaultTransaction(db: db)) }
    }
}

/// The vault's SQL. The statements on the tokenization and detokenization paths are cached
/// and read columns by index: they run once per card.
struct SQLiteVaultTransaction: VaultTransaction {
    let db: Database

    func activeKeyID(purpose: String) throws -> String? {
        try String.fetchOne(
            db.cachedStatement(sql: "SELECT id FROM vault_keys WHERE purpose = ? AND status = 'active'"),
            arguments: [purpose])
    }

    func activeDataKey() throws -> VaultKeyRow? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT id, usage_count, wrapped_key, kek_id FROM vault_keys WHERE purpose = 'data' AND status = 'active'"
                ))
        else { return nil }
        return VaultKeyRow(
            id: try row.decode(atIndex: 0), usageCount: try row.decode(atIndex: 1), wrappedKey: try row.decode(atIndex: 2),
            kekID: try row.decode(atIndex: 3))
    }

    func key(id: String) throws -> VaultKeyRow? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT usage_count, wrapped_key, kek_id FROM vault_keys WHERE id = ?"),
                arguments: [id])
        else { return nil }
        return VaultKeyRow(
            id: id, usageCount: try row.decode(atIndex: 0), wrappedKey: try row.decode(atIndex: 1),
            kekID: try row.decode(atIndex: 2))
    }

    func insertKey(id: String, purpose: String, wrappedKey: Data, kekID: String, createdAt: Double) throws {
        try db.execute(
            sql: """
                INSERT INTO vault_keys (id, purpose, status, wrapped_key, kek_id, usage_count, created_at)
                VALUES (?, ?, 'active', ?, ?, 0, ?)
                """,
            arguments: [id, purpose, wrappedKey, kekID, createdAt])
    }

    func setKeyStatus(id: String, status: String) throws {
        try db.execute(sql: "UPDATE vault_keys SET status = ? WHERE id = ?", arguments: [status, id])
    }

    func retireDataKeysForRotation() throws {
        try db.execute(
            sql: "UPDATE vault_keys SET status = 'retiring' WHERE purpose = 'data' AND status IN ('active', 'full')")
    }

    func retireKey(id: String, at time: Double) throws {
        try db.execute(
            sql: "UPDATE vault_keys SET status = 'retired', wrapped_key = NULL, retired_at = ? WHERE id = ?",
            arguments: [time, id])
    }

    func countUse(ofKey id: String) throws {
        try db.cachedStatement(sql: "UPDATE vault_keys SET usage_count = usage_count + 1 WHERE id = ?")
            .execute(arguments: [id])
    }

    func keyEncryptionKey(otherThan kekID: String) throws -> String? {
        try String.fetchOne(
            db, sql: "SELECT kek_id FROM vault_keys WHERE status != 'retired' AND kek_id != ? LIMIT 1", arguments: [kekID])
    }

    func unusedDataKeysToRetire() throws -> [String] {
        try String.fetchAll(
            db,
            sql: """
                SELECT id FROM vault_keys k
                WHERE purpose = 'data' AND status IN ('retiring', 'full')
                AND NOT EXISTS (SELECT 1 FROM vault_cards c WHERE c.key_id = k.id)
                ORDER BY created_at
                """)
    }

    func keyListing() throws -> [VaultKeyListing] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT k.id, k.purpose, k.status, k.usage_count, k.created_at, k.retired_at,
                    (SELECT count(*) FROM vault_cards c WHERE c.key_id = k.id) AS cards
                FROM vault_keys k ORDER BY k.created_at, k.rowid
                """
        ).map { row in
            VaultKeyListing(
                id: try row.decode(forColumn: "id"), purpose: try row.decode(forColumn: "purpose"),
                status: try row.decode(forColumn: "status"), usageCount: try row.decode(forColumn: "usage_count"),
                cardCount: try row.decode(forColumn: "cards"), createdAt: try row.decode(forColumn: "created_at"),
                retiredAt: try row.decode(forColumn: "retired_at"))
        }
    }

    func insertCard(_ card: VaultCardRow) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO vault_cards
                    (token, merchant, key_id, sealed, fingerprint, brand, bin, last4, exp_month, exp_year, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            card.token, card.merchant, card.keyID, card.sealed, card.fingerprint, card.brand, card.bin, card.last4,
            card.expMonth, card.expYear, card.createdAt,
        ])
    }

    func card(token: String, merchant: String) throws -> VaultCardRow? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT key_id, sealed, fingerprint, brand, bin, last4, exp_month, exp_year, created_at
                        FROM vault_cards WHERE token = ? AND merchant = ?
                        """),
                arguments: [token, merchant])
        else { return nil }
        return VaultCardRow(
            token: token, merchant: merchant, keyID: try row.decode(atIndex: 0), sealed: try row.decode(atIndex: 1),
            fingerprint: try row.decode(atIndex: 2), brand: try row.decode(atIndex: 3), bin: try row.decode(atIndex: 4),
            last4: try row.decode(atIndex: 5), expMonth: try row.decode(atIndex: 6), expYear: try row.decode(atIndex: 7),
            createdAt: try row.decode(atIndex: 8))
    }

    func sealedCard(token: String, merchant: String) throws -> SealedCardRow? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT key_id, sealed FROM vault_cards WHERE token = ? AND merchant = ?"),
                arguments: [token, merchant])
        else { return nil }
        return SealedCardRow(token: token, merchant: merchant, keyID: try row.decode(atIndex: 0), sealed: try row.decode(atIndex: 1))
    }

    func cardsOnRetiringKeys(after cursor: String?, limit: Int) throws -> [SealedCardRow] {
        // The cursor is the last token done, and its rowid is where to go on. `+key_id` keeps
        // SQLite on the table's rowid range (no sort of every remaining row per batch), so a
        // whole run reads each row once.
        try Row.fetchAll(
            db,
            sql: """
                SELECT c.token, c.merchant, c.key_id, c.sealed FROM vault_cards c
                WHERE +c.key_id IN (SELECT id FROM vault_keys WHERE purpose = 'data' AND status = 'retiring')
                AND c.rowid > coalesce((SELECT rowid FROM vault_cards WHERE token = ?), 0)
                ORDER BY c.rowid LIMIT ?
                """,
            arguments: [cursor ?? "", limit]
        ).map { row in
            SealedCardRow(
                token: try row.decode(forColumn: "token"), merchant: try row.decode(forColumn: "merchant"),
                keyID: try row.decode(forColumn: "key_id"), sealed: try row.decode(forColumn: "sealed"))
        }
    }

    func reseal(token: String, keyID: String, sealed: Data) throws {
        try db.execute(sql: "UPDATE vault_cards SET key_id = ?, sealed = ? WHERE token = ?", arguments: [keyID, sealed, token])
    }
}
