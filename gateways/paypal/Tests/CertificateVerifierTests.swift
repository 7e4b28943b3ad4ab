import Foundation
import PayPalGateway
import TillCrypto
import TillGateway
import Testing

/// Serves one PEM for every URL and counts the fetches, so tests see exactly when the
/// verifier goes to the network.
actor StaticCertificateSource: PayPalCertificateSource {
    let pem: String
    private(set) var requests: [String] = []

    init(pem: String) {
        self.pem = pem
    }

    func certificates(at url: String) async throws(WebhookError) -> String {
        requests.append(url)
        return pem
    }
}

@Suite("PayPal certificate verifier")
struct CertificateVerifierTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let url = "https://api.paypal.com/v1/notifications/certs/CERT-test"

    struct PKI {
        let root: X509Issuer
        let signingKey: RSAPrivateKey
        let leaf: X509Certificate

        init(leafNotAfter: Date = CertificateVerifierTests.now + 86_400) throws {
            root = try .selfSigned(
                commonName: "PayPal-like Root", key: .generate(), notBefore: CertificateVerifierTests.now - 86_400,
                notAfter: CertificateVerifierTests.now + 864_000)
            signingKey = try .generate()
            leaf = try root.issue(
                commonName: "messageverificationcerts.paypal.test", subjectKey: signingKey,
                notBefore: CertificateVerifierTests.now - 3600, notAfter: leafNotAfter)
        }

        func sign(_ message: [UInt8]) throws -> String {
            Data(try signingKey.signature(for: message)).base64EncodedString()
        }
    }

    @Test("A valid signature verifies, and the certificate is fetched once for many webhooks")
    func validAndCached() async throws {
        let pki = try PKI()
        let source = StaticCertificateSource(pem: pki.leaf.pemRepresentation)
        let verifier = PayPalCertificateVerifier(
            policy: CertificateURLPolicy(), trust: try X509TrustStore(anchors: [pki.root.certificate]), source: source)
        for index in 0..<5 {
            let message = Array("id-\(index)|2026-12-03T07:00:00Z|WH-1|123".utf8)
            try await verifier.verify(
                signature: pki.sign(message), message: message, algorithm: "SHA256withRSA", certificateURL: Self.url,
                at: Self.now)
        }
        #expect(await source.requests == [Self.url])
        #expect(await verifier.fetchCount == 1)
    }

    @Test("Tampered message, other algorithm, refused URL, foreign CA and expired certificate are rejected")
    func rejections() async throws {
        let pki = try PKI()
        let message = Array("id|2026-12-03T07:00:00Z|WH-1|123".utf8)
        let signature = try pki.sign(message)
        let source = StaticCertificateSource(pem: pki.leaf.pemRepresentation)
        let verifier = PayPalCertificateVerifier(
            policy: CertificateURLPolicy(), trust: try X509TrustStore(anchors: [pki.root.certificate]), source: source)

        await #expect(throws: WebhookError.self) {
            try await verifier.verify(
                signature: signature, message: message + [0x31], algorithm: "SHA256withRSA", certificateURL: Self.url,
                at: Self.now)
        }
        await #expect(throws: WebhookError.self) {
            try await verifier.verify(
                signature: signature, message: message, algorithm: "HMACSHA256", certificateURL: Self.url, at: Self.now)
        }
        let fetchesBefore = await source.requests.count
        for bad in ["https://evil.test/v1/notifications/certs/CERT-test", "http://api.paypal.com/v1/notifications/certs/CERT-test"] {
            await #expect(throws: WebhookError.self) {
                try await verifier.verify(
                    signature: signature, message: message, algorithm: "SHA256withRSA", certificateURL: bad, at: Self.now)
            }
        }
        #expect(await source.requests.count == fetchesBefore, "a refused URL must not be fetched")

        let foreign = try PKI()
        let foreignVerifier = PayPalCertificateVerifier(
            policy: CertificateURLPolicy(), trust: try X509TrustStore(anchors: [foreign.root.certificate]),
            source: source)
        await #expect(throws: WebhookError.self) {
            try await foreignVerifier.verify(
                signature: signature, message: message, algorithm: "SHA256withRSA", certificateURL: Self.url,
                at: Self.now)
        }

        let expired = try PKI(leafNotAfter: Self.now - 60)
        let expiredVerifier = PayPalCertificateVerifier(
            policy: CertificateURLPolicy(), trust: try X509TrustStore(anchors: [expired.root.certificate]),
            source: StaticCertificateSource(pem: expired.leaf.pemRepresentation))
        await #expect(throws: WebhookError.self) {
            try await expiredVerifier.verify(
                signature: try expired.sign(message), message: message, algorithm: "SHA256withRSA",
                certificateURL: Self.url, at: Self.now)
        }
    }
}
