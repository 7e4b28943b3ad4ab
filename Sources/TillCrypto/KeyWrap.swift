public import Foundation

/// AES Key Wrap (RFC 3394) with a 256-bit key-encryption key: how the vault stores data
/// keys, so that a data key never rests in the database unwrapped.
///
/// A wrapped 256-bit key is 40 bytes. Unwrapping checks RFC 3394's integrity value, so a
/// wrong key-encryption key or an altered blob fails with
/// ``CryptoError/authenticationFailure`` instead of yielding a wrong key.
public enum KeyWrap {
    /// The size of a wrapped ``SymmetricKey``, in bytes.
    public static let wrappedByteCount = SymmetricKey.byteCount + 8

    /// `key` wrapped under `kek`.
    ///
    /// - Throws: ``CryptoError/Code/opensslFailure`` if OpenSSL fails.
    public static func wrap(_ key: SymmetricKey, using kek: SymmetricKey) throws(CryptoError) -> [UInt8] {
        let result: Result<[UInt8], CryptoError> = key.withUnsafeBytes { keyBytes in
            do throws(CryptoError) {
                return .success(try KeyWrapBackend.wrap(keyBytes, kek: kek))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// The key that `wrapped` holds under `kek`.
    ///
    /// - Throws: ``CryptoError/Code/invalidInputLength`` unless `wrapped` is 40 bytes;
    ///   ``CryptoError/authenticationFailure`` for a wrong `kek` or a tampered blob.
    public static func unwrap(_ wrapped: some DataProtocol, using kek: SymmetricKey) throws(CryptoError) -> SymmetricKey {
        guard wrapped.count == wrappedByteCount else {
            throw .invalidInputLength(
                "wrapped key",
                expected: "\(wrappedByteCount) bytes (RFC 3394 wrapping of a 256-bit key)",
                actual: wrapped.count
            )
        }
        let bytes = Array(wrapped)
        let secret = try KeyWrapBackend.unwrap(bytes, kek: kek)
        return SymmetricKey(uncheckedSecureBytes: secret)
    }
}
