/// An error from TillCrypto, naming what was wrong.
///
/// A struct over a closed set of ``Code``s rather than a public enum, so that new codes can
/// be added without breaking callers that switch on errors. Compare against the static
/// members (`error == .authenticationFailure`) or match on ``code``.
public struct CryptoError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure, without the details.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case invalidKeySize
            case invalidNonceSize
            case invalidTagSize
            case invalidSignatureLength
            case invalidInputLength
            case invalidEncoding
            case authenticationFailure
            case invalidSignature
            case opensslFailure
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// A key had the wrong number of bytes.
        public static let invalidKeySize = Code(.invalidKeySize)
        /// An AES-GCM nonce was not 12 bytes.
        public static let invalidNonceSize = Code(.invalidNonceSize)
        /// An AES-GCM tag was not 16 bytes.
        public static let invalidTagSize = Code(.invalidTagSize)
        /// An Ed25519 signature was not 64 bytes.
        public static let invalidSignatureLength = Code(.invalidSignatureLength)
        /// An input (a combined sealed box, a wrapped key, a digest, a count) had an
        /// impossible length.
        public static let invalidInputLength = Code(.invalidInputLength)
        /// A textual encoding (hex) was malformed.
        public static let invalidEncoding = Code(.invalidEncoding)
        /// Authenticated decryption or key unwrapping found the data, its associated data,
        /// its nonce, its tag or the key to be wrong. Deliberately does not say which.
        public static let authenticationFailure = Code(.authenticationFailure)
        /// A signature did not verify under the given public key and message.
        public static let invalidSignature = Code(.invalidSignature)
        /// OpenSSL reported a failure unrelated to the caller's input.
        public static let opensslFailure = Code(.opensslFailure)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// What was wrong, for people reading logs. Never contains key material.
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    /// A key of `actual` bytes where `expected` bytes are required.
    public static func invalidKeySize(expected: Int, actual: Int) -> CryptoError {
        CryptoError(.invalidKeySize, "key must be \(expected) bytes, got \(actual)")
    }

    /// An AES-GCM nonce of `actual` bytes where 12 are required.
    public static func invalidNonceSize(expected: Int, actual: Int) -> CryptoError {
        CryptoError(.invalidNonceSize, "nonce must be \(expected) bytes, got \(actual)")
    }

    /// An AES-GCM tag of `actual` bytes where 16 are required.
    public static func invalidTagSize(expected: Int, actual: Int) -> CryptoError {
        CryptoError(.invalidTagSize, "authentication tag must be \(expected) bytes, got \(actual)")
    }

    /// An Ed25519 signature of `actual` bytes where 64 are required.
    public static func invalidSignatureLength(expected: Int, actual: Int) -> CryptoError {
        CryptoError(.invalidSignatureLength, "signature must be \(expected) bytes, got \(actual)")
    }

    /// An input whose length cannot be right; `what` names the input and `expected` says
    /// which lengths are acceptable.
    public static func invalidInputLength(_ what: String, expected: String, actual: Int) -> CryptoError {
        CryptoError(.invalidInputLength, "\(what) must be \(expected), got \(actual) bytes")
    }

    /// A malformed textual encoding; `reason` says where.
    public static func invalidEncoding(_ reason: String) -> CryptoError {
        CryptoError(.invalidEncoding, reason)
    }

    /// Authenticated decryption or unwrapping failed.
    public static let authenticationFailure = CryptoError(
        .authenticationFailure,
        "authentication failed: the data, associated data, nonce, tag or key is wrong"
    )

    /// A signature that does not verify.
    public static let invalidSignature = CryptoError(
        .invalidSignature,
        "signature does not verify under this public key for this message"
    )

    /// OpenSSL's `function` failed; `reason` is OpenSSL's own text from its error queue.
    public static func opensslFailure(function: String, reason: String) -> CryptoError {
        CryptoError(.opensslFailure, "\(function) failed: \(reason)")
    }
}
