internal import CTillOpenSSL
internal import CTillOpenSSLShims
public import Foundation

/// Why a certificate chain did not verify.
public struct X509VerificationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// OpenSSL's `X509_V_ERR_*` code (0 when the failure happened before verification).
    public let code: Int
    /// OpenSSL's text for the code, plus which certificate of the chain failed.
    public let reason: String

    public var description: String { "certificate chain does not verify: \(reason)" }

    /// `X509_V_ERR_CERT_HAS_EXPIRED`.
    public var isExpired: Bool { code == Int(X509_V_ERR_CERT_HAS_EXPIRED) }
    /// `X509_V_ERR_CERT_NOT_YET_VALID`.
    public var isNotYetValid: Bool { code == Int(X509_V_ERR_CERT_NOT_YET_VALID) }
}

/// An OpenSSL `X509_STORE`; loaded once, then only read by verifications, which OpenSSL
/// allows from several threads.
final class X509StoreHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        X509_STORE_free(pointer)
    }
}

/// The certificate authorities a chain must lead to.
///
/// Verification uses `X509_V_FLAG_X509_STRICT` and an explicit time, so that the caller
/// (not the wall clock inside OpenSSL) decides the moment a certificate must be valid at.
public struct X509TrustStore: Sendable {
    let store: X509StoreHandle
    /// How many anchors were loaded, for diagnostics.
    public let anchorCount: Int

    /// A store trusting every certificate in `pem`.
    public init(pem: String) throws(CryptoError) {
        try self.init(anchors: X509Certificate.chain(pem: pem))
    }

    /// A store trusting exactly `anchors`.
    public init(anchors: [X509Certificate]) throws(CryptoError) {
        guard let pointer = X509_STORE_new() else { throw OpenSSL.failure("X509_STORE_new") }
        let store = X509StoreHandle(pointer)
        for anchor in anchors {
            guard X509_STORE_add_cert(pointer, anchor.handle.pointer) == 1 else {
                throw OpenSSL.failure("X509_STORE_add_cert")
            }
        }
        self.store = store
        anchorCount = anchors.count
    }

    /// A store trusting the certificates in the PEM bundle at `bundleFile` (the system's is
    /// ``systemBundlePath``).
    public init(bundleFile: String) throws(CryptoError) {
        let text: String
        do {
            text = try String(contentsOfFile: bundleFile, encoding: .utf8)
        } catch {
            throw .invalidEncoding("cannot read CA bundle \(bundleFile): \(error.localizedDescription)")
        }
        guard let pointer = X509_STORE_new() else { throw OpenSSL.failure("X509_STORE_new") }
        let store = X509StoreHandle(pointer)
        // X509_STORE_load_file takes system bundles (hundreds of roots) that exceed the
        // chain limit of X509Certificate.chain, and skips non-certificate blocks.
        guard X509_STORE_load_file(pointer, bundleFile) == 1 else {
            throw .invalidEncoding("CA bundle \(bundleFile) holds no usable certificates: \(OpenSSL.drainErrors())")
        }
        self.store = store
        anchorCount = text.components(separatedBy: "-----BEGIN CERTIFICATE-----").count - 1
    }

    /// The usual Linux location of the system's CA bundle (Debian, Ubuntu, Alpine).
    public static let systemBundlePath = "/etc/ssl/certs/ca-certificates.crt"

    /// Checks that `leaf` chains, through any of `intermediates` (untrusted helpers), to an
    /// anchor of this store, with every certificate valid at `date`.
    public func verify(
        _ leaf: X509Certificate,
        intermediates: [X509Certificate] = [],
        at date: Date
    ) throws(X509VerificationError) {
        guard let context = X509_STORE_CTX_new() else {
            throw X509VerificationError(code: 0, reason: "X509_STORE_CTX_new: \(OpenSSL.drainErrors())")
        }
        defer { X509_STORE_CTX_free(context) }
        guard let stack = OPENSSL_sk_new_null() else {
            throw X509VerificationError(code: 0, reason: "OPENSSL_sk_new_null: \(OpenSSL.drainErrors())")
        }
        // The stack borrows the certificates; freeing it leaves them to their handles,
        // which stay alive for the whole call.
        defer { OPENSSL_sk_free(stack) }
        for intermediate in intermediates {
            guard OPENSSL_sk_push(stack, UnsafeRawPointer(intermediate.handle.pointer)) > 0 else {
                throw X509VerificationError(code: 0, reason: "OPENSSL_sk_push: \(OpenSSL.drainErrors())")
            }
        }
        let result: Int32 = withExtendedLifetime((leaf, intermediates)) {
            guard X509_STORE_CTX_init(context, store.pointer, leaf.handle.pointer, stack) == 1 else { return -1 }
            let parameters = X509_STORE_CTX_get0_param(context)
            X509_VERIFY_PARAM_set_flags(parameters, UInt(X509_V_FLAG_X509_STRICT))
            X509_STORE_CTX_set_time(context, 0, time_t(date.timeIntervalSince1970.rounded(.down)))
            return X509_verify_cert(context)
        }
        guard result == 1 else {
            let code = X509_STORE_CTX_get_error(context)
            let depth = X509_STORE_CTX_get_error_depth(context)
            _ = OpenSSL.drainErrors()
            guard result == 0, code != X509_V_OK else {
                throw X509VerificationError(code: 0, reason: "verification could not run")
            }
            let text = String(cString: X509_verify_cert_error_string(Int(code)))
            let which = depth == 0 ? "the signing certificate" : "the certificate at depth \(depth)"
            throw X509VerificationError(code: Int(code), reason: "\(text) (\(which))")
        }
    }
}
