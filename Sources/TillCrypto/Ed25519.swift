public import Foundation

/// Ed25519 signatures (RFC 8032), for signing audit-log checkpoints as C2SP signed notes.
public enum Ed25519 {
    /// The size of a private key seed and of a public key, in bytes.
    public static let keyByteCount = 32
    /// The size of a signature, in bytes.
    public static let signatureByteCount = 64

    /// An Ed25519 signing key. Its 32-byte seed lives in ``SecureBytes`` and is wiped when the
    /// last copy goes away; `description` never shows it.
    public struct PrivateKey: Sendable, CustomStringConvertible {
        let seed: SecureBytes
        let key: EVPKey

        /// The public key that verifies this key's signatures.
        public let publicKey: PublicKey

        /// A fresh key from OpenSSL's CSPRNG.
        public init() throws(CryptoError) {
            try self.init(seed: SecureBytes.random(count: Ed25519.keyByteCount))
        }

        /// A fresh key from OpenSSL's CSPRNG.
        public static func generate() throws(CryptoError) -> PrivateKey {
            try PrivateKey()
        }

        /// The key whose 32-byte seed (RFC 8032's "secret key") is `rawRepresentation`.
        ///
        /// - Throws: ``CryptoError/Code/invalidKeySize`` unless it is 32 bytes.
        public init(rawRepresentation: some ContiguousBytes) throws(CryptoError) {
            let count = rawRepresentation.contiguousCount
            guard count == Ed25519.keyByteCount else {
                throw .invalidKeySize(expected: Ed25519.keyByteCount, actual: count)
            }
            try self.init(seed: rawRepresentation.withUnsafeBytes { SecureBytes($0) })
        }

        private init(seed: SecureBytes) throws(CryptoError) {
            self.seed = seed
            key = try Ed25519Backend.privateKey(seed: seed)
            publicKey = try PublicKey(
                uncheckedRawRepresentation: Ed25519Backend.rawPublicKey(of: key),
                key: key
            )
        }

        /// The 32-byte seed, to store the key. Keep it secret.
        public var rawRepresentation: SecureBytes { seed }

        /// The 64-byte signature of `message`. Ed25519 signing is deterministic: the same
        /// key and message always give the same signature.
        ///
        /// - Throws: ``CryptoError/Code/opensslFailure`` if OpenSSL fails.
        public func signature(for message: some DataProtocol) throws(CryptoError) -> [UInt8] {
            let result: Result<[UInt8], CryptoError> = message.withContiguousBytes { bytes in
                do throws(CryptoError) {
                    return .success(try Ed25519Backend.sign(bytes, with: key))
                } catch {
                    return .failure(error)
                }
            }
            return try result.get()
        }

        public var description: String { "Ed25519.PrivateKey(public: \(publicKey.hexString))" }
    }

    /// An Ed25519 verifying key.
    public struct PublicKey: Sendable, Hashable, CustomStringConvertible {
        /// The 32-byte encoded point.
        public let rawRepresentation: [UInt8]
        let key: EVPKey

        /// The public key encoded as `rawRepresentation`.
        ///
        /// - Throws: ``CryptoError/Code/invalidKeySize`` unless it is 32 bytes, or
        ///   ``CryptoError/Code/opensslFailure`` if OpenSSL rejects it.
        public init(rawRepresentation: some DataProtocol) throws(CryptoError) {
            guard rawRepresentation.count == Ed25519.keyByteCount else {
                throw .invalidKeySize(expected: Ed25519.keyByteCount, actual: rawRepresentation.count)
            }
            let raw = Array(rawRepresentation)
            try self.init(uncheckedRawRepresentation: raw, key: Ed25519Backend.publicKey(raw: raw))
        }

        init(uncheckedRawRepresentation raw: [UInt8], key: EVPKey) throws(CryptoError) {
            rawRepresentation = raw
            self.key = key
        }

        /// Whether `signature` is a valid signature of `message` under this key. A
        /// signature that is not 64 bytes is invalid.
        public func isValidSignature(_ signature: some DataProtocol, for message: some DataProtocol) -> Bool {
            (try? verify(signature, for: message)) != nil
        }

        /// Checks `signature` over `message`, saying why it fails.
        ///
        /// - Throws: ``CryptoError/Code/invalidSignatureLength`` unless the signature is 64
        ///   bytes; ``CryptoError/invalidSignature`` if it does not verify.
        public func verify(_ signature: some DataProtocol, for message: some DataProtocol) throws(CryptoError) {
            guard signature.count == Ed25519.signatureByteCount else {
                throw .invalidSignatureLength(expected: Ed25519.signatureByteCount, actual: signature.count)
            }
            let valid = signature.withContiguousBytes { signatureBytes in
                message.withContiguousBytes { messageBytes in
                    Ed25519Backend.verify(signatureBytes, for: messageBytes, with: key)
                }
            }
            guard valid else { throw .invalidSignature }
        }

        /// The key in lowercase hex.
        public var hexString: String { Hex.encode(rawRepresentation) }

        public var description: String { "Ed25519.PublicKey(\(hexString))" }

        public static func == (lhs: PublicKey, rhs: PublicKey) -> Bool {
            lhs.rawRepresentation == rhs.rawRepresentation
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(rawRepresentation)
        }
    }
}
