import Foundation

// The vault's tables behind the store interface: the vault decides (which key seals, when
// to rotate, what may be shown) and the store only keeps rows. Key material is only ever
// wrapped here, and a card only ever sealed, so nothing in these rows is a secret in clear.

/// A key's row: its material wrapped under the key-encryption key `kekID`, or erased.
public struct VaultKeyRow: Sendable, Hashable {
    public var id: String
    public var usageCount: Int64
    /// `nil` once the key is retired.
    public var wrappedKey: Data?
    public var kekID: String
}

/// A key as listed for operators, with how many cards it seals.
public struct VaultKeyListing: Sendable, Hashable {
    public var id: String
    public var purpose: String
    public var status: String
    public var usageCount: Int64
    public var cardCount: Int
    public var createdAt: Double
    public var retiredAt: Double?
}

/// A stored card: sealed, with what may be shown about it in clear.
public struct VaultCardRow: Sendable, Hashable {
    public var token: String
    public var merchant: String
    public var keyID: String
    public var sealed: Data
    public var fingerprint: String
    public var brand: String
    public var bin: String
    public var last4: String
    public var expMonth: Int
    public var expYear: Int
    public var createdAt: Double

    public init(
        token: String, merchant: String, keyID: String, sealed: Data, fingerprint: String, brand: String, bin: String,
        last4: String, expMonth: Int, expYear: Int, createdAt: Double
    ) {
        self.token = token
        self.merchant = merchant
        self.keyID = keyID
        self.sealed = sealed
        self.fingerprint = fingerprint
        self.brand = brand
        self.bin = bin
        self.last4 = last4
        self.expMonth = expMonth
        self.expYear = expYear
        self.createdAt = createdAt
    }
}

/// A card's sealed payload and the key that sealed it.
public struct SealedCardRow: Sendable, Hashable {
    public var token: String
    public var merchant: String
    public var keyID: String
    public var sealed: Data
}

/// The vault's rows, inside one transaction (or one read).
public protocol VaultTransaction {
    /// The active key of `purpose` (`data`, `fingerprint`).
    func activeKeyID(purpose: String) throws -> String?
    /// The active data key's row.
    func activeDataKey() throws -> VaultKeyRow?
    func key(id: String) throws -> VaultKeyRow?
    /// A new active key.
    func insertKey(id: String, purpose: String, wrappedKey: Data, kekID: String, createdAt: Double) throws
    /// Sets a key's status (`full` when it reached its usage limit).
    func setKeyStatus(id: String, status: String) throws
    /// The active and full data keys become `retiring`.
    func retireDataKeysForRotation() throws
    /// Marks a key retired and erases its wrapped material.
    func retireKey(id: String, at time: Double) throws
    func countUse(ofKey id: String) throws
    /// A key in use that was wrapped under another key-encryption key than `kekID`.
    func keyEncryptionKey(otherThan kekID: String) throws -> String?
    /// Retiring or full data keys that no card uses, oldest first.
    func unusedDataKeysToRetire() throws -> [String]
    func keyListing() throws -> [VaultKeyListing]

    func insertCard(_ card: VaultCardRow) throws
    /// The merchant's card, sealed payload included.
    func card(token: String, merchant: String) throws -> VaultCardRow?
    func sealedCard(token: String, merchant: String) throws -> SealedCardRow?
    /// Up to `limit` cards sealed under retiring keys, in the order stored, after the card `cursor`.
    func cardsOnRetiringKeys(after cursor: String?, limit: Int) throws -> [SealedCardRow]
    func reseal(token: String, keyID: String, sealed: Data) throws
}

/// Where the vault keeps its rows.
public protocol VaultStore: Sendable {
    /// One transaction of its own.
    func vaultWrite<T: Sendable>(_ body: @escaping @Sendable (any VaultTransaction) throws -> T) async throws -> T
    /// A savepoint in a group-commit batch shared with concurrent writers (tokenization).
    func vaultGroupWrite<T: Sendable>(_ body: @escaping @Sendable (any VaultTransaction) throws -> T) async throws -> T
    func vaultRead<T: Sendable>(_ body: @escaping @Sendable (any VaultTransaction) throws -> T) async throws -> T
    /// An indexed point lookup on the calling thread, for the request path.
    func vaultQuickRead<T>(_ body: (any VaultTransaction) throws -> T) throws -> T
}
