public import Foundation
import TillStore
import Logging
import Synchronization
import TillCrypto

/// A data key's status in `vault_keys`.
public enum VaultKeyStatus: String, Sendable, Hashable, Codable {
    /// Encrypts new cards (one per purpose).
    case active
    /// Reached its usage limit: still decrypts its rows, encrypts nothing more. Its rows
    /// stay until a requested rotation moves them.
    case full
    /// Rotated away on request: still decrypts, and its rows are being re-encrypted.
    case retiring
    /// No row uses it; its wrapped material is erased.
    case retired
}

/// A key as the vault reports it: never the key material.
public struct VaultKeyInfo: Sendable, Hashable {
    public let id: String
    /// `data` or `fingerprint`.
    public let purpose: String
    public let status: VaultKeyStatus
    /// Encryptions made with it.
    public let usageCount: Int64
    /// Cards sealed under it now.
    public let cardCount: Int
    public let created: Date
    public let retired: Date?
}

/// What ``Vault/initializeKeys()`` found or made.
public struct VaultKeyInitialization: Sendable, Hashable {
    public let dataKeyID: String
    public let fingerprintKeyID: String
    public let createdDataKey: Bool
    public let createdFingerprintKey: Bool
}

/// The outcome of one re-encryption batch.
public struct ReencryptionBatch: Sendable, Hashable {
    /// Rows moved to the active key.
    public let reencrypted: Int
    /// Tokens whose rows did not decrypt (altered outside the vault); they stay where they
    /// are and keep their key from retiring.
    public let unreadableTokens: [String]
    /// Where the next batch starts; nil when no row was left after the previous cursor.
    public let cursor: String?
}

/// The outcome of re-encrypting everything on retiring keys.
public struct ReencryptionReport: Sendable, Hashable {
    public let reencrypted: Int
    public let unreadableTokens: [String]
    /// Keys retired at the end because no row used them any more.
    public let retiredKeyIDs: [String]
}

/// An unwrapped key and its row's counters.
struct DataKey: Sendable {
    let id: String
    let key: SymmetricKey
    var usageCount: Int64
}

/// What ``Vault/sealingKeys()`` remembers between tokenizations.
struct ActiveKeys: Sendable {
    var data: DataKey?
    var fingerprint: SymmetricKey?
}

extension Vault {
    // MARK: Key administration

    /// Makes the first data key and the fingerprint key if they do not exist yet; safe to
    /// call on every start.
    ///
    /// - Throws: ``VaultError/Code/wrongKeyEncryptionKey`` if the database's keys were
    ///   wrapped under another key-encryption key.
    public func initializeKeys() async throws(VaultError) -> VaultKeyInitialization {
        let now = clock()
        let (result, events) = try await write("initializing the vault's keys") { tx in
            try self.checkKeyEncryptionKey(tx)
            var events: [VaultAuditEvent.Kind] = []
            var createdData = false
            var createdFingerprint = false
            let dataID: String
            if let existing = try tx.activeKeyID(purpose: "data") {
                dataID = existing
            } else {
                dataID = try self.createKey(tx, purpose: "data", now: now).id
                events.append(.dataKeyCreated(keyID: dataID))
                createdData = true
            }
            let fingerprintID: String
            if let existing = try tx.activeKeyID(purpose: "fingerprint") {
                fingerprintID = existing
            } else {
                fingerprintID = try self.createKey(tx, purpose: "fingerprint", now: now).id
                events.append(.fingerprintKeyCreated(keyID: fingerprintID))
                createdFingerprint = true
            }
            return (
                VaultKeyInitialization(
                    dataKeyID: dataID, fingerprintKeyID: fingerprintID, createdDataKey: createdData,
                    createdFingerprintKey: createdFingerprint),
                events
            )
        }
        if !events.isEmpty {
            logger.notice(
                "vault keys initialized",
                metadata: ["data_key": "\(result.dataKeyID)", "fingerprint_key": "\(result.fingerprintKeyID)"])
        }
        try await emit(events, at: now)
        return result
    }

