internal import CTillOpenSSL
internal import CTillOpenSSLShims
internal import Foundation

/// RFC 3394 through OpenSSL's `AES-256-WRAP` cipher (default IV A6A6A6A6A6A6A6A6).
enum KeyWrapBackend {
    static func wrap(_ key: UnsafeRawBufferPointer, kek: SymmetricKey) throws(CryptoError) -> [UInt8] {
        let context = try start(kek: kek, encrypting: true)
        var outcome = true
        let wrapped = [UInt8](unsafeUninitializedCapacity: key.count + Int(TILL_KEY_WRAP_OVERHEAD)) { buffer, count in
            let output = UnsafeMutableRawBufferPointer(buffer).bytePointer
            var written: Int32 = 0
            var tail: Int32 = 0
            outcome = EVP_EncryptUpdate(context.pointer, output, &written, key.bytePointer, Int32(key.count)) == 1
                && EVP_EncryptFinal_ex(context.pointer, output + Int(written), &tail) == 1
            count = outcome ? Int(written + tail) : 0
        }
        guard outcome, wrapped.count == key.count + Int(TILL_KEY_WRAP_OVERHEAD) else {
            throw OpenSSL.failure("EVP_EncryptUpdate(AES-256-WRAP)")
        }
        return wrapped
    }

    static func unwrap(_ wrapped: [UInt8], kek: SymmetricKey) throws(CryptoError) -> SecureBytes {
        let context = try start(kek: kek, encrypting: false)
        var authentic = true
        var unwrappedCount = 0
        // OpenSSL writes the candidate key before checking the integrity value, so give it
        // a secure buffer with room for the whole input; it is wiped when dropped.
        let output = SecureBytes(count: wrapped.count) { buffer in
            var written: Int32 = 0
            var tail: Int32 = 0
            authentic = wrapped.withUnsafeBytes { input in
                EVP_DecryptUpdate(context.pointer, buffer.bytePointer, &written, input.bytePointer, Int32(input.count)) > 0
                    && EVP_DecryptFinal_ex(context.pointer, buffer.bytePointer + Int(written), &tail) == 1
            }
            unwrappedCount = Int(written + tail)
        }
        guard authentic, unwrappedCount == SymmetricKey.byteCount else {
            _ = OpenSSL.drainErrors()
            throw .authenticationFailure
        }
        return output.withUnsafeBytes { bytes in
            SecureBytes(UnsafeRawBufferPointer(rebasing: bytes[..<unwrappedCount]))
        }
    }

    private static func start(kek: SymmetricKey, encrypting: Bool) throws(CryptoError) -> GCMBackend.CipherContext {
        let cipher = try OpenSSL.require(OpenSSL.aes256Wrap)
        let context = try GCMBackend.CipherContext()
        // Required by the legacy EVP path for wrap modes; harmless with providers.
        EVP_CIPHER_CTX_set_flags(context.pointer, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW)
        let ok = kek.withUnsafeBytes { kekBytes in
            EVP_CipherInit_ex2(context.pointer, cipher, kekBytes.bytePointer, nil, encrypting ? 1 : 0, nil) == 1
        }
        guard ok else { throw OpenSSL.failure("EVP_CipherInit_ex2(AES-256-WRAP)") }
        return context
    }
}
