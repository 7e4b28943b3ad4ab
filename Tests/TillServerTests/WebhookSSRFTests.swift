import Foundation
import Logging
import StripeSandbox
import Synchronization
import TillHTTP
import TillServer
import TillStore
import TillTesting
import Testing

@Suite("Webhook endpoints cannot reach internal destinations (SSRF)")
struct WebhookSSRFTests {
    @Test("registering an internal destination is refused with url_not_allowed, and nothing is stored")
    func registrationRefused() async throws {
        try await DaemonHarness.with { harness in
            let daemonPort = harness.daemon.port
            let stripe = harness.stripe.baseURL
            var attacks = [
                "\(stripe)/_sandbox/reset", "\(harness.baseURL)/v1/payments", "http://169.254.169.254/latest/meta-data/",
                "http://2130706433:\(daemonPort)/", "http://0x7f.1:\(daemonPort)/", "http://0x7f000001/", "http://017700000001/",
                "http://127.1/", "http://[::1]:\(daemonPort)/", "http://[::ffff:127.0.0.1]/", "http://localhost:\(daemonPort)/",
                "http://api.localhost/", "http://10.0.0.5:6379/", "http://192.168.0.1/", "http://100.64.0.1/", "http://0.0.0.0/",
                "http://[fe80::1]/", "http://[fd00::1]/", "http://[64:ff9b::7f00:1]/",
            ]
            // Listing the daemon or a sandbox as allowed does not open the daemon's API or the
            // sandbox's admin paths.
            harness.allowWebhooks(to: try #require(SocketEndpoint("127.0.0.1:\(daemonPort)")))
            harness.allowWebhooks(to: try #require(SocketEndpoint("127.0.0.1:\(harness.stripe.port)")))
            attacks += ["\(harness.baseURL)/v1/payments", "\(stripe)/_sandbox/reset", "\(stripe)/x/%2e%2e/_sandbox/reset"]
            for url in attacks {
                let answer = try await harness.call(.POST, "/v1/webhook_endpoints", json: #"{"url": "\#(url)"}"#)
                #expect(answer.status == 400, "\(url): \(answer.text)")
                #expect(["url_not_allowed", "url_invalid"].contains(answer.errorCode ?? ""), "\(url): \(answer.text)")
                // The refusal names the rule, not an address the daemon resolved.
                #expect((answer.json["error"] as? [String: Any])?["param"] as? String == "url")
            }
            for url in ["http://0x7f.1/", "\(stripe)/_sandbox/reset", "\(harness.baseURL)/v1/payments", "http://localhost/"] {
                let answer = try await harness.call(.POST, "/v1/webhook_endpoints", json: #"{"url": "\#(url)"}"#)
                #expect(answer.errorCode == "url_not_allowed", "\(url): \(answer.text)")
            }
            let list = try await harness.call(.GET, "/v1/webhook_endpoints")
            #expect((list.json["data"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("a failed delivery shows a coarse class, never the connection's message or address")
    func coarseErrors() async throws {
        try await DaemonHarness.with { harness in
            // Allowed, but nothing listens on port 9: the connection is refused.
            harness.allowWebhooks(to: try #require(SocketEndpoint("127.0.0.1:9")))
            let created = try await harness.call(.POST, "/v1/webhook_endpoints", json: #"{"url": "http://127.0.0.1:9/hooks"}"#)
            #expect(created.status == 201, "\(created.text)")
            let paymentID = try await WebhooksTests.authorize(harness)
            let event = try #require(try await WebhooksTests.events(harness, query: "payment=\(paymentID)").first)
            let eventID = try #require(event["id"] as? String)
            let deadline = ContinuousClock.now + .seconds(20)
            var answer = try await harness.call(.GET, "/v1/events/\(eventID)")
            while ContinuousClock.now < deadline, Self.attempts(answer.json).isEmpty {
                try await Task.sleep(for: .milliseconds(50))
                answer = try await harness.call(.GET, "/v1/events/\(eventID)")
            }
            let attempts = Self.attempts(answer.json)
            #expect(!attempts.isEmpty)
            #expect(attempts.allSatisfy { $0["error"] as? String == "connect_failed" }, "\(answer.text)")
            #expect(attempts.allSatisfy { $0["status_code"] is NSNull })
            let delivery = (answer.json["deliveries"] as? [[String: Any]])?.first
            #expect(delivery?["last_error"] as? String == "connect_failed")
            for leak in ["refused", "Failed to connect", "127.0.0.1", "port 9", "curl"] {
                #expect(!answer.text.contains(leak), "\(leak) in \(answer.text)")
            }
        }
    }

    static func attempts(_ event: [String: Any]) -> [[String: Any]] {
        ((event["deliveries"] as? [[String: Any]])?.first?["attempts"] as? [[String: Any]]) ?? []
    }

    @Test("a name is judged by the addresses it resolves to at delivery, and the connection is pinned to them")
    func resolvedAtDelivery() async throws {
        let allowed = try await WebhookReceiver.start()
        let other = try await WebhookReceiver.start()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("till-ssrf-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let store = Store(database: try StoreDatabase.open(path: directory + "/till.sqlite", migrations: TillSchema.migrations))
            try await store.insert(merchant: MerchantRecord(id: "mer_test", name: "Shop", createdAt: Date()))
            let allowedPort = try #require(allowed.socketEndpoint?.port)
            let otherPort = try #require(other.socketEndpoint?.port)
            // Registered while the names pointed anywhere; what counts is what they resolve to now.
            let endpoints = [
                ("we_pinned", "http://hooks.shop.test:\(allowedPort)/webhooks"),
                ("we_rebound", "http://rebind.shop.test:\(otherPort)/webhooks"),
                ("we_mixed", "http://mixed.shop.test:\(allowedPort)/webhooks"),
                ("we_metadata", "http://metadata.shop.test:\(allowedPort)/webhooks"),
                ("we_nxdomain", "http://nothing.shop.test:\(allowedPort)/webhooks"),
            ]
            for (id, url) in endpoints {
                try await store.insert(
                    endpoint: WebhookEndpointRecord(id: id, merchantId: "mer_test", url: url, secret: "whsec_t", createdAt: Date()))
            }
            let asked = Mutex<[String]>([])
            let resolver: WebhookResolver = { name in
                asked.withLock { $0.append(name) }
                switch name {
                case "hooks.shop.test", "rebind.shop.test": return [.v4(0x7F00_0001)]
                case "mixed.shop.test": return [.v4(0x5DB8_D822), .v4(0x7F00_0001), .v4(0x0A00_0001)]
                case "metadata.shop.test": return [.v4(0xA9FE_A9FE)]
                default: throw ResolutionFailure(code: -2)
                }
            }
            let event = try await WebhooksOutboxTests.insertEvent(store, merchantID: "mer_test")
            let worker = OutboxDelivery(
                store: store, configuration: .init(pollInterval: .milliseconds(10), retryWindow: .seconds(3600)),
                logger: WebhooksOutboxTests.quietLogger,
                destinations: WebhookDestinations(
                    WebhookURLPolicy(allowsPlainHTTP: true, allowed: [try #require(allowed.socketEndpoint)])),
                resolve: resolver)
            let running = Task { try await worker.run() }
            let received = try await allowed.wait(count: 1)
            let deadline = ContinuousClock.now + .seconds(20)
            var deliveries: [(OutboxRecord, [DeliveryAttemptRecord])] = []
            while ContinuousClock.now < deadline {
                deliveries = try await store.deliveries(eventID: event.id, merchantID: "mer_test")
                if deliveries.count == endpoints.count, deliveries.allSatisfy({ !$0.1.isEmpty }) { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            running.cancel()
            _ = await running.result

            // `hooks.shop.test` exists nowhere: only the pinned address can have carried it.
            #expect(received.first?.path == "/webhooks")
            #expect(other.received.isEmpty)
            #expect(allowed.received.count == 1)
            func firstError(_ id: String) -> String? {
                deliveries.first { $0.0.endpointId == id }?.1.first?.error
            }
            #expect(deliveries.first { $0.0.endpointId == "we_pinned" }?.0.status == .delivered)
            #expect(firstError("we_rebound") == "not_allowed")
            #expect(firstError("we_mixed") == "not_allowed")
            #expect(firstError("we_metadata") == "not_allowed")
            #expect(firstError("we_nxdomain") == "dns_failed")
            #expect(asked.withLock { Set($0) }.isSuperset(of: ["hooks.shop.test", "rebind.shop.test", "mixed.shop.test"]))
        } catch {
            await allowed.stop()
            await other.stop()
            throw error
        }
        await allowed.stop()
        await other.stop()
    }

    @Test("an endpoint stored before the policy existed (loopback, localhost) is refused at delivery")
    func storedBeforeThePolicy() async throws {
        let receiver = try await WebhookReceiver.start()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("till-ssrf-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let store = Store(database: try StoreDatabase.open(path: directory + "/till.sqlite", migrations: TillSchema.migrations))
            try await store.insert(merchant: MerchantRecord(id: "mer_test", name: "Shop", createdAt: Date()))
            let port = try #require(receiver.socketEndpoint?.port)
            for (id, url) in [("we_literal", receiver.url), ("we_localhost", "http://localhost:\(port)/webhooks")] {
                try await store.insert(
                    endpoint: WebhookEndpointRecord(id: id, merchantId: "mer_test", url: url, secret: "whsec_t", createdAt: Date()))
            }
            let event = try await WebhooksOutboxTests.insertEvent(store, merchantID: "mer_test")
            // The sandbox policy with no allow-list entry: localhost is refused by its name, the
            // literal by its address.
            let worker = OutboxDelivery(
                store: store, configuration: .init(pollInterval: .milliseconds(10), retryWindow: .seconds(3600)),
                logger: WebhooksOutboxTests.quietLogger, destinations: WebhookDestinations(WebhookURLPolicy(allowsPlainHTTP: true)))
            let running = Task { try await worker.run() }
            let deadline = ContinuousClock.now + .seconds(20)
            var deliveries: [(OutboxRecord, [DeliveryAttemptRecord])] = []
            while ContinuousClock.now < deadline {
                deliveries = try await store.deliveries(eventID: event.id, merchantID: "mer_test")
                if deliveries.count == 2, deliveries.allSatisfy({ !$0.1.isEmpty }) { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            running.cancel()
            _ = await running.result
            #expect(deliveries.count == 2)
            #expect(deliveries.allSatisfy { $0.1.allSatisfy { $0.error == "not_allowed" } })
            #expect(receiver.received.isEmpty)
        } catch {
            await receiver.stop()
            throw error
        }
        await receiver.stop()
    }

    @Test("raw delivery errors stored by an earlier version are reduced to their class by the migration")
    func migration() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("till-ssrf-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/till.sqlite"
        let old = Array(TillSchema.migrations.prefix(1))
        do {
            let store = Store(database: try StoreDatabase.open(path: path, migrations: old))
            try await store.insert(merchant: MerchantRecord(id: "mer_test", name: "Shop", createdAt: Date()))
            try await store.insert(
                endpoint: WebhookEndpointRecord(
                    id: "we_old", merchantId: "mer_test", url: "http://10.0.0.5:6379/", secret: "whsec_t", createdAt: Date()))
            let event = try await WebhooksOutboxTests.insertEvent(store, merchantID: "mer_test")
            let delivery = try #require(try await store.deliveries(eventID: event.id, merchantID: "mer_test").first)
            var outbox = delivery.0
            let messages = [
                "connect: Failed to connect to 10.0.0.5 port 6379 after 0 ms: Connection refused (0 request bytes sent)",
                "the endpoint answered HTTP 500", "timeout: Connection timed out after 5001 milliseconds",
                "tls: SSL certificate problem", "resolve: Could not resolve host: internal.corp", "receive: Empty reply",
                "endpoint deleted", "something else",
            ]
            for message in messages {
                outbox.attempts += 1
                outbox.lastError = message
                try await store.recordAttempt(
                    DeliveryAttemptRecord(
                        outboxId: try #require(outbox.id), attemptedAt: Date(), statusCode: nil, error: message,
                        durationMilliseconds: 1),
                    outbox: outbox)
            }
        }
        let store = Store(database: try StoreDatabase.open(path: path, migrations: TillSchema.migrations))
        let deliveries = try await store.deliveries(eventID: try #require(try await Self.onlyEventID(store)), merchantID: "mer_test")
        let attempts = try #require(deliveries.first?.1)
        #expect(
            attempts.map(\.error) == [
                "connect_failed", "http_status", "timeout", "tls_error", "dns_failed", "invalid_response", "endpoint_deleted",
                "delivery_failed",
            ])
        #expect(deliveries.first?.0.lastError == "delivery_failed")
    }

    static func onlyEventID(_ store: Store) async throws -> String? {
        try await store.events(merchantID: "mer_test", type: nil, paymentID: nil, startingAfter: nil, limit: 1).items.first?.id
    }
}
