import Foundation
import TillCrypto
import TillGateway
import TillHTTP

/// Where PayPal signing certificates come from. The plugin's is an HTTP fetch; tests and the
/// fuzz targets inject one that never touches the network.
public protocol PayPalCertificateSource: Sendable {
    /// The PEM (the signing certificate, then any intermediates) served at `url`, which
    /// has already passed the ``CertificateURLPolicy``.
    func certificates(at url: String) async throws(WebhookError) -> String
}

/// Verifies PayPal's SHA256withRSA transmission signatures: checks the certificate URL
/// against the policy before anything is fetched, fetches the chain, checks it against the
/// trust store at the webhook's arrival time, caches the verified signing certificate per
/// URL (bounded, until its notAfter), then checks the signature over
/// `transmission_id|transmission_time|webhook_id|crc32(body)`.
public actor PayPalCertificateVerifier {
    /// The most URLs whose certificates are remembered; PayPal rotates rarely, so a handful
    /// covers every real case and a flood of distinct URLs cannot grow memory.
    public static let cacheLimit = 16

    private let policy: CertificateURLPolicy
    private let trust: X509TrustStore
    private let source: any PayPalCertificateSource
    private var cache: [String: X509Certificate] = [:]
    /// Fetches made, for tests proving the cache and the policy work.
    public private(set) var fetchCount = 0

    public init(policy: CertificateURLPolicy, trust: X509TrustStore, source: any PayPalCertificateSource) {
        self.policy = policy
        self.trust = trust
        self.source = source
    }

    /// Throws unless `signature` (base64) is PayPal's signature of `message` made with the
    /// certificate at `certificateURL`, valid at `date`.
    public func verify(
        signature: String,
        message: [UInt8],
        algorithm: String?,
        certificateURL: String?,
        at date: Date
    ) async throws(WebhookError) {
        guard algorithm == "SHA256withRSA" else {
            throw WebhookError(.malformedSignature, "PAYPAL-AUTH-ALGO must be SHA256withRSA, got \(algorithm ?? "none")")
        }
        guard let certificateURL, !certificateURL.isEmpty else {
            throw WebhookError(.missingSignature, "PAYPAL-CERT-URL is required")
        }
        let accepted: CertificateURLPolicy.Accepted
        switch policy.check(certificateURL) {
        case .success(let value): accepted = value
        case .failure(let refusal): throw WebhookError(.malformedSignature, refusal.reason)
        }
        guard let signatureBytes = Data(base64Encoded: signature), !signatureBytes.isEmpty else {
            throw WebhookError(.malformedSignature, "PAYPAL-TRANSMISSION-SIG is not base64")
        }
        let certificate = try await signingCertificate(at: accepted.url, at: date)
        let key: RSAPublicKey
        do {
            key = try certificate.publicKey
        } catch {
            throw WebhookError(.signatureMismatch, "the signing certificate has no usable RSA key: \(error)")
        }
        guard key.isValidSignature(signatureBytes, for: message) else {
            throw WebhookError(.signatureMismatch, "PAYPAL-TRANSMISSION-SIG does not verify under the signing certificate")
        }
    }

    private func signingCertificate(at url: String, at date: Date) async throws(WebhookError) -> X509Certificate {
        if let cached = cache[url] {
            if cached.notBefore <= date, date <= cached.notAfter { return cached }
            cache[url] = nil
        }
        fetchCount += 1
        let pem = try await source.certificates(at: url)
        let chain: [X509Certificate]
        do {
            chain = try X509Certificate.chain(pem: pem)
        } catch {
            throw WebhookError(.signatureMismatch, "the certificate at \(url) does not parse: \(error)")
        }
        guard let leaf = chain.first else {
            throw WebhookError(.signatureMismatch, "no certificate at \(url)")
        }
        do {
            try trust.verify(leaf, intermediates: Array(chain.dropFirst()), at: date)
        } catch {
            throw WebhookError(.signatureMismatch, "the certificate at \(url) is not trusted: \(error.reason)")
        }
        guard !leaf.isCA else {
            throw WebhookError(.signatureMismatch, "the certificate at \(url) is a CA, not a signing certificate")
        }
        if cache.count >= Self.cacheLimit {
            // Expired entries go first; if none, an arbitrary one: the cost is one refetch.
            if let stale = cache.first(where: { $0.value.notAfter < date })?.key ?? cache.keys.first {
                cache[stale] = nil
            }
        }
        cache[url] = leaf
        return leaf
    }
}

/// Fetches certificates with the plugin's HTTP client: a plain GET, no redirects (TillHTTP
/// never follows them, so an allowed host cannot bounce the fetch elsewhere), and a body
/// of at most ``maximumBytes``. A transport failure or a 5xx is `verificationUnavailable`
/// (deliver again later); any other answer but 200 is a rejection.
public struct HTTPCertificateSource: PayPalCertificateSource {
    /// The largest certificate chain accepted, in bytes.
    public static let maximumBytes = 64 * 1024

    let http: HTTPClient

    public init(http: HTTPClient) {
        self.http = http
    }

    public func certificates(at url: String) async throws(WebhookError) -> String {
        let response: HTTPResponse
        do {
            response = try await http.execute(HTTPRequest(method: .GET, url: url), timeout: .seconds(10))
        } catch {
            throw WebhookError(.verificationUnavailable, "cannot fetch the signing certificate from \(url): \(error)")
        }
        // A server failure may pass; anything else the allowed host answers is final.
        guard !(500..<600).contains(response.status) else {
            throw WebhookError(
                .verificationUnavailable, "fetching the signing certificate from \(url) answered \(response.status)")
        }
        guard response.status == 200 else {
            throw WebhookError(.signatureMismatch, "fetching the signing certificate from \(url) answered \(response.status)")
        }
        guard response.body.count <= Self.maximumBytes else {
            throw WebhookError(.signatureMismatch, "the certificate at \(url) is larger than \(Self.maximumBytes) bytes")
        }
        return String(decoding: response.body, as: UTF8.self)
    }
}
