// Fuzz target: incoming gateway webhooks (`POST /v1/gateways/{name}/webhooks`), through both
// plugins' `parseWebhook`: Stripe with a fixed secret, PayPal by certificate with a CA made
// at start-up and a certificate source that serves its chain from memory.
import Foundation
import FuzzSupport
import Logging
import PayPalGateway
import StripeGateway
import TillCrypto
import TillGateway
import TillHTTP

private let secret = "whsec_fuzz"
private let webhookID = "WH-FUZZ"
private let arrival = Date(timeIntervalSince1970: 1_700_000_000)
private let arrivalText = "2023-11-14T22:13:20Z"

// Neither gateway talks to the network while parsing a webhook; the client is only held.
private let http: HTTPClient? = try? HTTPClient()
private let stripe = http.map {
    StripeGateway(
        configuration: .init(baseURL: "http://127.0.0.1:9", secretKey: "sk_fuzz", webhookSecret: secret),
        http: $0, logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
}
private let certificateURL = "https://api.paypal.com/v1/notifications/certs/CERT-fuzz"

/// A root and a signing certificate issued by it, valid around the fixed arrival time.
private struct Signer {
    let root: X509Certificate
    let chainPEM: String
    let key: RSAPrivateKey

    init?() {
        guard let rootKey = try? RSAPrivateKey.generate(), let key = try? RSAPrivateKey.generate(),
            let root = try? X509Issuer.selfSigned(
                commonName: "Fuzz Root", key: rootKey, notBefore: arrival.addingTimeInterval(-86_400),
                notAfter: arrival.addingTimeInterval(86_400)),
            let leaf = try? root.issue(
                commonName: "fuzz signer", subjectKey: key, notBefore: arrival.addingTimeInterval(-86_400),
                notAfter: arrival.addingTimeInterval(86_400))
        else { return nil }
        self.root = root.certificate
        self.chainPEM = leaf.pemRepresentation
        self.key = key
    }
}

private struct MemorySource: PayPalCertificateSource {
    let pem: String
    func certificates(at url: String) async throws(WebhookError) -> String { pem }
}

private let signer = Signer()
private let paypal: PayPalGateway? = {
    guard let http, let signer, let trust = try? X509TrustStore(anchors: [signer.root]) else { return nil }
    return PayPalGateway(
        name: "paypal",
        configuration: .init(
            baseURL: "http://127.0.0.1:9", clientID: "fuzz", clientSecret: "fuzz", webhookID: webhookID,
            webhookVerification: .certificate(policy: CertificateURLPolicy(), trust: trust)),
        http: http, logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }), now: { arrival },
        certificateSource: MemorySource(pem: signer.chainPEM))
}()

/// The first byte picks the gateway and whether the fuzzer writes the signature headers
/// (they are the next NUL-separated fields, then the body) or the body is signed correctly,
/// so that the event parsing behind the signature check is fuzzed too.
func fuzzWebhook(_ input: UnsafeRawBufferPointer) {
    guard let mode = input.first, let stripe, let paypal, let signer else { return }
    let rest = Array(input.dropFirst())
    let signs = mode & 2 == 0
    if mode & 1 == 0 {
        let (fields, body) = split(rest, fields: signs ? 0 : 1)
        let header = signs
            ? "t=1700000000,v1=" + Hex.encode(HMACSHA256.authenticationCode(for: Array("1700000000.".utf8) + body, key: Array(secret.utf8)).bytes)
            : fields[0]
        let request = WebhookRequest(headers: ["Stripe-Signature": header], body: body, receivedAt: arrival)
        blocking { _ = try? await stripe.parseWebhook(request) }
    } else {
        let (fields, body) = split(rest, fields: signs ? 0 : 5)
        let headers: [String: String]
        if signs {
            let message = "fuzz-1|\(arrivalText)|\(webhookID)|\(crc32(body))"
            let signature = (try? signer.key.signature(for: Array(message.utf8))).map { Data($0).base64EncodedString() } ?? ""
            headers = [
                "PAYPAL-TRANSMISSION-ID": "fuzz-1", "PAYPAL-TRANSMISSION-TIME": arrivalText,
                "PAYPAL-TRANSMISSION-SIG": signature, "PAYPAL-AUTH-ALGO": "SHA256withRSA",
                "PAYPAL-CERT-URL": certificateURL,
            ]
        } else {
            headers = [
                "PAYPAL-TRANSMISSION-ID": fields[0], "PAYPAL-TRANSMISSION-TIME": fields[1],
                "PAYPAL-TRANSMISSION-SIG": fields[2], "PAYPAL-AUTH-ALGO": fields[3], "PAYPAL-CERT-URL": fields[4],
            ]
        }
        let request = WebhookRequest(headers: headers, body: body, receivedAt: arrival)
        blocking { _ = try? await paypal.parseWebhook(request) }
    }
}

/// `count` NUL-terminated text fields (empty when missing), then the rest as the body.
private func split(_ bytes: [UInt8], fields count: Int) -> ([String], [UInt8]) {
    var fields: [String] = []
    var rest = bytes[...]
    for _ in 0..<count {
        let end = rest.firstIndex(of: 0) ?? rest.endIndex
        fields.append(String(decoding: rest[..<end], as: UTF8.self))
        rest = end < rest.endIndex ? rest[(end + 1)...] : rest[end...]
    }
    return (fields, Array(rest))
}

/// CRC-32 (IEEE), which PayPal's transmission signature covers; the plugin's own is internal.
private func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return crc ^ 0xFFFF_FFFF
}

#if TILL_FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzWebhook(fuzzInput(data, size))
    return 0
}
#else
@main enum Replay {
    static func main() { replayFiles(fuzzWebhook) }
}
#endif
