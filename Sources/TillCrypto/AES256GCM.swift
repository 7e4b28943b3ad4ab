internal import CTillOpenSSLShims
public import Foundation

/// AES-256 in Galois/Counter Mode (NIST SP 800-38D) with a 96-bit nonce and a 128-bit tag.
///
/// ```swift
/// let box = try AES256GCM.seal(pan, using: dataKey, authenticating: tokenAndKeyID)
/// let stored = box.combined                       // nonce || ciphertext || tag
/// let pan = try AES256GCM.open(AES256GCM.SealedBox(combined: stored),
///                              using: dataKey, authenticating: tokenAndKeyID)
/// ```
///
/// Any change to the ciphertext, tag, nonce or associated data, or the wrong key, makes
/// ``open(_:using:authenticating:)`` throw ``CryptoError/authenticationFailure``; it never
/// returns unauthenticated plaintext.
///
/// Never seal twice with the same key and nonce: leave `nonce` nil to get a random one.
/// Random 96-bit nonces stay safe for up to 2^32 messages under one key (SP 800-38D §8.3),
/// one more reason to rotate data keys.
public enum AES256GCM {
    /// A 12-byte GCM nonce.
    public struct Nonce: Sendable, Hashable {
        /// The nonce size in bytes.
        public static let byteCount = Int(TILL_GCM_NONCE_LENGTH)

        /// The nonce's bytes.
        public let bytes: [UInt8]

        /// A random nonce from OpenSSL's CSPRNG.
        public init() throws(CryptoError) {
            bytes = try SecureRandom.bytes(count: Self.byteCount)
        }

        /// The nonce `bytes`, for test vectors and for parsing stored boxes.
        ///
        /// - Throws: ``CryptoError/Code/invalidNonceSize`` unless `bytes` is 12 bytes.
        public init(bytes: some DataProtocol) throws(CryptoError) {
            guard bytes.count == Self.byteCount else {
                throw .invalidNonceSize(expected: Self.byteCount, actual: bytes.count)
            }
            self.bytes = Array(bytes)
        }
    }

    /// The size of a GCM authentication tag, in bytes.
    public static let tagByteCount = Int(TILL_GCM_TAG_LENGTH)

    /// The output of sealing: nonce, ciphertext (as long as the plaintext) and tag.
    public struct SealedBox: Sendable, Hashable {
        /// The nonce the message was sealed with.
        public let nonce: Nonce
        /// The encrypted message.
        public let ciphertext: [UInt8]
        /// The 16-byte authentication tag.
        public let tag: [UInt8]

        /// A box from its parts.
        ///
        /// - Throws: ``CryptoError/Code/invalidTagSize`` unless `tag` is 16 bytes.
        public init(nonce: Nonce, ciphertext: some DataProtocol, tag: some DataProtocol) throws(CryptoError) {
            guard tag.count == AES256GCM.tagByteCount else {
                throw .invalidTagSize(expected: AES256GCM.tagByteCount, actual: tag.count)
            }
            self.nonce = nonce
            self.ciphertext = Array(ciphertext)
            self.tag = Array(tag)
        }

        /// Parses the ``combined`` form, `nonce (12) || ciphertext || tag (16)`.
        ///
        /// - Throws: ``CryptoError/Code/invalidInputLength`` if `combined` is shorter than
        ///   28 bytes (a truncated box).
        public init(combined: some DataProtocol) throws(CryptoError) {
            let minimum = Nonce.byteCount + AES256GCM.tagByteCount
            let bytes = Array(combined)
            guard bytes.count >= minimum else {
                throw .invalidInputLength(
                    "combined AES-256-GCM box",
                    expected: "at least \(minimum) bytes (nonce and tag)",
                    actual: bytes.count
                )
            }
            let tagStart = bytes.count - AES256GCM.tagByteCount
            try self.init(
                nonce: Nonce(bytes: bytes[..<Nonce.byteCount]),
                ciphertext: bytes[Nonce.byteCount..<tagStart],
                tag: bytes[tagStart...]
            )
        }

        /// `nonce || ciphertext || tag`, the form to store.
        public var combined: [UInt8] {
            nonce.bytes + ciphertext + tag
        }
    }

    /// Encrypts `plaintext` and authenticates it together with `aad`.
    ///
    /// - Parameters:
    ///   - plaintext: The message.
    ///   - key: The 256-bit key.
    ///   - nonce: The nonce; nil (the default) draws a fresh random one.
    ///   - aad: Associated data: authenticated, not encrypted, not stored in the box. The
    ///     same bytes must be given to ``open(_:using:authenticating:)``.
    /// - Throws: ``CryptoError/Code/opensslFailure`` if OpenSSL or the random generator fails.
    public static func seal(
        _ plaintext: some DataProtocol,
        using key: SymmetricKey,
        nonce: Nonce? = nil,
        authenticating aad: some DataProtocol = [UInt8]()
    ) throws(CryptoError) -> SealedBox {
        let chosen: Nonce
        if let nonce { chosen = nonce } else { chosen = try Nonce() }
        return try GCMBackend.seal(plaintext, key: key, nonce: chosen, aad: aad)
    }

    /// Encrypts a secret held in ``SecureBytes``; otherwise as
    /// ``seal(_:using:nonce:authenticating:)``.
    public static func seal(
        _ plaintext: SecureBytes,
        using key: SymmetricKey,
        nonce: Nonce? = nil,
        authenticating aad: some DataProtocol = [UInt8]()
    ) throws(CryptoError) -> SealedBox {
        let chosen: Nonce
        if let nonce { chosen = nonce } else { chosen = try Nonce() }
        let result: Result<SealedBox, CryptoError> = plaintext.withUnsafeBytes { buffer in
            do throws(CryptoError) {
                return .success(try GCMBackend.seal(buffer, key: key, nonce: chosen, aad: aad))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Checks and decrypts `box`.
    ///
    /// - Throws: ``CryptoError/authenticationFailure`` if the box, `aad` or `key` is not
    ///   exactly what was sealed; ``CryptoError/Code/opensslFailure`` if OpenSSL fails.
    public static func open(
        _ box: SealedBox,
        using key: SymmetricKey,
        authenticating aad: some DataProtocol = [UInt8]()
    ) throws(CryptoError) -> [UInt8] {
        let plaintext = try openSecret(box, using: key, authenticating: aad)
        return plaintext.withUnsafeBytes { Array($0) }
    }

    /// Checks and decrypts `box` straight into ``SecureBytes``, for secrets such as card
    /// numbers that must be wiped after use; otherwise as
    /// ``open(_:using:authenticating:)``.
    public static func openSecret(
        _ box: SealedBox,
        using key: SymmetricKey,
        authenticating aad: some DataProtocol = [UInt8]()
    ) throws(CryptoError) -> SecureBytes {
        try GCMBackend.open(box, key: key, aad: aad)
    }
}
