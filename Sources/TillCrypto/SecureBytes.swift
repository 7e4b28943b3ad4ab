internal import CTillOpenSSL
public import Foundation

/// A buffer for secrets (card verification codes, raw keys) that is wiped with
/// `OPENSSL_cleanse` when its last copy goes away.
///
/// Copies share one heap buffer until one of them is mutated, so passing a `SecureBytes`
/// around does not scatter the secret through memory. Equality is constant time.
/// `description` never shows the contents, so a stray log line cannot leak them.
public struct SecureBytes: Sendable, ContiguousBytes, Equatable, CustomStringConvertible,
    CustomDebugStringConvertible
{
    /// The heap buffer. Mutated only while uniquely referenced (copy on write), which is
    /// what makes the unchecked Sendable sound.
    final class Storage: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
        let count: Int
        /// Test hook: called from deinit with the buffer after it has been wiped and
        /// before it is freed, so tests can observe the wiping.
        var wipeObserver: (@Sendable (UnsafeRawBufferPointer) -> Void)?

        init(count: Int) {
            self.count = count
            // At least one byte so that the pointer is never NULL for OpenSSL calls.
            self.pointer = UnsafeMutableRawPointer.allocate(
                byteCount: Swift.max(count, 1),
                alignment: MemoryLayout<UInt64>.alignment
            )
            pointer.initializeMemory(as: UInt8.self, repeating: 0, count: Swift.max(count, 1))
        }

        deinit {
            OPENSSL_cleanse(pointer, count)
            wipeObserver?(UnsafeRawBufferPointer(start: pointer, count: count))
            pointer.deallocate()
        }

        var buffer: UnsafeMutableRawBufferPointer {
            UnsafeMutableRawBufferPointer(start: pointer, count: count)
        }

        func copy() -> Storage {
            let fresh = Storage(count: count)
            fresh.pointer.copyMemory(from: pointer, byteCount: count)
            return fresh
        }
    }

    var storage: Storage

    /// `count` zero bytes.
    public init(zeroedCount count: Int) {
        storage = Storage(count: Swift.max(count, 0))
    }

    /// A copy of `bytes`. The source is not wiped; wipe it yourself if you own it.
    public init(_ bytes: some DataProtocol) {
        storage = Storage(count: bytes.count)
        let destination = storage.buffer
        var offset = 0
        _ = bytes.forEachRegion { region in
            UnsafeMutableRawBufferPointer(rebasing: destination[offset..<(offset + region.count)])
                .copyMemory(from: region)
            offset += region.count
            return true
        }
    }

    /// `count` bytes written by `body` straight into the secure buffer, so the secret never
    /// exists outside it. The buffer starts zeroed; if `body` throws, it is wiped and freed.
    public init<E: Error>(
        count: Int,
        initializingWith body: (UnsafeMutableRawBufferPointer) throws(E) -> Void
    ) throws(E) {
        let storage = Storage(count: Swift.max(count, 0))
        try body(storage.buffer)
        self.storage = storage
    }

    /// `count` bytes from OpenSSL's CSPRNG.
    public static func random(count: Int) throws(CryptoError) -> SecureBytes {
        guard count >= 0 else {
            throw .invalidInputLength("random byte count", expected: "non-negative", actual: count)
        }
        return try SecureBytes(count: count) { (buffer) throws(CryptoError) in
            try SecureRandom.fill(buffer)
        }
    }

    /// The number of bytes.
    public var count: Int { storage.count }

    /// Whether there are no bytes.
    public var isEmpty: Bool { storage.count == 0 }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(storage.buffer))
    }

    /// Mutable access to the bytes; copies them first if another copy shares the buffer.
    public mutating func withUnsafeMutableBytes<R>(
        _ body: (UnsafeMutableRawBufferPointer) throws -> R
    ) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) {
            storage = storage.copy()
        }
        return try body(storage.buffer)
    }

    /// Constant-time comparison of the contents.
    public static func == (lhs: SecureBytes, rhs: SecureBytes) -> Bool {
        lhs.withUnsafeBytes { left in
            rhs.withUnsafeBytes { right in
                constantTimeEquals(left, right)
            }
        }
    }

    public var description: String { "SecureBytes(\(count) bytes)" }
    public var debugDescription: String { description }
}
