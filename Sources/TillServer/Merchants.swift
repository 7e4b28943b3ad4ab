import Foundation
import TillPayments
import TillAudit
import TillStore

/// Creating merchants and their API keys (used by `till merchants create`, `till api-keys
/// create`, the sandbox setup and tests). Secret keys are returned once and stored hashed.
public enum Merchants {
    /// A merchant and a first pair of keys.
    public struct Created: Sendable {
        public var merchant: MerchantRecord
        public var secretKey: String
        public var publishableKey: String
    }

    public static func create(name: String, in store: Store, audit: AuditTrail? = nil, now: Date = Date()) async throws -> Created {
        let merchant = MerchantRecord(id: Identifiers.make("mer"), name: name, createdAt: now)
        try await store.insert(merchant: merchant)
        let secret = try await createKey(.secret, merchantID: merchant.id, in: store, audit: audit, now: now)
        let publishable = try await createKey(.publishable, merchantID: merchant.id, in: store, audit: audit, now: now)
        return Created(merchant: merchant, secretKey: secret.key, publishableKey: publishable.key)
    }

    /// A new key for an existing merchant; the key text is returned here and never again.
    public static func createKey(
        _ kind: APIKeyRecord.Kind, merchantID: String, in store: Store, audit: AuditTrail? = nil, now: Date = Date()
    ) async throws -> (record: APIKeyRecord, key: String) {
        let key = APIKeys.generate(kind)
        let record = APIKeyRecord(
            id: Identifiers.make("key"), merchantId: merchantID, kind: kind, prefix: APIKeys.displayPrefix(key),
            hash: APIKeys.hash(key), createdAt: now)
        // Recorded before the key exists: a key nobody could audit is never handed out.
        try await audit?.append(
            actor: "till.admin", action: .apiKeyCreation, subject: record.id, origin: merchantID,
            details: ["kind": kind.rawValue])
        try await store.insert(apiKey: record)
        return (record, key)
    }
}
