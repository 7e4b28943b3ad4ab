public import Foundation

/// SHA-256 (FIPS 180-4).
///
/// One-shot: `SHA256.hash(data:)`. Incremental, for large files: create a hasher, call
/// ``update(data:)`` as the bytes arrive, then ``finalize()``.
///
/// Hashing does not throw: OpenSSL's SHA-256 fails only when memory cannot be allocated
/// or the installation is broken, which no input can cause, so such a failure stops the
/// process with OpenSSL's reason rather than burdening every caller with `try`.
public struct SHA256: Sendable {
    /// The digest size in bytes.
    public static let byteCount = SHA256Digest.byteCount

    var context: DigestContext

    /// A hasher with nothing hashed yet.
    public init() {
        context = DigestContext()
    }

    /// Adds `data` to what has been hashed.
    public mutating func update(data: some DataProtocol) {
        if !isKnownUniquelyReferenced(&context) {
            context = context.copy()
        }
        context.update(data)
    }

    /// Adds the bytes of `buffer` to what has been hashed.
    public mutating func update(bufferPointer buffer: UnsafeRawBufferPointer) {
        if !isKnownUniquelyReferenced(&context) {
            context = context.copy()
        }
        context.update(buffer)
    }

    /// The digest of everything added so far. Other copies of this hasher can go on
    /// hashing; when this was the only one, no state is copied.
    public consuming func finalize() -> SHA256Digest {
        if !isKnownUniquelyReferenced(&context) {
            context = context.copy()
        }
        return context.finalize()
    }

    /// The SHA-256 digest of `data`. Allocates nothing once the calling thread has hashed
    /// before: it reuses a per-thread OpenSSL context.
    public static func hash(data: some DataProtocol) -> SHA256Digest {
        DigestContext.oneShot(data)
    }

    /// The SHA-256 digest of the bytes at `buffer`. Not generic, so a caller in another
    /// module pays no generic dispatch or metadata lookup per call: the entry point for
    /// hot loops that hash many small messages (a log's lines, Merkle nodes).
    public static func hash(bufferPointer buffer: UnsafeRawBufferPointer) -> SHA256Digest {
        DigestContext.oneShot(buffer: buffer)
    }

    /// SHA-256 of the byte `prefix` followed by the bytes at `buffer`, without copying them
    /// (an RFC 6962 leaf hash with prefix 0). One call, no EVP dispatch: for hot loops.
    public static func hash(prefix: UInt8, bufferPointer buffer: UnsafeRawBufferPointer) -> SHA256Digest {
        DigestContext.prefixed(prefix, buffer)
    }

    /// SHA-256 of `prefix || left || right` (an RFC 6962 node hash with prefix 1), in one call.
    public static func hash(prefix: UInt8, _ left: SHA256Digest, _ right: SHA256Digest) -> SHA256Digest {
        DigestContext.pair(prefix, left, right)
    }
}

/// A SHA-256 digest: 32 bytes stored inline, so producing one allocates nothing.
public struct SHA256Digest: Sendable, Hashable, ContiguousBytes, CustomStringConvertible {
    /// The digest size in bytes.
    public static let byteCount = 32

    @usableFromInline typealias Words = (UInt64, UInt64, UInt64, UInt64)

    @usableFromInline var words: Words

    @usableFromInline init(words: Words) {
        self.words = words
    }

    /// The digest's 32 bytes as four words, each loaded from memory in the host's byte
    /// order. Inlined into callers: a hot loop converts without a call.
    @inlinable public var rawWords: (UInt64, UInt64, UInt64, UInt64) { words }

    /// The digest whose bytes, loaded as four words in the host's byte order, are `rawWords`.
    @inlinable public init(rawWords: (UInt64, UInt64, UInt64, UInt64)) {
        self.init(words: rawWords)
    }

    /// The digest whose bytes are `bytes`, for digests read back from storage.
    ///
    /// - Throws: ``CryptoError/Code/invalidInputLength`` unless `bytes` is 32 bytes long.
    public init(bytes: some DataProtocol) throws(CryptoError) {
        guard bytes.count == Self.byteCount else {
            throw .invalidInputLength("SHA-256 digest", expected: "32 bytes", actual: bytes.count)
        }
        var words: Words = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { destination in
            var offset = 0
            _ = bytes.forEachRegion { region in
                UnsafeMutableRawBufferPointer(rebasing: destination[offset..<(offset + region.count)])
                    .copyMemory(from: region)
                offset += region.count
                return true
            }
        }
        self.words = words
    }

    /// The digest whose lowercase or uppercase hex form is `hexString`.
    ///
    /// - Throws: ``CryptoError/Code/invalidEncoding`` or ``CryptoError/Code/invalidInputLength``.
    public init(hexString: some StringProtocol) throws(CryptoError) {
        try self.init(bytes: Hex.decode(hexString))
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: words) { try body($0) }
    }

    /// The digest's bytes.
    public var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// The digest in lowercase hex.
    public var hexString: String {
        withUnsafeBytes { Hex.encode($0) }
    }

    public var description: String { hexString }

    public static func == (lhs: SHA256Digest, rhs: SHA256Digest) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1
            && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}
