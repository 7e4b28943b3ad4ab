import Foundation
import GRDB

// Idempotency records.
extension Store: IdempotencyStore {
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
    static func idempotencyDecision(
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

    static func upsert(_ record: IdempotencyRecord, _ db: Database) throws {
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
}
