internal import CTillOpenSSL
internal import CTillOpenSSLShims
internal import Foundation

/// An `EVP_MD_CTX` set up for SHA-256. Owned by one `SHA256` value at a time; copied
/// (`EVP_MD_CTX_copy_ex`) before a shared one is mutated.
final class DigestContext: @unchecked Sendable {
    let context: OpaquePointer

    init() {
        guard let context = EVP_MD_CTX_new() else { OpenSSL.unrecoverable("EVP_MD_CTX_new") }
        self.context = context
        guard EVP_DigestInit_ex2(context, Self.sha256, nil) == 1 else {
            OpenSSL.unrecoverable("EVP_DigestInit_ex2")
        }
    }

    private init(copying other: DigestContext) {
        guard let context = EVP_MD_CTX_new() else { OpenSSL.unrecoverable("EVP_MD_CTX_new") }
        self.context = context
        guard EVP_MD_CTX_copy_ex(context, other.context) == 1 else {
            OpenSSL.unrecoverable("EVP_MD_CTX_copy_ex")
        }
    }

    deinit {
        EVP_MD_CTX_free(context)
    }

    static var sha256: OpaquePointer {
        guard let md = OpenSSL.sha256.pointer else { OpenSSL.unrecoverable("EVP_MD_fetch(SHA256)") }
        return md
    }

    func copy() -> DigestContext {
        DigestContext(copying: self)
    }

    func update(_ data: some DataProtocol) {
        guard Self.update(context, data) else { OpenSSL.unrecoverable("EVP_DigestUpdate") }
    }

    func update(_ buffer: UnsafeRawBufferPointer) {
        guard buffer.isEmpty || EVP_DigestUpdate(context, buffer.baseAddress, buffer.count) == 1 else {
            OpenSSL.unrecoverable("EVP_DigestUpdate")
        }
    }

    func finalize() -> SHA256Digest {
        Self.finalize(context)
    }

    private static func update(_ context: OpaquePointer, _ data: some DataProtocol) -> Bool {
        data.forEachRegion { region in
            EVP_DigestUpdate(context, region.baseAddress, region.count) == 1
        }
    }

    private static func finalize(_ context: OpaquePointer) -> SHA256Digest {
        var words: SHA256Digest.Words = (0, 0, 0, 0)
        let ok = withUnsafeMutableBytes(of: &words) { buffer in
            EVP_DigestFinal_ex(context, buffer.bytePointer, nil) == 1
        }
        guard ok else { OpenSSL.unrecoverable("EVP_DigestFinal_ex") }
        return SHA256Digest(words: words)
    }

    /// Hashes `buffer` with this thread's cached context: no generic calls, no allocation.
    static func oneShot(buffer: UnsafeRawBufferPointer) -> SHA256Digest {
        guard let cached = till_thread_digest_ctx_acquire() else {
            let fresh = DigestContext()
            fresh.update(buffer)
            return fresh.finalize()
        }
        defer { till_thread_digest_ctx_release(cached) }
        guard EVP_DigestInit_ex2(cached, sha256, nil) == 1,
            buffer.isEmpty || EVP_DigestUpdate(cached, buffer.baseAddress, buffer.count) == 1
        else { OpenSSL.unrecoverable("EVP_DigestInit_ex2/EVP_DigestUpdate") }
        return finalize(cached)
    }

    /// Hashes `data` with this thread's cached context when it is free; a nested call
    /// (from inside a custom DataProtocol's iteration) falls back to a fresh context.
    static func oneShot(_ data: some DataProtocol) -> SHA256Digest {
        guard let cached = till_thread_digest_ctx_acquire() else {
            let fresh = DigestContext()
            fresh.update(data)
            return fresh.finalize()
        }
        defer { till_thread_digest_ctx_release(cached) }
        guard EVP_DigestInit_ex2(cached, sha256, nil) == 1 else {
            OpenSSL.unrecoverable("EVP_DigestInit_ex2")
        }
        guard update(cached, data) else { OpenSSL.unrecoverable("EVP_DigestUpdate") }
        return finalize(cached)
    }

    static func prefixed(_ prefix: UInt8, _ buffer: UnsafeRawBufferPointer) -> SHA256Digest {
        var words: SHA256Digest.Words = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { out in
            till_sha256_prefixed(prefix, buffer.bytePointer, buffer.count, out.bytePointer)
        }
        return SHA256Digest(words: words)
    }

    static func pair(_ prefix: UInt8, _ left: SHA256Digest, _ right: SHA256Digest) -> SHA256Digest {
        var words: SHA256Digest.Words = (0, 0, 0, 0)
        var pair = (left.words, right.words)
        withUnsafeMutableBytes(of: &words) { out in
            withUnsafeBytes(of: &pair) { input in
                let base = input.bytePointer
                till_sha256_pair(prefix, base, base + 32, out.bytePointer)
            }
        }
        return SHA256Digest(words: words)
    }
}
