import Foundation
import Logging
import TillServer
import TillStore
import TillTesting
import Testing

@Suite("The outbox worker on its own")
struct WebhooksOutboxTests {
    @Test("the backoff ceiling doubles from the initial backoff up to the cap; the jitter stays under it")
    func backoff() {
        let configuration = OutboxDelivery.Configuration()
        #expect(configuration.backoffCeiling(afterFailures: 1) == .seconds(1))
        #expect(configuration.backoffCeiling(afterFailures: 2) == .seconds(2))
        #expect(configuration.backoffCeiling(afterFailures: 5) == .seconds(16))
        #expect(configuration.backoffCeiling(afterFailures: 12) == .seconds(2048))
        #expect(configuration.backoffCeiling(afterFailures: 13) == .seconds(3600))
        #expect(configuration.backoffCeiling(afterFailures: 10_000) == .seconds(3600))
        var generator = SeededGenerator(seed: 42)
        for failures in [1, 3, 8, 20] {
            let ceiling = configuration.backoffCeiling(afterFailures: failures)
            let waits = (0..<200).map { _ in configuration.backoff(afterFailures: failures, using: &generator) }
            #expect(waits.allSatisfy { $0 >= .zero && $0 <= ceiling })
            // Full jitter spreads over the whole range, not only near the ceiling.
            #expect(waits.contains { $0 < ceiling / 4 } && waits.contains { $0 > ceiling * 3 / 4 })
        }
    }

    @Test("a delivery that keeps failing is given up after the retry window; every attempt is recorded")
    func givesUp() async throws {
        let receiver = try await WebhookReceiver.start()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("till-outbox-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let store = Store(database: try StoreDatabase.open(path: directory + "/till.sqlite", migrations: TillSchema.migrations))
            let merchant = MerchantRecord(id: "mer_test", name: "Shop", createdAt: Date())
            try await store.insert(merchant: merchant)
            try await store.insert(
                endpoint: WebhookEndpointRecord(
                    id: "we_failing", merchantId: merchant.id, url: receiver.url, secret: "whsec_test", createdAt: Date()))
            // Port 9 (discard) on loopback: nothing listens, the connection is refused.
            try await store.insert(
                endpoint: WebhookEndpointRecord(
                    id: "we_unreachable", merchantId: merchant.id, url: "http://127.0.0.1:9/hooks", secret: "whsec_test",
                    createdAt: Date()))
            receiver.failNext(1_000_000)
            let event = try await Self.insertEvent(store, merchantID: merchant.id)

            let worker = OutboxDelivery(
                store: store,
                configuration: .init(
                    pollInterval: .milliseconds(10), initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(40),
                    retryWindow: .milliseconds(400)),
                logger: Self.quietLogger, destinations: Self.allowing(receiver, "127.0.0.1:9"))
            let running = Task { try await worker.run() }
            let deadline = ContinuousClock.now + .seconds(20)
            var deliveries: [(OutboxRecord, [DeliveryAttemptRecord])] = []
            while ContinuousClock.now < deadline {
                deliveries = try await store.deliveries(eventID: event.id, merchantID: merchant.id)
                if deliveries.count == 2, deliveries.allSatisfy({ $0.0.status == .failed }) { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            running.cancel()
            _ = await running.result

            #expect(deliveries.count == 2)
            for (outbox, attempts) in deliveries {
                #expect(outbox.status == .failed, "\(outbox)")
                #expect(outbox.attempts == attempts.count)
                // How many fit in the window depends on the machine's speed; retries as such are
                // covered by the endpoint test that fails twice, then accepts.
                #expect(attempts.count >= 1)
                #expect(attempts.allSatisfy { $0.error != nil })
            }
            let failing = try #require(deliveries.first { $0.0.endpointId == "we_failing" })
            #expect(failing.1.allSatisfy { $0.statusCode == 500 })
            // Every request the endpoint saw is an attempt on record, and nothing came after.
            #expect(receiver.received.count == failing.1.count)
            let unreachable = try #require(deliveries.first { $0.0.endpointId == "we_unreachable" })
            #expect(unreachable.1.allSatisfy { $0.statusCode == nil })
            #expect(try await store.outboxDepth() == 0)
        } catch {
            await receiver.stop()
            throw error
        }
        await receiver.stop()
    }

    @Test("a delivery that is due when a worker starts (its attempt was lost) is sent")
    func lostAttemptIsSent() async throws {
        let receiver = try await WebhookReceiver.start()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("till-outbox-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let store = Store(database: try StoreDatabase.open(path: directory + "/till.sqlite", migrations: TillSchema.migrations))
            try await store.insert(merchant: MerchantRecord(id: "mer_test", name: "Shop", createdAt: Date()))
            try await store.insert(
                endpoint: WebhookEndpointRecord(
                    id: "we_ok", merchantId: "mer_test", url: receiver.url, secret: "whsec_lost", createdAt: Date()))
            let event = try await Self.insertEvent(store, merchantID: "mer_test")
            let worker = OutboxDelivery(
                store: store, configuration: .init(pollInterval: .milliseconds(10)), logger: Self.quietLogger,
                destinations: Self.allowing(receiver))
            let running = Task { try await worker.run() }
            let received = try await receiver.wait(count: 1)[0]
            running.cancel()
            _ = await running.result
            #expect(received.body == Array(event.body))
            #expect(
                WebhookSignature.verify(header: received.headers["till-signature"] ?? "", body: received.body, secret: "whsec_lost"))
        } catch {
            await receiver.stop()
            throw error
        }
        await receiver.stop()
    }

    /// The sandbox policy with `receiver` (and `others`, "address:port") on the allow-list.
    static func allowing(_ receiver: WebhookReceiver, _ others: String...) -> WebhookDestinations {
        let allowed = Set([receiver.socketEndpoint].compactMap { $0 } + others.compactMap(SocketEndpoint.init))
        return WebhookDestinations(WebhookURLPolicy(allowsPlainHTTP: true, allowed: allowed))
    }

    static var quietLogger: Logger {
        var logger = Logger(label: "test.outbox")
        logger.logLevel = .critical
        return logger
    }

    /// An event (and its outbox rows) written the way the payment engine writes them.
    static func insertEvent(_ store: Store, merchantID: String) async throws -> EventRecord {
        let now = Date()
        let event = EventRecord(
            id: "evt_\(UUID().uuidString.prefix(8))", merchantId: merchantID, type: "payment.authorized", paymentId: "pay_test",
            body: Data(#"{"id":"evt_test","object":"event","type":"payment.authorized"}"#.utf8), createdAt: now)
        let payment = PaymentRecord(
            id: "pay_test", merchantId: merchantID, gateway: "stripe", captureMode: "manual", token: "tok_test",
            description: nil, metadata: "{}", state: Data("{}".utf8), status: "authorized", amount: 100, currency: "usd",
            inFlight: false, version: 1, createdAt: now, updatedAt: now)
        try await store.insert(PaymentWrite(payment: payment, events: [event]))
        return event
    }
}

/// SplitMix64: reproducible randomness for the jitter test.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_133E_B111
        return z ^ (z >> 31)
    }
}
