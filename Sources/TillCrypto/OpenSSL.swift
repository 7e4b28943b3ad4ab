internal import CTillOpenSSL
internal import CTillOpenSSLShims
internal import Foundation

/// A fetched OpenSSL algorithm object. Fetched objects are immutable and reference
/// counted, and OpenSSL documents them as safe to share between threads; fetching once
/// avoids the implicit fetch (and its lock and lookups) on every init in OpenSSL 3.0.
struct FetchedAlgorithm: @unchecked Sendable {
    let pointer: OpaquePointer?
    let name: String
}

enum OpenSSL {
    static let sha256 = FetchedAlgorithm(pointer: EVP_MD_fetch(nil, "SHA256", nil), name: "SHA256")
    static let hmac = FetchedAlgorithm(pointer: EVP_MAC_fetch(nil, "HMAC", nil), name: "HMAC")
    static let aes256GCM = FetchedAlgorithm(pointer: EVP_CIPHER_fetch(nil, "AES-256-GCM", nil), name: "AES-256-GCM")
    static let aes256Wrap = FetchedAlgorithm(pointer: EVP_CIPHER_fetch(nil, "AES-256-WRAP", nil), name: "AES-256-WRAP")

    /// Empties this thread's OpenSSL error queue and describes its first entry, so that a
    /// failure neither goes unexplained nor lingers to confuse a later, unrelated call.
    static func drainErrors() -> String {
        let first = ERR_get_error()
        while ERR_get_error() != 0 {}
        guard first != 0 else { return "no OpenSSL error was queued" }
        var buffer = [CChar](repeating: 0, count: 256)
        buffer.withUnsafeMutableBufferPointer { pointer in
            ERR_error_string_n(first, pointer.baseAddress, pointer.count)
        }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The error for a failed call to `function`, with OpenSSL's reason.
    static func failure(_ function: String) -> CryptoError {
        .opensslFailure(function: function, reason: drainErrors())
    }

    /// Stops the process for a failure that no input can cause (allocation failure or a
    /// broken OpenSSL installation) in an API that is deliberately non-throwing.
    static func unrecoverable(_ function: String) -> Never {
        preconditionFailure("TillCrypto: \(function) failed: \(drainErrors())")
    }

    /// The fetched algorithm, or the error explaining why OpenSSL could not provide it.
    static func require(_ algorithm: FetchedAlgorithm) throws(CryptoError) -> OpaquePointer {
        guard let pointer = algorithm.pointer else {
            throw .opensslFailure(function: "fetch \(algorithm.name)", reason: drainErrors())
        }
        return pointer
    }
}

/// OpenSSL's cipher update calls take `int` lengths; longer regions go in pieces.
let maxChunk = 1 << 30

/// A valid pointer for a zero-length buffer, for OpenSSL calls that reject NULL even when
/// the length is zero.
nonisolated(unsafe) private let emptyByte: UnsafeMutablePointer<UInt8> = {
    let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    pointer.initialize(to: 0)
    return pointer
}()

extension UnsafeRawBufferPointer {
    /// The start as `const unsigned char *`, never NULL (an empty buffer may have no
    /// base address).
    var bytePointer: UnsafePointer<UInt8> {
        guard let base = baseAddress else { return UnsafePointer(emptyByte) }
        return base.assumingMemoryBound(to: UInt8.self)
    }
}

extension UnsafeMutableRawBufferPointer {
    /// The start as `unsigned char *`, never NULL.
    var bytePointer: UnsafeMutablePointer<UInt8> {
        guard let base = baseAddress else { return emptyByte }
        return base.assumingMemoryBound(to: UInt8.self)
    }
}

extension DataProtocol {
    /// Calls `body` with each non-empty contiguous region in order, stopping at the first
    /// that returns false; returns whether every call succeeded.
    func forEachRegion(_ body: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        for region in regions {
            let ok = region.withUnsafeBytes { buffer in
                buffer.isEmpty ? true : body(buffer)
            }
            if !ok { return false }
        }
        return true
    }

    /// Calls `body` with the bytes as one contiguous buffer, copying only when the data is
    /// split across several regions.
    func withContiguousBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        if regions.count == 1, let only = regions.first {
            return only.withUnsafeBytes { body($0) }
        }
        return Array(self).withUnsafeBytes { body($0) }
    }
}

extension ContiguousBytes {
    /// The byte count, without copying.
    var contiguousCount: Int {
        withUnsafeBytes { $0.count }
    }
}
