internal import CTillOpenSSL
internal import CTillOpenSSLShims
internal import Foundation

/// An `EVP_MAC_CTX` for HMAC-SHA256, keyed. Owned by one `HMACSHA256` value at a time;
/// duplicated (`EVP_MAC_CTX_dup`) before a shared one is mutated. OpenSSL wipes the key
/// schedule when the context is freed.
final class MACContext: @unchecked Sendable {
    let context: OpaquePointer

    init(key: UnsafeRawBufferPointer) {
        guard let mac = OpenSSL.hmac.pointer else { OpenSSL.unrecoverable("EVP_MAC_fetch(HMAC)") }
        guard let context = EVP_MAC_CTX_new(mac) else { OpenSSL.unrecoverable("EVP_MAC_CTX_new") }
        self.context = context
        guard till_mac_ctx_set_digest(context, "SHA256") == 1 else {
            OpenSSL.unrecoverable("EVP_MAC_CTX_set_params(digest)")
        }
        // A NULL key means "reuse the previous key" to OpenSSL, so an empty key is passed
        // as a valid pointer with length zero.
        guard EVP_MAC_init(context, key.bytePointer, key.count, nil) == 1 else {
            OpenSSL.unrecoverable("EVP_MAC_init")
        }
    }

    private init(duplicating other: MACContext) {
        guard let context = EVP_MAC_CTX_dup(other.context) else {
            OpenSSL.unrecoverable("EVP_MAC_CTX_dup")
        }
        self.context = context
    }

    deinit {
        EVP_MAC_CTX_free(context)
    }

    func copy() -> MACContext {
        MACContext(duplicating: self)
    }

    func update(_ data: some DataProtocol) {
        let ok = data.forEachRegion { region in
            EVP_MAC_update(context, region.bytePointer, region.count) == 1
        }
        guard ok else { OpenSSL.unrecoverable("EVP_MAC_update") }
    }

    func finalize() -> HMACSHA256.AuthenticationCode {
        var length = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: HMACSHA256.byteCount) { buffer, count in
            let ok = EVP_MAC_final(context, buffer.baseAddress, &length, buffer.count) == 1
            count = ok ? length : 0
        }
        guard bytes.count == HMACSHA256.byteCount else { OpenSSL.unrecoverable("EVP_MAC_final") }
        return HMACSHA256.AuthenticationCode(bytes: bytes)
    }
}
