import Foundation
import SandboxSupport
import ServiceLifecycle
import Synchronization
import TillCrypto

extension PayPalGateway {
    /// Queues a webhook event for every endpoint, signed as PayPal signs them.
    func emit(_ type: String, resourceType: String, resource: JSON, summary: String) {
        let id = "WH-\(PayPalIDs.resource())-\(PayPalIDs.resource())"
        let base = self.base.withLock { $0 }
        let body = JSON.object([
            ("id", .string(id)),
            ("event_version", .string("1.0")),
            ("create_time", .string(environment.clock.now.paypalString)),
            ("resource_type", .string(resourceType)),
            ("resource_version", .string(resourceType == "dispute" ? "1.0" : "2.0")),
            ("event_type", .string(type)),
            ("summary", .string(summary)),
            ("resource", resource),
            (
                "links",
                .array([
                    .object([
                        ("href", .string("\(base)/v1/notifications/webhooks-events/\(id)")),
                        ("rel", .string("self")), ("method", .string("GET")),
                    ])
                ])
            ),
        ]).bytes
        sentEvents.withLock { $0[id] = body }
        environment.webhooks.send(event: type, body: body, sign: signer(base: base))
    }

    private func signer(base: String) -> WebhookDispatcher.Signer {
        let webhookID = self.webhookID
        let secret = self.webhookSecret
        return { body, now in
            let transmissionID = UUID().uuidString.lowercased()
            let time = now.paypalString
            return [
                ("PAYPAL-TRANSMISSION-ID", transmissionID),
                ("PAYPAL-TRANSMISSION-TIME", time),
                ("PAYPAL-AUTH-ALGO", "HMACSHA256"),
                (
                    "PAYPAL-TRANSMISSION-SIG",
                    PayPalWebhookSignature.signature(
                        transmissionID: transmissionID, time: time, webhookID: webhookID, body: body, secret: secret)
                ),
                ("PAYPAL-CERT-URL", "\(base)/v1/notifications/certs/CERT-sandbox-hmac"),
            ]
        }
    }
}

/// The PayPal-like sandbox's webhook transmission signature.
///
/// PayPal signs with a certificate; the sandbox, which has no certificate authority, uses a
/// shared secret instead: `PAYPAL-TRANSMISSION-SIG` is the base64 of HMAC-SHA256 keyed with
/// the webhook secret over `<transmission id>|<transmission time>|<webhook id>|<crc32>`,
/// where `crc32` is the CRC-32 of the exact body bytes as an unsigned decimal number, and
/// `PAYPAL-AUTH-ALGO` is `HMACSHA256`.
public enum PayPalWebhookSignature {
    /// The message the signature covers.
    public static func message(transmissionID: String, time: String, webhookID: String, body: [UInt8]) -> String {
        "\(transmissionID)|\(time)|\(webhookID)|\(CRC32.checksum(body))"
    }

    /// The base64 signature of `body` as sent with `transmissionID` at `time`.
    public static func signature(
        transmissionID: String, time: String, webhookID: String, body: [UInt8], secret: String
    ) -> String {
        let message = message(transmissionID: transmissionID, time: time, webhookID: webhookID, body: body)
        let code = HMACSHA256.authenticationCode(for: Array(message.utf8), key: Array(secret.utf8))
        return Data(code.bytes).base64EncodedString()
    }

    /// Whether `signature` (base64) is right for `body`, compared in constant time.
    public static func isValid(
        signature: String, transmissionID: String, time: String, webhookID: String, body: [UInt8], secret: String
    ) -> Bool {
        guard let given = Data(base64Encoded: signature) else { return false }
        let message = message(transmissionID: transmissionID, time: time, webhookID: webhookID, body: body)
        return HMACSHA256.isValidAuthenticationCode(given, for: Array(message.utf8), key: Array(secret.utf8))
    }
}
