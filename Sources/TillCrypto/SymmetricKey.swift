internal import CTillOpenSSLShims
public import Foundation

/// A 256-bit key for AES-256-GCM, AES key wrapping or HMAC, held in ``SecureBytes`` so it is
/// wiped from memory when the last copy goes away.
///
/// Equality is constant time; `description` never shows the key.
public struct SymmetricKey: Sendable, ContiguousBytes, Equatable, CustomStringConvertible,
    CustomDebugStringConvertible
{
    /// The size of every SymmetricKey, in bytes.
    public static let byteCount = Int(TILL_AES256_KEY_LENGTH)

    let secureBytes: SecureBytes

    /// A copy of `bytes` as a key.
    ///
    /// - Throws: ``CryptoError/Code/invalidKeySize`` unless `bytes` is exactly 32 bytes.
    public init(bytes: some ContiguousBytes) throws(CryptoError) {
        let count = bytes.contiguousCount
        guard count == Self.byteCount else {
            throw .invalidKeySize(expected: Self.byteCount, actual: count)
        }
        secureBytes = bytes.withUnsafeBytes { SecureBytes($0) }
    }

    /// Takes `secureBytes` as the key without copying; the caller checked the size.
    init(uncheckedSecureBytes secureBytes: SecureBytes) {
        self.secureBytes = secureBytes
    }

    /// A fresh random key from OpenSSL's CSPRNG.
    public static func generate() throws(CryptoError) -> SymmetricKey {
        SymmetricKey(uncheckedSecureBytes: try SecureBytes.random(count: byteCount))
    }

    /// The key's bytes. Do not let them escape `body`.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try secureBytes.withUnsafeBytes(body)
    }

    /// Constant-time comparison.
    public static func == (lhs: SymmetricKey, rhs: SymmetricKey) -> Bool {
        lhs.secureBytes == rhs.secureBytes
    }

    public var description: String { "SymmetricKey(256 bits)" }
    public var debugDescription: String { description }
}