    /// Makes a new active data key. The former active key and any full ones become
    /// ``VaultKeyStatus/retiring``: they still decrypt, and ``reencryptBatch(limit:after:)``
    /// moves their rows to the new key. Returns the new key.
    ///
    /// - Throws: ``VaultError/Code/keysNotInitialized`` if there is no data key yet.
    public func rotateDataKey() async throws(VaultError) -> VaultKeyInfo {
        let now = clock()
        let (newID, events) = try await write("rotating the data key") { tx in
            try self.checkKeyEncryptionKey(tx)
            guard let current = try tx.activeKeyID(purpose: "data") else { throw Self.keysNotInitialized }
            try tx.retireDataKeysForRotation()
            let fresh = try self.createKey(tx, purpose: "data", now: now)
            return (
                fresh.id,
                [VaultAuditEvent.Kind.dataKeyCreated(keyID: fresh.id), .dataKeyRotated(from: current, to: fresh.id, reason: .requested)]
            )
        }
        forgetActiveDataKey()
        logger.notice("data key rotated", metadata: ["data_key": "\(newID)", "reason": "requested"])
        try await emit(events, at: now)
        guard let info = try await keys().first(where: { $0.id == newID }) else {
            throw VaultError(.keyUnavailable, "the new data key \(newID) is missing right after it was made")
        }
        return info
    }

    /// Re-encrypts up to `limit` rows that sit on retiring keys under the active key, in one
    /// transaction, starting after `cursor` (the last token of the previous batch; rows are
    /// taken in the order they were stored). Rows stay readable throughout:
    /// a row is either on its old key or, once committed, on the new one.
    public func reencryptBatch(limit: Int, after cursor: String? = nil) async throws(VaultError) -> ReencryptionBatch {
        let now = clock()
        let limit = max(1, limit)
        let (batch, events) = try await write("re-encrypting cards") { tx in
            // A wrong key-encryption key must stop the run, not mark every row unreadable.
            try self.checkKeyEncryptionKey(tx)
            var events: [VaultAuditEvent.Kind] = []
            let rows = try tx.cardsOnRetiringKeys(after: cursor, limit: limit)
            guard !rows.isEmpty else {
                return (ReencryptionBatch(reencrypted: 0, unreadableTokens: [], cursor: nil), events)
            }
            var active = try self.activeDataKey(tx, events: &events, now: now)
            var moved = 0
            var unreadable: [String] = []
            var last = cursor
            for row in rows {
                let token = row.token
                let merchant = row.merchant
                last = token
                guard let old = try? self.unwrapKey(tx, id: row.keyID),
                    let payload = Self.open(row.sealed, token: token, merchant: merchant, key: old)
                else {
                    unreadable.append(token)
                    continue
                }
                if active.usageCount >= self.configuration.dataKeyUsageLimit {
                    active = try self.rotateForUsage(tx, from: active, events: &events, now: now)
                }
                let plaintext = VaultEncoding.payload(
                    digits: payload.digits, expiry: payload.expiry, holderName: payload.holderName)
                let resealed = try Self.seal(plaintext, token: token, merchant: merchant, key: active)
                try tx.reseal(token: token, keyID: active.id, sealed: Data(resealed))
                try self.countUse(of: &active, tx)
                moved += 1
            }
            return (ReencryptionBatch(reencrypted: moved, unreadableTokens: unreadable, cursor: last), events)
        }
        if !batch.unreadableTokens.isEmpty {
            logger.error(
                "cards that do not decrypt were left on their retiring key",
                metadata: ["tokens": "\(batch.unreadableTokens)"])
        }
        try? await emit(events, at: now)
        return batch
    }

    /// Re-encrypts every row on a retiring key, batch by batch, then retires the keys no row
    /// uses. The CLI runs it to completion; the daemon runs it as a background worker
    /// (`pause` yields the writer between batches; cancellation stops between batches,
    /// leaving everything readable).
    public func reencryptAll(
        batchSize: Int? = nil, pause: Duration = .zero
    ) async throws(VaultError) -> ReencryptionReport {
        let size = batchSize ?? configuration.reencryptionBatchSize
        var total = 0
        var unreadable: Set<String> = []
        var cursor: String?
        repeat {
            if Task.isCancelled { break }
            let batch = try await reencryptBatch(limit: size, after: cursor)
            total += batch.reencrypted
            unreadable.formUnion(batch.unreadableTokens)
            cursor = batch.cursor
            if cursor != nil, pause > .zero {
                try? await Task.sleep(for: pause)
            }
        } while cursor != nil
        let retired = try await retireUnusedKeys()
        return ReencryptionReport(reencrypted: total, unreadableTokens: unreadable.sorted(), retiredKeyIDs: retired)
    }

