public import Foundation

/// HMAC-SHA256 (RFC 2104, test vectors in RFC 4231): webhook signatures, card
/// fingerprints, idempotency keys.
///
/// Keys may be any length (webhook secrets are arbitrary strings); pass a
/// ``SymmetricKey``, ``SecureBytes``, `[UInt8]` or `Data`. Like ``SHA256``, computing a code
/// does not throw: OpenSSL fails here only on allocation failure or a broken installation,
/// and then the process stops with OpenSSL's reason.
public struct HMACSHA256: Sendable {
    /// The code size in bytes.
    public static let byteCount = 32

    var context: MACContext

    /// An HMAC computation keyed with `key`, with no message bytes yet.
    public init(key: some ContiguousBytes) {
        context = key.withUnsafeBytes { MACContext(key: $0) }
    }

    /// Adds `data` to the message.
    public mutating func update(data: some DataProtocol) {
        if !isKnownUniquelyReferenced(&context) {
            context = context.copy()
        }
        context.update(data)
    }

    /// The authentication code of the message so far.
    public consuming func finalize() -> AuthenticationCode {
        if !isKnownUniquelyReferenced(&context) {
            context = context.copy()
        }
        return context.finalize()
    }

    /// The HMAC-SHA256 of `data` under `key`.
    public static func authenticationCode(
        for data: some DataProtocol,
        key: some ContiguousBytes
    ) -> AuthenticationCode {
        var mac = HMACSHA256(key: key)
        mac.update(data: data)
        return mac.finalize()
    }

    /// Whether `code` is the HMAC-SHA256 of `data` under `key`, compared in constant time.
    /// A code of any length but 32 bytes (including a truncated one) is invalid.
    public static func isValidAuthenticationCode(
        _ code: some DataProtocol,
        for data: some DataProtocol,
        key: some ContiguousBytes
    ) -> Bool {
        let expected = authenticationCode(for: data, key: key)
        return expected.bytes.withUnsafeBytes { expectedBytes in
            code.withContiguousBytes { given in
                constantTimeEquals(expectedBytes, given)
            }
        }
    }

    /// A 32-byte HMAC-SHA256 code. Equality is constant time.
    public struct AuthenticationCode: Sendable, Hashable, ContiguousBytes, CustomStringConvertible {
        /// The code's bytes.
        public let bytes: [UInt8]

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            try bytes.withUnsafeBytes(body)
        }

        /// The code in lowercase hex.
        public var hexString: String { Hex.encode(bytes) }

        public var description: String { hexString }

        public static func == (lhs: AuthenticationCode, rhs: AuthenticationCode) -> Bool {
            constantTimeEquals(lhs.bytes, rhs.bytes)
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(bytes)
        }
    }
}
