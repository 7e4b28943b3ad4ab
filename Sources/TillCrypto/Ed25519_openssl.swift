internal import CTillOpenSSL
internal import Foundation

/// An `EVP_PKEY`, freed with its owner. Never modified after creation; OpenSSL allows a
/// key to be used from several threads at once as long as each has its own operation
/// context, which every sign and verify call here creates.
final class EVPKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        EVP_PKEY_free(pointer)
    }
}

enum Ed25519Backend {
    static func privateKey(seed: SecureBytes) throws(CryptoError) -> EVPKey {
        let pointer = seed.withUnsafeBytes { bytes in
            EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, bytes.bytePointer, bytes.count)
        }
        guard let pointer else { throw OpenSSL.failure("EVP_PKEY_new_raw_private_key") }
        return EVPKey(pointer)
    }

    static func publicKey(raw: [UInt8]) throws(CryptoError) -> EVPKey {
        let pointer = raw.withUnsafeBytes { bytes in
            EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, bytes.bytePointer, bytes.count)
        }
        guard let pointer else { throw OpenSSL.failure("EVP_PKEY_new_raw_public_key") }
        return EVPKey(pointer)
    }

    static func rawPublicKey(of key: EVPKey) throws(CryptoError) -> [UInt8] {
        var length = Ed25519.keyByteCount
        var raw = [UInt8](repeating: 0, count: length)
        let ok = raw.withUnsafeMutableBytes { buffer in
            EVP_PKEY_get_raw_public_key(key.pointer, buffer.bytePointer, &length) == 1
        }
        guard ok, length == Ed25519.keyByteCount else {
            throw OpenSSL.failure("EVP_PKEY_get_raw_public_key")
        }
        return raw
    }

    static func sign(_ message: UnsafeRawBufferPointer, with key: EVPKey) throws(CryptoError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw OpenSSL.failure("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        // Ed25519 is "pure": no separate digest, so the message goes in whole.
        guard EVP_DigestSignInit_ex(context, nil, nil, nil, nil, key.pointer, nil) == 1 else {
            throw OpenSSL.failure("EVP_DigestSignInit_ex")
        }
        var length = Ed25519.signatureByteCount
        var signature = [UInt8](repeating: 0, count: length)
        let ok = signature.withUnsafeMutableBytes { buffer in
            EVP_DigestSign(context, buffer.bytePointer, &length, message.bytePointer, message.count) == 1
        }
        guard ok, length == Ed25519.signatureByteCount else { throw OpenSSL.failure("EVP_DigestSign") }
        return signature
    }

    static func verify(
        _ signature: UnsafeRawBufferPointer,
        for message: UnsafeRawBufferPointer,
        with key: EVPKey
    ) -> Bool {
        guard let context = EVP_MD_CTX_new() else {
            _ = OpenSSL.drainErrors()
            return false
        }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit_ex(context, nil, nil, nil, nil, key.pointer, nil) == 1 else {
            _ = OpenSSL.drainErrors()
            return false
        }
        let result = EVP_DigestVerify(
            context, signature.bytePointer, signature.count, message.bytePointer, message.count
        )
        // A bad signature leaves an entry on the error queue; clear it so it cannot be
        // mistaken for the cause of a later failure.
        _ = OpenSSL.drainErrors()
        return result == 1
    }
}