    /// Retires every non-active data key that no row uses: marks it retired and erases its
    /// wrapped material. Returns the retired key ids.
    @discardableResult
    public func retireUnusedKeys() async throws(VaultError) -> [String] {
        let now = clock()
        let retired = try await write("retiring unused data keys") { tx in
            let ids = try tx.unusedDataKeysToRetire()
            for id in ids { try tx.retireKey(id: id, at: now.timeIntervalSince1970) }
            return ids
        }
        unwrapped.withLock { cache in
            for id in retired { cache[id] = nil }
        }
        if !retired.isEmpty {
            logger.notice("data keys retired", metadata: ["data_keys": "\(retired)"])
        }
        try await emit(retired.map { .dataKeyRetired(keyID: $0) }, at: now)
        return retired
    }

    /// Checks that the vault's keys were wrapped under this vault's key-encryption key; the
    /// daemon calls it at start so a wrong key fails fast with a clear message.
    ///
    /// - Throws: ``VaultError/Code/wrongKeyEncryptionKey``.
    public func checkKeyEncryptionKey() async throws(VaultError) {
        try await read("checking the key-encryption key") { tx in try self.checkKeyEncryptionKey(tx) }
    }

    /// Every key the vault has made, oldest first, with how many cards each seals.
    public func keys() async throws(VaultError) -> [VaultKeyInfo] {
        try await read("listing the vault's keys") { tx in
            try tx.keyListing().map { key in
                VaultKeyInfo(
                    id: key.id, purpose: key.purpose, status: VaultKeyStatus(rawValue: key.status) ?? .retired,
                    usageCount: key.usageCount, cardCount: key.cardCount, created: Date(timeIntervalSince1970: key.createdAt),
                    retired: key.retiredAt.map(Date.init(timeIntervalSince1970:)))
            }
        }
    }

    // MARK: Inside write transactions

    static let keysNotInitialized = VaultError(
        .keysNotInitialized, "the vault has no active keys yet; run `till keys init` first")

    /// The active data key, rotated first if it reached its usage limit. One cached
    /// statement, columns read by index: it runs once per tokenization on the writer.
    func activeDataKey(_ tx: any VaultTransaction, events: inout [VaultAuditEvent.Kind], now: Date) throws -> DataKey {
        guard let row = try tx.activeDataKey() else { throw Self.keysNotInitialized }
        let key: DataKey
        if let cached = unwrapped.withLock({ $0[row.id] }) {
            key = DataKey(id: row.id, key: cached, usageCount: row.usageCount)
        } else {
            key = DataKey(
                id: row.id, key: try unwrap(id: row.id, wrapped: row.wrappedKey, kekID: row.kekID), usageCount: row.usageCount)
        }
        if key.usageCount >= configuration.dataKeyUsageLimit {
            return try rotateForUsage(tx, from: key, events: &events, now: now)
        }
        return key
    }

    /// Replaces a data key that reached its usage limit. The old key keeps its rows
    /// (decrypting is not limited) and becomes ``VaultKeyStatus/full``.
    func rotateForUsage(
        _ tx: any VaultTransaction, from old: DataKey, events: inout [VaultAuditEvent.Kind], now: Date
    ) throws -> DataKey {
        try tx.setKeyStatus(id: old.id, status: VaultKeyStatus.full.rawValue)
        let fresh = try createKey(tx, purpose: "data", now: now)
        events.append(.dataKeyCreated(keyID: fresh.id))
        events.append(.dataKeyRotated(from: old.id, to: fresh.id, reason: .usageLimit))
        logger.notice(
            "data key reached its usage limit; rotated",
            metadata: ["from": "\(old.id)", "to": "\(fresh.id)", "limit": "\(configuration.dataKeyUsageLimit)"])
        return fresh
    }

    func activeFingerprintKey(_ tx: any VaultTransaction) throws -> SymmetricKey {
        guard let id = try tx.activeKeyID(purpose: "fingerprint") else { throw Self.keysNotInitialized }
        return try unwrapKey(tx, id: id).key
    }

    func countUse(of key: inout DataKey, _ tx: any VaultTransaction) throws {
        try tx.countUse(ofKey: key.id)
        key.usageCount += 1
    }

    func createKey(_ tx: any VaultTransaction, purpose: String, now: Date) throws -> DataKey {
        let key: SymmetricKey
        let id: String
        let wrapped: [UInt8]
        do {
            key = try SymmetricKey.generate()
            id = try VaultEncoding.newKeyID(prefix: purpose == "data" ? "dk_" : "fk_")
            wrapped = try KeyWrap.wrap(key, using: kek.key)
        } catch {
            throw VaultError.crypto("making a \(purpose) key", error)
        }
        try tx.insertKey(id: id, purpose: purpose, wrappedKey: Data(wrapped), kekID: kekID, createdAt: now.timeIntervalSince1970)
        unwrapped.withLock { $0[id] = key }
        return DataKey(id: id, key: key, usageCount: 0)
    }

