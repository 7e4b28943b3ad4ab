internal import CTillOpenSSL
internal import CTillOpenSSLShims
internal import Foundation

/// AES-256-GCM through `EVP_CIPHER_CTX`, one context per call so nothing is shared
/// between threads.
enum GCMBackend {
    /// Owns an `EVP_CIPHER_CTX`; freeing it also wipes the expanded key.
    final class CipherContext {
        let pointer: OpaquePointer

        init() throws(CryptoError) {
            guard let pointer = EVP_CIPHER_CTX_new() else {
                throw OpenSSL.failure("EVP_CIPHER_CTX_new")
            }
            self.pointer = pointer
        }

        deinit {
            EVP_CIPHER_CTX_free(pointer)
        }
    }

    static func seal(
        _ plaintext: some DataProtocol,
        key: SymmetricKey,
        nonce: AES256GCM.Nonce,
        aad: some DataProtocol
    ) throws(CryptoError) -> AES256GCM.SealedBox {
        let cipher = try OpenSSL.require(OpenSSL.aes256GCM)
        let context = try CipherContext()
        let ctx = context.pointer

        let initialized = key.withUnsafeBytes { keyBytes in
            nonce.bytes.withUnsafeBytes { nonceBytes in
                EVP_EncryptInit_ex2(ctx, cipher, keyBytes.bytePointer, nonceBytes.bytePointer, nil) == 1
            }
        }
        guard initialized else { throw OpenSSL.failure("EVP_EncryptInit_ex2") }
        guard addAAD(ctx, aad, update: EVP_EncryptUpdate) else {
            throw OpenSSL.failure("EVP_EncryptUpdate(aad)")
        }

        var written = 0
        var ok = true
        let ciphertext = [UInt8](unsafeUninitializedCapacity: plaintext.count) { output, count in
            ok = plaintext.forEachRegion { region in
                guard let produced = transform(ctx, region, into: output, at: written, update: EVP_EncryptUpdate) else {
                    return false
                }
                written += produced
                return true
            }
            if ok {
                var tail: Int32 = 0
                let out = UnsafeMutableRawBufferPointer(output).bytePointer + written
                ok = EVP_EncryptFinal_ex(ctx, out, &tail) == 1
                written += Int(tail)
            }
            count = ok ? written : 0
        }
        guard ok, ciphertext.count == plaintext.count else {
            throw OpenSSL.failure("EVP_EncryptUpdate/EVP_EncryptFinal_ex")
        }

        var tag = [UInt8](repeating: 0, count: AES256GCM.tagByteCount)
        let gotTag = tag.withUnsafeMutableBytes { buffer in
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, Int32(buffer.count), buffer.baseAddress) == 1
        }
        guard gotTag else { throw OpenSSL.failure("EVP_CIPHER_CTX_ctrl(GET_TAG)") }
        return try AES256GCM.SealedBox(nonce: nonce, ciphertext: ciphertext, tag: tag)
    }

    static func open(
        _ box: AES256GCM.SealedBox,
        key: SymmetricKey,
        aad: some DataProtocol
    ) throws(CryptoError) -> SecureBytes {
        let cipher = try OpenSSL.require(OpenSSL.aes256GCM)
        let context = try CipherContext()
        let ctx = context.pointer

        let initialized = key.withUnsafeBytes { keyBytes in
            box.nonce.bytes.withUnsafeBytes { nonceBytes in
                EVP_DecryptInit_ex2(ctx, cipher, keyBytes.bytePointer, nonceBytes.bytePointer, nil) == 1
            }
        }
        guard initialized else { throw OpenSSL.failure("EVP_DecryptInit_ex2") }
        guard addAAD(ctx, aad, update: EVP_DecryptUpdate) else {
            throw OpenSSL.failure("EVP_DecryptUpdate(aad)")
        }

        var tag = box.tag
        let setTag = tag.withUnsafeMutableBytes { buffer in
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, Int32(buffer.count), buffer.baseAddress) == 1
        }
        guard setTag else { throw OpenSSL.failure("EVP_CIPHER_CTX_ctrl(SET_TAG)") }

        // GCM decrypts before it can check the tag; the plaintext goes straight into a
        // SecureBytes that is wiped, never returned, when the tag does not match.
        var updated = true
        var authentic = true
        let plaintext = SecureBytes(count: box.ciphertext.count) { output in
            var written = 0
            if !box.ciphertext.isEmpty {
                let produced = box.ciphertext.withUnsafeBytes { input in
                    transform(ctx, input, into: output, at: 0, update: EVP_DecryptUpdate)
                }
                updated = produced != nil
                written = produced ?? 0
            }
            guard updated else { return }
            var tail: Int32 = 0
            authentic = EVP_DecryptFinal_ex(ctx, output.bytePointer + written, &tail) == 1
        }
        guard updated else { throw OpenSSL.failure("EVP_DecryptUpdate") }
        guard authentic else {
            _ = OpenSSL.drainErrors()
            throw .authenticationFailure
        }
        return plaintext
    }

    typealias Update = (
        OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<Int32>?,
        UnsafePointer<UInt8>?, Int32
    ) -> Int32

    /// Feeds associated data (no output buffer) in int-sized pieces.
    private static func addAAD(_ ctx: OpaquePointer, _ aad: some DataProtocol, update: Update) -> Bool {
        aad.forEachRegion { region in
            var offset = 0
            while offset < region.count {
                let length = min(region.count - offset, maxChunk)
                var ignored: Int32 = 0
                guard update(ctx, nil, &ignored, region.bytePointer + offset, Int32(length)) == 1 else {
                    return false
                }
                offset += length
            }
            return true
        }
    }

    /// Encrypts or decrypts `input` into `output` starting at `start`, in int-sized
    /// pieces; returns the number of bytes written, or nil on failure.
    private static func transform(
        _ ctx: OpaquePointer,
        _ input: UnsafeRawBufferPointer,
        into output: UnsafeMutableBufferPointer<UInt8>,
        at start: Int,
        update: Update
    ) -> Int? {
        transform(ctx, input, into: UnsafeMutableRawBufferPointer(output), at: start, update: update)
    }

    private static func transform(
        _ ctx: OpaquePointer,
        _ input: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer,
        at start: Int,
        update: Update
    ) -> Int? {
        var consumed = 0
        var written = 0
        while consumed < input.count {
            let length = min(input.count - consumed, maxChunk)
            var produced: Int32 = 0
            let out = output.bytePointer + start + written
            guard update(ctx, out, &produced, input.bytePointer + consumed, Int32(length)) == 1 else {
                return nil
            }
            consumed += length
            written += Int(produced)
        }
        return written
    }
}
