internal import CTillOpenSSL
internal import CTillOpenSSLShims
public import Foundation

/// An OpenSSL `X509`, freed with its owner. Never modified after parsing or issuing, so
/// several threads may read it at once (OpenSSL locks its own extension cache).
final class X509Handle: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        X509_free(pointer)
    }
}

/// An X.509 certificate, parsed by OpenSSL.
///
/// Parsing alone proves nothing about who made the certificate: check it against an
/// ``X509TrustStore`` before believing its ``publicKey``.
public struct X509Certificate: Sendable, CustomStringConvertible {
    /// The most bytes of PEM or DER accepted, so that hostile input cannot make the parser
    /// chew on megabytes. Real chains are a few kilobytes.
    public static let maximumInputBytes = 256 * 1024
    /// The most certificates accepted in one PEM chain.
    public static let maximumChainLength = 8

    let handle: X509Handle

    init(handle: X509Handle) {
        self.handle = handle
    }

    /// The certificate in `der`, which must be exactly one DER-encoded certificate with
    /// nothing after it.
    public init(der: some DataProtocol) throws(CryptoError) {
        let bytes = Array(der)
        guard !bytes.isEmpty, bytes.count <= Self.maximumInputBytes else {
            throw .invalidInputLength("DER certificate", expected: "1 to \(Self.maximumInputBytes) bytes", actual: bytes.count)
        }
        let parsed: (OpaquePointer?, Int) = bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return (nil, 0) }
            var cursor: UnsafePointer<UInt8>? = base
            let pointer = d2i_X509(nil, &cursor, buffer.count)
            let consumed = cursor.map { base.distance(to: $0) } ?? 0
            return (pointer, consumed)
        }
        guard let pointer = parsed.0 else {
            throw .invalidEncoding("not a DER certificate: \(OpenSSL.drainErrors())")
        }
        let handle = X509Handle(pointer)
        guard parsed.1 == bytes.count else {
            throw .invalidEncoding("\(bytes.count - parsed.1) bytes after the DER certificate")
        }
        self.handle = handle
    }

    /// The single certificate in `pem`; use ``chain(pem:)`` for several.
    public init(pem: String) throws(CryptoError) {
        let chain = try Self.chain(pem: pem)
        guard chain.count == 1, let only = chain.first else {
            throw .invalidEncoding("expected one PEM certificate, found \(chain.count)")
        }
        self = only
    }

    /// Every certificate in `pem`, in order (for a served chain: the leaf first, then its
    /// intermediates). Anything that is not a `CERTIFICATE` block is refused, so that a
    /// truncated or spliced chain is an error rather than a shorter chain.
    public static func chain(pem: String) throws(CryptoError) -> [X509Certificate] {
        let bytes = Array(pem.utf8)
        guard bytes.count <= maximumInputBytes else {
            throw .invalidInputLength("PEM", expected: "at most \(maximumInputBytes) bytes", actual: bytes.count)
        }
        let begins = pem.components(separatedBy: "-----BEGIN ").count - 1
        let certificateBegins = pem.components(separatedBy: "-----BEGIN CERTIFICATE-----").count - 1
        guard certificateBegins > 0 else { throw .invalidEncoding("no PEM certificate found") }
        guard begins == certificateBegins else {
            throw .invalidEncoding("the PEM holds blocks other than certificates")
        }
        guard certificateBegins <= maximumChainLength else {
            throw .invalidInputLength("PEM chain", expected: "at most \(maximumChainLength) certificates", actual: certificateBegins)
        }
        var certificates: [X509Certificate] = []
        let ok = bytes.withUnsafeBytes { buffer -> Bool in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return false }
            defer { BIO_free(bio) }
            while certificates.count < certificateBegins {
                guard let pointer = PEM_read_bio_X509(bio, nil, { _, _, _, _ in 0 }, nil) else { return false }
                certificates.append(X509Certificate(handle: X509Handle(pointer)))
            }
            return true
        }
        guard ok else {
            throw .invalidEncoding("malformed PEM certificate: \(OpenSSL.drainErrors())")
        }
        _ = OpenSSL.drainErrors()
        return certificates
    }

    /// The certificate as DER.
    public var derBytes: [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        let length = i2d_X509(handle.pointer, &out)
        guard length > 0, let out else { OpenSSL.unrecoverable("i2d_X509") }
        defer { till_openssl_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }

    /// The certificate as one PEM block.
    public var pemRepresentation: String {
        do {
            return try BIOText.collect("PEM_write_bio_X509") { bio in
                PEM_write_bio_X509(bio, handle.pointer) == 1
            }
        } catch {
            OpenSSL.unrecoverable("PEM_write_bio_X509")
        }
    }

    /// The start of the validity period.
    public var notBefore: Date { Self.date(X509_get0_notBefore(handle.pointer)) }
    /// The end of the validity period.
    public var notAfter: Date { Self.date(X509_get0_notAfter(handle.pointer)) }

    /// The subject in OpenSSL's one-line form (`/C=US/O=PayPal/CN=...`), for logs.
    public var subject: String { Self.oneLine(X509_get_subject_name(handle.pointer)) }
    /// The issuer in OpenSSL's one-line form, for logs.
    public var issuer: String { Self.oneLine(X509_get_issuer_name(handle.pointer)) }

    /// Whether the certificate may issue other certificates (basicConstraints CA:TRUE).
    public var isCA: Bool {
        // X509_check_ca also answers yes for old v1 roots and keyUsage-only CAs; Till only
        // counts the explicit basicConstraints flag.
        (X509_get_extension_flags(handle.pointer) & UInt32(EXFLAG_CA)) != 0
    }

    /// The subject's RSA public key; throws if it is not RSA or is too short.
    public var publicKey: RSAPublicKey {
        get throws(CryptoError) {
            guard let pointer = X509_get_pubkey(handle.pointer) else {
                throw .invalidEncoding("the certificate's public key cannot be read: \(OpenSSL.drainErrors())")
            }
            return try RSAPublicKey(checking: EVPKey(pointer))
        }
    }

    public var description: String { "X509Certificate(subject: \(subject), issuer: \(issuer))" }

    static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date {
        var parts = tm()
        guard let time, ASN1_TIME_to_tm(time, &parts) == 1 else {
            _ = OpenSSL.drainErrors()
            return .distantPast
        }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }

    static func oneLine(_ name: OpaquePointer?) -> String {
        guard let name, let text = X509_NAME_oneline(name, nil, 0) else { return "" }
        defer { till_openssl_free(text) }
        return String(cString: text)
    }
}
