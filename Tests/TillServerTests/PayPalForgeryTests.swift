import Foundation
import PayPalSandbox
import SandboxSupport
import TillHTTP
import TillServer
import TillStore
import TillTesting
import Testing

/// PayPal's transmission signature covers `crc32(body)`, not the body: anyone holding one
/// genuine delivery can write another body with the same CRC32 under the same signed
/// headers. These tests play that attacker against the daemon over real loopback HTTP.
@Suite("PayPal webhooks: forged bodies under genuine signatures")
struct PayPalForgeryTests {
    /// A captured 2000 USD payment through PayPal, and the genuine PAYMENT.CAPTURE.COMPLETED
    /// delivery for it, as the attacker's receiver saw it.
    static func capturedPayment(
        _ harness: DaemonHarness, receiver: WebhookReceiver
    ) async throws -> (payment: String, captureTransaction: String, genuine: WebhookReceiver.Received) {
        try await harness.paypalAdmin.addWebhookEndpoint(receiver.url)
        let token = try await harness.tokenize()
        let created = try await harness.call(
            .POST, "/v1/payments",
            json: #"{"amount": 2000, "currency": "usd", "token": "\#(token)", "gateway": "paypal"}"#)
        #expect(created.status == 201, "\(created.text)")
        let id = try #require(created.json["id"] as? String)
        let captures = (created.json["transactions"] as? [[String: Any]] ?? []).filter { $0["type"] as? String == "capture" }
        let capture = try #require(captures.first?["id"] as? String)
        let genuine = try await receiver.wait(for: { $0.bodyString.contains("PAYMENT.CAPTURE.COMPLETED") })
        return (id, capture, genuine)
    }

    /// A CUSTOMER.DISPUTE.CREATED for the whole payment, with the genuine body's CRC32.
    static func forgedDispute(of genuine: [UInt8], captureTransaction: String) throws -> [UInt8] {
        let prefix = Array(#"{"id":"WH-FORGED-DISPUTE","event_type":"CUSTOMER.DISPUTE.CREATED","summary":""#.utf8)
        let suffix = Array(
            (#"","resource":{"dispute_id":"PP-D-FORGED","reason":"MERCHANDISE_OR_SERVICE_NOT_RECEIVED","#
                + #""status":"WAITING_FOR_SELLER_RESPONSE","dispute_life_cycle_stage":"CHARGEBACK","#
                + #""dispute_amount":{"currency_code":"USD","value":"20.00"},"#
                + #""disputed_transactions":[{"invoice_number":"\#(captureTransaction)"}]}}"#).utf8)
        let forged = try #require(CRC32Forgery.forge(prefix: prefix, suffix: suffix, target: CRC32Forgery.checksum(genuine)))
        #expect(CRC32Forgery.checksum(forged) == CRC32Forgery.checksum(genuine))
        return forged
    }

    static func post(_ harness: DaemonHarness, headers: [String: String], body: [UInt8]) async throws -> DaemonHarness.Answer {
        let signed = headers.filter { $0.key.lowercased().hasPrefix("paypal-") }
        return try await harness.send(
            .POST, "/v1/gateways/paypal/webhooks", bytes: body, contentType: "application/json", key: "", headers: signed)
    }

    @Test("sent after the genuine delivery, the forged body is a duplicate of its transmission and changes nothing")
    func afterTheGenuine() async throws {
        // The attacker sits where the merchant's deliveries pass (the daemon's own endpoint
        // is left unconnected so that each delivery reaches it exactly as the test sends it).
        let harness = try await DaemonHarness.start(connectPayPalWebhooks: false)
        let receiver = try await WebhookReceiver.start()
        defer { Task { await receiver.stop(); await harness.stop() } }
        let (id, capture, genuine) = try await Self.capturedPayment(harness, receiver: receiver)
        let transmission = try #require(genuine.headers["paypal-transmission-id"])
        let delivered = try await Self.post(harness, headers: genuine.headers, body: genuine.body)
        #expect(delivered.status == 200, "\(delivered.text)")
        #expect(["applied", "unchanged"].contains(delivered.json["result"] as? String), "\(delivered.text)")
        let forged = try Self.forgedDispute(of: genuine.body, captureTransaction: capture)
        let answer = try await Self.post(harness, headers: genuine.headers, body: forged)
        #expect(answer.status == 200, "\(answer.text)")
        #expect(answer.json["result"] as? String == "duplicate")
        let payment = try await harness.call(.GET, "/v1/payments/\(id)")
        #expect(payment.json["status"] as? String == "captured")
        #expect((payment.json["disputes"] as? [Any])?.isEmpty ?? true)

        // The delivery id is on disk: a second connection to the database file, as a
        // restarted daemon would open it, finds it.
        let database = try StoreDatabase.open(
            path: (harness.dataDirectory as NSString).appendingPathComponent("till.sqlite"), migrations: Daemon.migrations)
        #expect(try await Store(database: database).hasGatewayDelivery(gateway: "paypal", deliveryID: transmission))
    }

    @Test("sent instead of the genuine delivery, the forged dispute is unconfirmed by PayPal's API and changes nothing")
    func insteadOfTheGenuine() async throws {
        let harness = try await DaemonHarness.start(connectPayPalWebhooks: false)
        let receiver = try await WebhookReceiver.start()
        defer { Task { await receiver.stop(); await harness.stop() } }
        let (id, capture, genuine) = try await Self.capturedPayment(harness, receiver: receiver)
        let forged = try Self.forgedDispute(of: genuine.body, captureTransaction: capture)
        let answer = try await Self.post(harness, headers: genuine.headers, body: forged)
        #expect(answer.status == 200, "\(answer.text)")
        #expect(answer.json["result"] as? String == "unconfirmed")
        let payment = try await harness.call(.GET, "/v1/payments/\(id)")
        #expect(payment.json["status"] as? String == "captured")
        #expect((payment.json["disputes"] as? [Any])?.isEmpty ?? true)
        #expect(try await harness.daemon.server.store.hasGatewayEvent(gateway: "paypal", eventID: "WH-FORGED-DISPUTE") == false)

        // The transmission is spent: the genuine body under the same headers now changes
        // nothing either, and neither does the forgery sent again.
        let late = try await Self.post(harness, headers: genuine.headers, body: genuine.body)
        #expect(late.status == 200, "\(late.text)")
        #expect(late.json["result"] as? String == "duplicate")
        let again = try await Self.post(harness, headers: genuine.headers, body: forged)
        #expect(again.json["result"] as? String == "duplicate")
    }

    @Test("a certificate URL on another host, or a chain from another CA, is refused before anything is applied")
    func certificateTricks() async throws {
        let harness = try await DaemonHarness.start(connectPayPalWebhooks: false)
        let receiver = try await WebhookReceiver.start()
        defer { Task { await receiver.stop(); await harness.stop() } }
        let (id, _, genuine) = try await Self.capturedPayment(harness, receiver: receiver)

        var elsewhere = genuine.headers
        elsewhere["paypal-cert-url"] = "http://127.0.0.1:1/v1/notifications/certs/CERT-attacker"
        let refused = try await Self.post(harness, headers: elsewhere, body: genuine.body)
        #expect(refused.status == 400, "\(refused.text)")
        #expect((refused.json["error"] as? [String: Any])?["code"] as? String == "malformed_signature")

        // An attacker running a sandbox of their own signs correctly, under a CA the daemon
        // does not trust; the URL even names the daemon's own sandbox host.
        let attacker = try PayPalSigningAuthority.generate()
        var forged = genuine.headers
        let transmission = "attacker-\(UUID().uuidString)"
        let time = try #require(genuine.headers["paypal-transmission-time"])
        forged["paypal-transmission-id"] = transmission
        forged["paypal-transmission-sig"] = try attacker.signature(
            transmissionID: transmission, time: time, webhookID: harness.paypal.webhookID, body: genuine.body)
        let mismatch = try await Self.post(harness, headers: forged, body: genuine.body)
        #expect(mismatch.status == 400, "\(mismatch.text)")
        #expect((mismatch.json["error"] as? [String: Any])?["code"] as? String == "signature_mismatch")
        #expect(try await harness.daemon.server.store.hasGatewayDelivery(gateway: "paypal", deliveryID: transmission) == false)
        let payment = try await harness.call(.GET, "/v1/payments/\(id)")
        #expect(payment.json["status"] as? String == "captured")
    }

    @Test("when the signing certificate cannot be fetched the answer is a 503, nothing is recorded, and redelivery applies")
    func certificateEndpointDown() async throws {
        let harness = try await DaemonHarness.start(connectPayPalWebhooks: false)
        let receiver = try await WebhookReceiver.start()
        defer { Task { await receiver.stop(); await harness.stop() } }
        let (_, _, genuine) = try await Self.capturedPayment(harness, receiver: receiver)
        try await harness.paypalAdmin.inject(
            FaultRule(kind: .error, status: 503, count: 1, path: "/v1/notifications/certs/"))
        let unavailable = try await Self.post(harness, headers: genuine.headers, body: genuine.body)
        #expect(unavailable.status == 503, "\(unavailable.text)")
        #expect(unavailable.headers.first(name: "Retry-After") == "60")
        let delivery = try #require(genuine.headers["paypal-transmission-id"])
        #expect(try await harness.daemon.server.store.hasGatewayDelivery(gateway: "paypal", deliveryID: delivery) == false)
        let again = try await Self.post(harness, headers: genuine.headers, body: genuine.body)
        #expect(again.status == 200, "\(again.text)")
        #expect(again.json["result"] as? String != "duplicate")
        #expect(try await harness.daemon.server.store.hasGatewayDelivery(gateway: "paypal", deliveryID: delivery))
    }
}
