internal import CTillOpenSSL
internal import CTillOpenSSLShims
public import Foundation

/// An RSA public key that checks RSASSA-PKCS1-v1_5 signatures over SHA-256
/// ("SHA256withRSA"), the scheme PayPal signs its webhooks with.
///
/// Keys shorter than ``minimumBits`` are refused when the key is made, so a caller cannot
/// be talked into trusting a signature that anyone could forge.
public struct RSAPublicKey: Sendable {
    /// The smallest modulus accepted, in bits.
    public static let minimumBits = 2048

    let key: EVPKey

    init(checking key: EVPKey) throws(CryptoError) {
        guard EVP_PKEY_get_base_id(key.pointer) == EVP_PKEY_RSA else {
            throw .invalidEncoding("the public key is not an RSA key")
        }
        let bits = Int(EVP_PKEY_get_bits(key.pointer))
        guard bits >= Self.minimumBits else {
            throw .invalidInputLength("RSA modulus", expected: "at least \(Self.minimumBits) bits", actual: bits / 8)
        }
        self.key = key
    }

    /// The modulus length in bits.
    public var bitCount: Int { Int(EVP_PKEY_get_bits(key.pointer)) }

    /// Whether `signature` is a valid SHA256withRSA (PKCS#1 v1.5) signature of `message`.
    /// Never throws: anything malformed is simply not a valid signature.
    public func isValidSignature(_ signature: some DataProtocol, for message: some DataProtocol) -> Bool {
        let signature = Array(signature)
        let message = Array(message)
        return signature.withUnsafeBytes { sig in
            message.withUnsafeBytes { msg in
                RSABackend.verify(sig, for: msg, with: key)
            }
        }
    }
}

/// An RSA private key that makes SHA256withRSA (PKCS#1 v1.5) signatures. Till itself never
/// signs with RSA; the PayPal sandbox and the tests do, to stand in for PayPal.
public struct RSAPrivateKey: Sendable {
    let key: EVPKey

    init(key: EVPKey) {
        self.key = key
    }

    /// A fresh key of `bits` bits (at least ``RSAPublicKey/minimumBits``).
    public static func generate(bits: Int = 2048) throws(CryptoError) -> RSAPrivateKey {
        guard bits >= RSAPublicKey.minimumBits, bits <= 16384 else {
            throw .invalidInputLength("RSA modulus", expected: "2048 to 16384 bits", actual: bits / 8)
        }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else {
            throw OpenSSL.failure("EVP_PKEY_CTX_new_from_name")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw OpenSSL.failure("EVP_PKEY_keygen_init") }
        guard EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(bits)) == 1 else {
            throw OpenSSL.failure("EVP_PKEY_CTX_set_rsa_keygen_bits")
        }
        var pointer: OpaquePointer?
        guard EVP_PKEY_generate(context, &pointer) == 1, let pointer else {
            throw OpenSSL.failure("EVP_PKEY_generate")
        }
        return RSAPrivateKey(key: EVPKey(pointer))
    }

    /// A key from PEM: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`),
    /// unencrypted.
    public init(pem: String) throws(CryptoError) {
        let bytes = Array(pem.utf8)
        guard bytes.count <= X509Certificate.maximumInputBytes else {
            throw .invalidInputLength("PEM", expected: "at most \(X509Certificate.maximumInputBytes) bytes", actual: bytes.count)
        }
        let pointer: OpaquePointer? = bytes.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            // A NULL password callback with an empty password: an encrypted key fails
            // instead of prompting on a terminal.
            return PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil)
        }
        guard let pointer else {
            throw .invalidEncoding("not an unencrypted PEM private key: \(OpenSSL.drainErrors())")
        }
        let key = EVPKey(pointer)
        guard EVP_PKEY_get_base_id(pointer) == EVP_PKEY_RSA else {
            throw .invalidEncoding("the private key is not an RSA key")
        }
        self.key = key
    }

    /// The key as unencrypted PKCS#8 PEM.
    public func pemRepresentation() throws(CryptoError) -> String {
        try BIOText.collect("PEM_write_bio_PrivateKey") { bio in
            PEM_write_bio_PrivateKey(bio, key.pointer, nil, nil, 0, nil, nil) == 1
        }
    }

    /// The matching public key.
    public var publicKey: RSAPublicKey {
        get throws(CryptoError) {
            // An EVP_PKEY holding a private key also serves as the public key.
            EVP_PKEY_up_ref(key.pointer)
            return try RSAPublicKey(checking: EVPKey(key.pointer))
        }
    }

    /// The SHA256withRSA (PKCS#1 v1.5) signature of `message`.
    public func signature(for message: some DataProtocol) throws(CryptoError) -> [UInt8] {
        let message = Array(message)
        let result: Result<[UInt8], CryptoError> = message.withUnsafeBytes { buffer in
            Result { () throws(CryptoError) in try RSABackend.sign(buffer, with: key) }
        }
        return try result.get()
    }
}

enum RSABackend {
    static func sign(_ message: UnsafeRawBufferPointer, with key: EVPKey) throws(CryptoError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw OpenSSL.failure("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        // PKCS#1 v1.5 is OpenSSL's default padding for RSA signatures.
        guard EVP_DigestSignInit_ex(context, nil, "SHA256", nil, nil, key.pointer, nil) == 1 else {
            throw OpenSSL.failure("EVP_DigestSignInit_ex")
        }
        var length = 0
        guard EVP_DigestSign(context, nil, &length, message.bytePointer, message.count) == 1 else {
            throw OpenSSL.failure("EVP_DigestSign")
        }
        var signature = [UInt8](repeating: 0, count: length)
        let ok = signature.withUnsafeMutableBytes { buffer in
            EVP_DigestSign(context, buffer.bytePointer, &length, message.bytePointer, message.count) == 1
        }
        guard ok else { throw OpenSSL.failure("EVP_DigestSign") }
        return Array(signature.prefix(length))
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
        guard EVP_DigestVerifyInit_ex(context, nil, "SHA256", nil, nil, key.pointer, nil) == 1 else {
            _ = OpenSSL.drainErrors()
            return false
        }
        let result = EVP_DigestVerify(
            context, signature.bytePointer, signature.count, message.bytePointer, message.count
        )
        if result != 1 { _ = OpenSSL.drainErrors() }
        return result == 1
    }
}

/// Text that OpenSSL writes into a memory BIO.
enum BIOText {
    static func collect(_ function: String, _ write: (OpaquePointer) -> Bool) throws(CryptoError) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSL.failure("BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) else { throw OpenSSL.failure(function) }
        var data: UnsafeMutablePointer<CChar>?
        let length = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &data)
        guard length >= 0, let data else { return "" }
        let buffer = UnsafeRawBufferPointer(start: data, count: length)
        return String(decoding: buffer, as: UTF8.self)
    }
}
