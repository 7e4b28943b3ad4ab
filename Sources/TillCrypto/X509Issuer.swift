internal import CTillOpenSSL
internal import CTillOpenSSLShims
public import Foundation

/// A minimal certificate authority: a self-signed root that issues signing certificates.
///
/// Till never issues certificates in production. The PayPal sandbox and the tests need a
/// CA of their own to play PayPal's part, and making it here keeps them off the `openssl`
/// command line. Certificates carry what `X509_V_FLAG_X509_STRICT` insists on: v3, basic
/// constraints, key usage and key identifiers.
public struct X509Issuer: Sendable {
    /// The CA's own certificate, to hand to whoever must trust it.
    public let certificate: X509Certificate
    /// The CA's signing key.
    public let key: RSAPrivateKey

    /// A CA from an existing certificate and its key.
    public init(certificate: X509Certificate, key: RSAPrivateKey) {
        self.certificate = certificate
        self.key = key
    }

    /// A new self-signed CA named `commonName`, valid from `notBefore` to `notAfter`.
    public static func selfSigned(
        commonName: String,
        key: RSAPrivateKey,
        notBefore: Date,
        notAfter: Date
    ) throws(CryptoError) -> X509Issuer {
        let certificate = try build(
            commonName: commonName, subjectKey: key, issuer: nil, signingKey: key,
            notBefore: notBefore, notAfter: notAfter, isCA: true)
        return X509Issuer(certificate: certificate, key: key)
    }

    /// A certificate for `subjectKey` named `commonName`, signed by this CA. With `isCA`
    /// the certificate may issue in turn (an intermediate); otherwise it may only sign.
    public func issue(
        commonName: String,
        subjectKey: RSAPrivateKey,
        notBefore: Date,
        notAfter: Date,
        isCA: Bool = false
    ) throws(CryptoError) -> X509Certificate {
        try Self.build(
            commonName: commonName, subjectKey: subjectKey, issuer: certificate, signingKey: key,
            notBefore: notBefore, notAfter: notAfter, isCA: isCA)
    }

    private static func build(
        commonName: String,
        subjectKey: RSAPrivateKey,
        issuer: X509Certificate?,
        signingKey: RSAPrivateKey,
        notBefore: Date,
        notAfter: Date,
        isCA: Bool
    ) throws(CryptoError) -> X509Certificate {
        guard let pointer = X509_new() else { throw OpenSSL.failure("X509_new") }
        let handle = X509Handle(pointer)
        guard X509_set_version(pointer, 2) == 1 else { throw OpenSSL.failure("X509_set_version") }
        let serial = try SecureRandom.bytes(count: 8)
        // A positive 63-bit serial: strict mode rejects negative and zero serials.
        let serialValue = serial.reduce(0) { ($0 << 8) | Int($1) } & Int.max | 1
        guard ASN1_INTEGER_set(X509_get_serialNumber(pointer), serialValue) == 1 else {
            throw OpenSSL.failure("ASN1_INTEGER_set")
        }
        guard ASN1_TIME_set(X509_getm_notBefore(pointer), time_t(notBefore.timeIntervalSince1970)) != nil,
            ASN1_TIME_set(X509_getm_notAfter(pointer), time_t(notAfter.timeIntervalSince1970)) != nil
        else { throw OpenSSL.failure("ASN1_TIME_set") }

        guard let name = X509_get_subject_name(pointer) else { throw OpenSSL.failure("X509_get_subject_name") }
        let utf8 = Array(commonName.utf8)
        let added = utf8.withUnsafeBufferPointer { buffer in
            X509_NAME_add_entry_by_txt(name, "CN", 0x1000 /* MBSTRING_UTF8 */, buffer.baseAddress, Int32(buffer.count), -1, 0)
        }
        guard added == 1 else { throw OpenSSL.failure("X509_NAME_add_entry_by_txt") }
        let issuerName = issuer.map { X509_get_subject_name($0.handle.pointer) } ?? name
        guard X509_set_issuer_name(pointer, issuerName) == 1 else { throw OpenSSL.failure("X509_set_issuer_name") }
        guard X509_set_pubkey(pointer, subjectKey.key.pointer) == 1 else { throw OpenSSL.failure("X509_set_pubkey") }

        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer?.handle.pointer ?? pointer, pointer, nil, nil, 0)
        let extensions: [(Int32, String)] = [
            (NID_basic_constraints, isCA ? "critical,CA:TRUE" : "critical,CA:FALSE"),
            (NID_key_usage, isCA ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid:always"),
        ]
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw OpenSSL.failure("X509V3_EXT_conf_nid")
            }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(pointer, ext, -1) == 1 else { throw OpenSSL.failure("X509_add_ext") }
        }
        guard X509_sign(pointer, signingKey.key.pointer, EVP_sha256()) > 0 else {
            throw OpenSSL.failure("X509_sign")
        }
        return X509Certificate(handle: handle)
    }
}
