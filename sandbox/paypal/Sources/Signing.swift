import TillCore
import Foundation
import TillCrypto

/// The sandbox's stand-in for PayPal's certificate authority and webhook signing key.
///
/// PayPal signs every webhook with SHA256withRSA under a certificate it serves from
/// `/v1/notifications/certs/…`, and receivers check that certificate's chain against their
/// CA bundle. The sandbox does exactly that with a hierarchy of its own: a root (the anchor a
/// client in sandbox mode trusts), an intermediate, and a signing certificate issued by the
/// intermediate, so the real algorithm, chain building included, is what every test runs.
public struct PayPalSigningAuthority: Sendable {
    /// The root certificate: trust this (and only this) to accept the sandbox's webhooks.
    public let root: X509Certificate
    /// The certificate whose key signs webhooks.
    public let signingCertificate: X509Certificate
    /// The signing certificate followed by the intermediate, as served at the certificate URL.
    public let chainPEM: String
    let signingKey: RSAPrivateKey

    /// The root as PEM, for a trust store.
    public var rootPEM: String { root.pemRepresentation }

    /// The certificate's name in its URL, `CERT-` and a prefix of its SHA-256 fingerprint
    /// (PayPal's names are opaque too; a new key means a new URL, so caches never go stale).
    public var certificateName: String {
        "CERT-" + String(Hex.encode(SHA256.hash(data: signingCertificate.derBytes).bytes).prefix(16))
    }

    /// A fresh hierarchy valid from a day before `now` for `lifetime` after it.
    public static func generate(now: Date = Date(), lifetime: TimeInterval = 365 * 24 * 3600) throws(CryptoError)
        -> PayPalSigningAuthority
    {
        let notBefore = now.addingTimeInterval(-24 * 3600)
        let notAfter = now.addingTimeInterval(lifetime)
        let root = try X509Issuer.selfSigned(
            commonName: "Till PayPal Sandbox Root CA", key: RSAPrivateKey.generate(), notBefore: notBefore,
            notAfter: notAfter)
        let intermediateKey = try RSAPrivateKey.generate()
        let intermediate = X509Issuer(
            certificate: try root.issue(
                commonName: "Till PayPal Sandbox Intermediate CA", subjectKey: intermediateKey, notBefore: notBefore,
                notAfter: notAfter, isCA: true),
            key: intermediateKey)
        let signingKey = try RSAPrivateKey.generate()
        let signing = try intermediate.issue(
            commonName: "messageverificationcerts.sandbox.paypal.example", subjectKey: signingKey, notBefore: notBefore,
            notAfter: notAfter)
        return PayPalSigningAuthority(
            root: root.certificate, signingCertificate: signing,
            chainPEM: signing.pemRepresentation + intermediate.certificate.pemRepresentation, signingKey: signingKey)
    }

    /// One hierarchy per process: RSA key generation costs tens of milliseconds a key, and
    /// a test run starts hundreds of sandboxes. `nil` if generation failed (then each
    /// sandbox tries again and reports the error).
    static let processWide: PayPalSigningAuthority? = try? generate()

    /// The base64 SHA256withRSA signature of the message PayPal signs.
    public func signature(transmissionID: String, time: String, webhookID: String, body: [UInt8]) throws(CryptoError) -> String {
        let message = PayPalWebhookSignature.message(
            transmissionID: transmissionID, time: time, webhookID: webhookID, body: body)
        return Data(try signingKey.signature(for: Array(message.utf8))).base64EncodedString()
    }

    /// Whether `signature` (base64) is this authority's signature of the message.
    public func isValid(signature: String, transmissionID: String, time: String, webhookID: String, body: [UInt8]) -> Bool {
        guard let given = Data(base64Encoded: signature), let key = try? signingCertificate.publicKey else { return false }
        let message = PayPalWebhookSignature.message(
            transmissionID: transmissionID, time: time, webhookID: webhookID, body: body)
        return key.isValidSignature(given, for: Array(message.utf8))
    }
}

/// The message PayPal's webhook transmission signature covers:
/// `<transmission id>|<transmission time>|<webhook id>|<crc32>`, where `crc32` is the CRC-32
/// of the exact body bytes as an unsigned decimal number. The signature is SHA256withRSA
/// (`PAYPAL-AUTH-ALGO: SHA256withRSA`) under the certificate at `PAYPAL-CERT-URL`.
public enum PayPalWebhookSignature {
    /// The algorithm name PayPal sends in `PAYPAL-AUTH-ALGO`.
    public static let algorithm = "SHA256withRSA"

    /// The message the signature covers.
    public static func message(transmissionID: String, time: String, webhookID: String, body: [UInt8]) -> String {
        "\(transmissionID)|\(time)|\(webhookID)|\(CRC32.checksum(body))"
    }
}
