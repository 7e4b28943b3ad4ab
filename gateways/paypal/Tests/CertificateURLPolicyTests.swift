import PayPalGateway
import Testing

@Suite("PayPal certificate URL policy")
struct CertificateURLPolicyTests {
    @Test("PayPal's own certificate URLs are accepted and rebuilt from their parts", arguments: [
        ("https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
         "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270"),
        ("https://api-m.sandbox.paypal.com:443/v1/notifications/certs/CERT-1",
         "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-1"),
        ("https://API.PayPal.com/v1/notifications/certs/CERT_2", "https://api.paypal.com/v1/notifications/certs/CERT_2"),
    ])
    func accepted(_ text: String, _ url: String) throws {
        let accepted = try CertificateURLPolicy().check(text).get()
        #expect(accepted.url == url)
    }

    @Test("Anything else is refused before any fetch", arguments: [
        "", "api.paypal.com/v1/notifications/certs/CERT-1",
        "http://api.paypal.com/v1/notifications/certs/CERT-1",
        "ftp://api.paypal.com/v1/notifications/certs/CERT-1",
        "https://evil.test/v1/notifications/certs/CERT-1",
        "https://api.paypal.com.evil.test/v1/notifications/certs/CERT-1",
        "https://api.paypal.com@evil.test/v1/notifications/certs/CERT-1",
        "https://user:pw@api.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com:8443/v1/notifications/certs/CERT-1",
        "https://api.paypal.com/v1/oauth2/token",
        "https://api.paypal.com/v1/notifications/certs/",
        "https://api.paypal.com/v1/notifications/certs/../../oauth2/token",
        "https://api.paypal.com/v1/notifications/certs/CERT-1?x=1",
        "https://api.paypal.com/v1/notifications/certs/CERT-1#x",
        "https://api.paypal.com/v1/notifications/certs/CERT%2D1",
        "https://api.paypal.com\\@evil.test/v1/notifications/certs/CERT-1",
        "https://api.paypal.com/v1/notifications/certs/CERT 1",
        "https://api.paypal.com/v1/notifications/certs/" + String(repeating: "A", count: 600),
        "https://api.paypal.com",
    ])
    func refused(_ text: String) {
        guard case .failure(let refusal) = CertificateURLPolicy().check(text) else {
            Issue.record("accepted \(text)")
            return
        }
        #expect(!refusal.reason.isEmpty)
    }

    @Test("Plain http only when allowed, and only on the listed host:port")
    func plainHTTP() throws {
        let sandbox = CertificateURLPolicy(allowedHosts: ["127.0.0.1:9000"], allowsPlainHTTP: true)
        #expect(try sandbox.check("http://127.0.0.1:9000/v1/notifications/certs/CERT-a").get().url
            == "http://127.0.0.1:9000/v1/notifications/certs/CERT-a")
        #expect(throws: CertificateURLPolicy.Refusal.self) {
            try sandbox.check("http://127.0.0.1:9001/v1/notifications/certs/CERT-a").get()
        }
        let strict = CertificateURLPolicy(allowedHosts: ["127.0.0.1:9000"])
        #expect(throws: CertificateURLPolicy.Refusal.self) {
            try strict.check("http://127.0.0.1:9000/v1/notifications/certs/CERT-a").get()
        }
    }
}
