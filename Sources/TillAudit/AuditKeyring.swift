import Foundation
public import TillCrypto

/// The public keys that sign a log's checkpoints, and which entries each may cover.
///
/// Stored as JSON beside the log. It holds no secrets: a reviewer copies it with the log.
/// A key signs the checkpoints whose last entry (size − 1) lies in
/// `firstEntry...lastEntry`; rotating the signing key closes the old key's range at the
/// entry before the logged rotation entry and opens the new key's range at it.
public struct AuditKeyring: Sendable, Hashable, Codable {
    /// One checkpoint-signing key.
    public struct Key: Sendable, Hashable, Codable {
        /// The note key name, the log's origin.
        public var name: String
        /// The C2SP key hash in hex (4 bytes).
        public var id: String
        /// The raw Ed25519 public key, base64.
        public var publicKey: String
        /// The first entry index this key's checkpoints may end at.
        public var firstEntry: UInt64
        /// The last entry index this key's checkpoints may end at; open-ended when nil.
        public var lastEntry: UInt64?
        /// The C2SP verifier key string, for other tools.
        public var verifierKey: String

        enum CodingKeys: String, CodingKey {
            case name, id
            case publicKey = "public_key"
            case firstEntry = "first_entry"
            case lastEntry = "last_entry"
            case verifierKey = "vkey"
        }

        public init(name: String, publicKey: Ed25519.PublicKey, firstEntry: UInt64, lastEntry: UInt64? = nil) {
            self.name = name
            self.id = Hex.encode(NoteKey.keyHash(name: name, publicKey: publicKey))
            self.publicKey = Data(publicKey.rawRepresentation).base64EncodedString()
            self.firstEntry = firstEntry
            self.lastEntry = lastEntry
            self.verifierKey = NoteKey.verifierKey(name: name, publicKey: publicKey)
        }

        /// The decoded public key.
        ///
        /// - Throws: ``AuditError`` (`keys`) if it is not 32 bytes of base64 or its id is wrong.
        public func ed25519Key() throws(AuditError) -> Ed25519.PublicKey {
            guard let raw = Data(base64Encoded: publicKey), let key = try? Ed25519.PublicKey(rawRepresentation: raw) else {
                throw .keys("keyring key \(id) has a public_key that is not base64 of 32 bytes")
            }
            guard Hex.encode(NoteKey.keyHash(name: name, publicKey: key)) == id.lowercased() else {
                throw .keys("keyring key \(name) has id \(id), but its public key hashes to another id")
            }
            return key
        }

        /// Whether a checkpoint of `size` entries falls in this key's range.
        public func covers(size: UInt64) -> Bool {
            guard size > 0 else { return firstEntry == 0 }
            let last = size - 1
            return last >= firstEntry && (lastEntry.map { last <= $0 } ?? true)
        }
    }

    /// The log's origin, the first line of each of its checkpoints.
    public var origin: String
    public var keys: [Key]

    public init(origin: String, keys: [Key]) {
        self.origin = origin
        self.keys = keys
    }

    /// Reads a keyring file.
    ///
    /// - Throws: ``AuditError`` (`io` or `keys`).
    public static func load(from path: String) throws(AuditError) -> AuditKeyring {
        let data = try FileIO.readAll(path)
        do {
            let keyring = try JSONDecoder().decode(AuditKeyring.self, from: Data(data))
            for key in keyring.keys { _ = try key.ed25519Key() }
            return keyring
        } catch let error as AuditError {
            throw error
        } catch {
            throw .keys("\(path) is not a keyring (JSON with origin and keys): \(error)")
        }
    }

    /// Writes the keyring atomically (a temporary file renamed over the old one).
    public func save(to path: String) throws(AuditError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do { data = try encoder.encode(self) } catch { throw .keys("cannot encode the keyring: \(error)") }
        try FileIO.writeAtomically(Array(data) + [0x0A], to: path, mode: 0o644)
    }
}

/// The private checkpoint-signing key, in a file only its owner may read (0600), in the
/// Go `note` signer format `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`.
public struct AuditSigningKey: Sendable {
    public let name: String
    public let privateKey: Ed25519.PrivateKey

    public init(name: String, privateKey: Ed25519.PrivateKey) {
        self.name = name
        self.privateKey = privateKey
    }

    /// A fresh key named `name`.
    public static func generate(name: String) throws(AuditError) -> AuditSigningKey {
        guard NoteKey.isValidName(name) else { throw .keys("key name \(name) must be non-empty without spaces or +") }
        do {
            return AuditSigningKey(name: name, privateKey: try Ed25519.PrivateKey())
        } catch { throw .keys("cannot generate an Ed25519 key: \(error)") }
    }

    /// The key hash, hex.
    public var id: String { Hex.encode(NoteKey.keyHash(name: name, publicKey: privateKey.publicKey)) }

    /// Writes the key with mode 0600, atomically.
    public func save(to path: String) throws(AuditError) {
        let seed = privateKey.rawRepresentation.withUnsafeBytes { Array($0) }
        let text = "PRIVATE+KEY+\(name)+\(id)+" + Data([NoteKey.ed25519Type] + seed).base64EncodedString() + "\n"
        try FileIO.writeAtomically(Array(text.utf8), to: path, mode: 0o600)
    }

    /// Reads a key file, refusing one that group or others may access.
    ///
    /// - Throws: ``AuditError`` (`io` or `keys`).
    public static func load(from path: String) throws(AuditError) -> AuditSigningKey {
        let mode = try FileIO.mode(of: path)
        guard mode & 0o077 == 0 else {
            throw .keys("\(path) has mode \(String(mode, radix: 8)); a signing key must be 0600")
        }
        let text = String(decoding: try FileIO.readAll(path), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = text.split(separator: "+", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "PRIVATE", parts[1] == "KEY",
            let blob = Data(base64Encoded: String(parts[4])), blob.count == 33, blob.first == NoteKey.ed25519Type,
            let key = try? Ed25519.PrivateKey(rawRepresentation: Data(blob.dropFirst()))
        else { throw .keys("\(path) is not a PRIVATE+KEY+<name>+<id>+<base64> Ed25519 signing key") }
        let signingKey = AuditSigningKey(name: String(parts[2]), privateKey: key)
        guard signingKey.id == parts[3].lowercased() else { throw .keys("\(path): the key id does not match the key") }
        return signingKey
    }
}
