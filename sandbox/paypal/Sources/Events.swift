import Foundation
import SandboxSupport
import ServiceLifecycle
import Synchronization

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
        let signing = self.signing
        return { body, now in
            let transmissionID = UUID().uuidString.lowercased()
            let time = now.paypalString
            // Signing with a key already in memory fails only if OpenSSL itself is broken; an
            // empty signature then makes every receiver refuse the event, as it should.
            let signature =
                (try? signing.signature(transmissionID: transmissionID, time: time, webhookID: webhookID, body: body)) ?? ""
            return [
                ("PAYPAL-TRANSMISSION-ID", transmissionID),
                ("PAYPAL-TRANSMISSION-TIME", time),
                ("PAYPAL-AUTH-ALGO", PayPalWebhookSignature.algorithm),
                ("PAYPAL-TRANSMISSION-SIG", signature),
                ("PAYPAL-CERT-URL", "\(base)/v1/notifications/certs/\(signing.certificateName)"),
            ]
        }
    }
}