    /// A key by id, unwrapped (from the cache when possible), with its current usage count.
    func unwrapKey(_ tx: any VaultTransaction, id: String) throws -> DataKey {
        guard let row = try tx.key(id: id) else {
            throw VaultError(.keyUnavailable, "the key \(VaultError.quoted(id)) does not exist")
        }
        if let cached = unwrapped.withLock({ $0[id] }) {
            return DataKey(id: id, key: cached, usageCount: row.usageCount)
        }
        return DataKey(id: id, key: try unwrap(id: id, wrapped: row.wrappedKey, kekID: row.kekID), usageCount: row.usageCount)
    }

    /// Unwraps a key row's material and caches it by id.
    private func unwrap(id: String, wrapped: Data?, kekID wrappingKEK: String) throws -> SymmetricKey {
        guard let wrapped else {
            throw VaultError(.keyUnavailable, "the key \(VaultError.quoted(id)) is retired; its material was erased")
        }
        guard wrappingKEK == kekID else { throw wrongKEK(expected: wrappingKEK) }
        let key: SymmetricKey
        do {
            key = try KeyWrap.unwrap(wrapped, using: kek.key)
        } catch {
            throw VaultError(
                .keyUnavailable, "the wrapped key \(VaultError.quoted(id)) does not unwrap: its row was altered")
        }
        unwrapped.withLock { $0[id] = key }
        return key
    }

    func checkKeyEncryptionKey(_ tx: any VaultTransaction) throws {
        if let other = try tx.keyEncryptionKey(otherThan: kekID) {
            throw wrongKEK(expected: other)
        }
    }

    private func wrongKEK(expected: String) -> VaultError {
        VaultError(
            .wrongKeyEncryptionKey,
            "the vault's keys were wrapped under key-encryption key \(expected), but the one from \(kek.origin) "
                + "is \(kekID); use the original key file or \(KeyEncryptionKey.environmentVariable)")
    }

    /// The keys a tokenization seals and fingerprints with before it joins a write: the
    /// active data key and the fingerprint key as this vault last saw them, read once.
    ///
    /// The data key may be stale (rotated by this or another process, or full): the write
    /// re-reads the active key and reseals if it changed, so the cache only saves work.
    /// The fingerprint key never changes once made (``initializeKeys()`` makes one only
    /// when none is active, and nothing rotates it), so a cached one stays right.
    func sealingKeys() async throws(VaultError) -> (data: DataKey, fingerprint: SymmetricKey) {
        if let cached = activeKeys.withLock({ keys in keys.data.flatMap { data in keys.fingerprint.map { (data, $0) } } }) {
            return cached
        }
        let loaded = try await read("reading the vault's active keys") { tx -> (DataKey, SymmetricKey) in
            guard let dataID = try tx.activeKeyID(purpose: "data") else { throw Self.keysNotInitialized }
            return (try self.unwrapKey(tx, id: dataID), try self.activeFingerprintKey(tx))
        }
        activeKeys.withLock { keys in
            if keys.data == nil { keys.data = loaded.0 }
            keys.fingerprint = loaded.1
        }
        return loaded
    }

    /// The fingerprint key: from memory after the first call (see ``sealingKeys()``).
    func fingerprintKey() async throws(VaultError) -> SymmetricKey {
        if let cached = activeKeys.withLock({ $0.fingerprint }) { return cached }
        let key = try await read("reading the fingerprint key") { tx in try self.activeFingerprintKey(tx) }
        activeKeys.withLock { $0.fingerprint = key }
        return key
    }

    /// Remembers `key` as the active data key for the next tokenizations.
    func noteActiveDataKey(_ key: DataKey) {
        activeKeys.withLock { $0.data = key }
    }

    /// Forgets the cached active data key (after a requested rotation).
    func forgetActiveDataKey() {
        activeKeys.withLock { $0.data = nil }
    }

    /// A data key for decrypting, by id: from the cache, else read and unwrapped.
    func dataKey(id: String) async throws(VaultError) -> DataKey {
        if let cached = unwrapped.withLock({ $0[id] }) {
            return DataKey(id: id, key: cached, usageCount: 0)
        }
        return try await read("loading a data key") { tx in try self.unwrapKey(tx, id: id) }
    }
}
