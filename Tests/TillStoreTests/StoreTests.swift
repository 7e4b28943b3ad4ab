import Foundation
import GRDB
import TillStore
import Testing

private func openStore() throws -> (Store, String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("till-store-\(UUID().uuidString)").path
    let database = try StoreDatabase.open(path: directory + "/till.sqlite", migrations: TillSchema.migrations)
    return (Store(database: database), directory)
}

private let t0 = Date(timeIntervalSince1970: 1_800_000_000)

private func payment(_ id: String, merchant: String = "mer_1", at date: Date = t0, version: Int = 1) -> PaymentRecord {
    PaymentRecord(
        id: id, merchantId: merchant, gateway: "stripe", captureMode: "manual", token: "tok_1", description: nil,
        metadata: "{}", state: Data("{}".utf8), status: "processing", amount: 1_000, currency: "usd", inFlight: true,
        version: version, createdAt: date, updatedAt: date)
}

private func seedMerchant(_ store: Store, _ id: String = "mer_1") async throws {
    try await store.insert(merchant: MerchantRecord(id: id, name: "Shop", createdAt: t0))
}

@Suite("Store")
struct StoreTests {
    @Test("idempotency keys are scoped to the kind of API key: the same key with a publishable and a secret key never collides")
    func idempotencyScope() async throws {
        let (store, directory) = try openStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let day: TimeInterval = 86_400
        #expect(try await store.beginIdempotency(merchantID: "m", keyKind: .publishable, key: "order-1", requestHash: "token", now: t0, retention: day) == .proceed)
        #expect(try await store.beginIdempotency(merchantID: "m", keyKind: .secret, key: "order-1", requestHash: "payment", now: t0, retention: day) == .proceed)
        try await store.completeIdempotency(
            merchantID: "m", keyKind: .publishable, key: "order-1", requestHash: "token", createdAt: t0, status: 201, body: Data("{}".utf8))
        #expect(try await store.idempotencyDecision(merchantID: "m", keyKind: .secret, key: "order-1", requestHash: "payment", now: t0, retention: day) == .inFlight)
        #expect(try await store.idempotencyDecision(merchantID: "m", keyKind: .publishable, key: "order-1", requestHash: "token", now: t0, retention: day) == .replay(status: 201, body: Data("{}".utf8)))
        try await store.abandonIdempotency(merchantID: "m", keyKind: .publishable, key: "order-1")
        // The abandon of one scope leaves the other's claim alone.
        #expect(try await store.idempotencyDecision(merchantID: "m", keyKind: .secret, key: "order-1", requestHash: "payment", now: t0, retention: day) == .inFlight)
    }

    @Test("the key-kind migration keeps every earlier record, as a secret key's")
    func idempotencyScopeMigration() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("till-store-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let old = try StoreDatabase.open(path: directory + "/till.sqlite", migrations: Array(TillSchema.migrations.prefix(1)))
        try await old.pool.write { db in
            try db.execute(
                sql: "INSERT INTO idempotency_keys (merchant_id, key, request_hash, response_status, response_body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: ["m", "k", "h", 201, Data("{}".utf8), t0])
        }
        let store = Store(database: try StoreDatabase.open(path: directory + "/till.sqlite", migrations: TillSchema.migrations))
        let day: TimeInterval = 86_400
        #expect(try await store.idempotencyDecision(merchantID: "m", keyKind: .secret, key: "k", requestHash: "h", now: t0, retention: day) == .replay(status: 201, body: Data("{}".utf8)))
        #expect(try await store.idempotencyDecision(merchantID: "m", keyKind: .secret, key: "k", requestHash: "x", now: t0, retention: day) == .mismatch)
        #expect(try await store.idempotencyDecision(merchantID: "m", keyKind: .publishable, key: "k", requestHash: "x", now: t0, retention: day) == .proceed)
        #expect(try await store.purgeIdempotency(before: t0.addingTimeInterval(1)) == 1)
    }

    @Test("idempotency: proceed, in flight, replay, mismatch, expiry, abandon")
    func idempotency() async throws {
        let (store, directory) = try openStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let day: TimeInterval = 86_400
        #expect(try await store.beginIdempotency(merchantID: "m", keyKind: .secret, key: "k", requestHash: "h1", now: t0, retention: day) == .proceed)
        #expect(try await store.beginIdempotency(merchantID: "m", keyKind: .secret, key: "k", requestHash: "h1", now: t0, retention: day) == .inFlight)
        #expect(try await store.beginIdempotency(merchantID: "m", keyKind: .secret, key: "k", requestHash: "h2", now: t0, retention: day) == .mismatch)
        #expect(try await store.beginIdempotency(merchantID: "other", keyKind: .secret, key: "k", requestHash: "h2", now: t0, retention: day) == .proceed)
        try await store.completeIdempotency(
            merchantID: "m", keyKind: .secret, key: "k", requestHash: "h1", createdAt: t0, status: 201, body: Data("{}".utf8))
        #expect(
            try await store.beginIdempotency(merchantID: "m", keyKind: .secret, key: "k", requestHash: "h1", now: t0, retention: day)
                == .replay(status: 201, body: Data("{}".utf8)))
        #expect(
            try await store.beginIdempotency(
                merchantID: "m", keyKind: .secret, key: "k", requestHash: "h2", now: t0.addingTimeInterval(day + 1), retention: day) == .proceed)
        try await store.abandonIdempotency(merchantID: "m", keyKind: .secret, key: "k")
        #expect(
            try await store.beginIdempotency(merchantID: "m", keyKind: .secret, key: "k", requestHash: "h3", now: t0.addingTimeInterval(day + 2), retention: day)
                == .proceed)
    }

    @Test("a claim saved with a payment write holds the key; the answer completes it; a refused write claims nothing")
    func idempotencyClaimWithPaymentWrite() async throws {
        let (store, directory) = try openStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await seedMerchant(store)
        let day: TimeInterval = 86_400
        #expect(try await store.idempotencyDecision(merchantID: "mer_1", keyKind: .secret, key: "k", requestHash: "h", now: t0, retention: day) == .proceed)
        let claim = IdempotencyRecord(merchantId: "mer_1", keyKind: .secret, key: "k", requestHash: "h", createdAt: t0)
        try await store.insert(PaymentWrite(payment: payment("pay_1"), idempotencyClaim: claim))
        // A crash now leaves the key held: a retry cannot run the payment a second time.
        #expect(try await store.idempotencyDecision(merchantID: "mer_1", keyKind: .secret, key: "k", requestHash: "h", now: t0, retention: day) == .inFlight)
        #expect(try await store.idempotencyDecision(merchantID: "mer_1", keyKind: .secret, key: "k", requestHash: "x", now: t0, retention: day) == .mismatch)
        try await store.completeIdempotency(
            merchantID: "mer_1", keyKind: .secret, key: "k", requestHash: "h", createdAt: t0, status: 201, body: Data("{}".utf8))
        #expect(
            try await store.idempotencyDecision(merchantID: "mer_1", keyKind: .secret, key: "k", requestHash: "h", now: t0, retention: day)
                == .replay(status: 201, body: Data("{}".utf8)))

        // The claim is part of the write's transaction: a stale write leaves no claim behind.
        let second = IdempotencyRecord(merchantId: "mer_1", keyKind: .secret, key: "k2", requestHash: "h", createdAt: t0)
        await #expect(throws: StoreConflict.staleVersion(paymentID: "pay_1")) {
            try await store.update(PaymentWrite(payment: payment("pay_1"), idempotencyClaim: second), expectedVersion: 7)
        }
        #expect(try await store.idempotencyDecision(merchantID: "mer_1", keyKind: .secret, key: "k2", requestHash: "h", now: t0, retention: day) == .proceed)
        // An expired record under the key is replaced by a new claim.
        let later = t0.addingTimeInterval(day + 1)
        try await store.update(
            PaymentWrite(
                payment: payment("pay_1"), idempotencyClaim: IdempotencyRecord(merchantId: "mer_1", keyKind: .secret, key: "k", requestHash: "new", createdAt: later)),
            expectedVersion: 1)
        #expect(try await store.idempotencyDecision(merchantID: "mer_1", keyKind: .secret, key: "k", requestHash: "new", now: later, retention: day) == .inFlight)
    }

    @Test("a payment reads back field for field by id, by merchant and by child key, before and after an update")
    func paymentRoundTrip() async throws {
        let (store, directory) = try openStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await seedMerchant(store)
        var record = PaymentRecord(
            id: "pay_rt", merchantId: "mer_1", gateway: "stripe", gatewayPaymentReference: nil,
            gatewayAuthorizationReference: nil, captureMode: "automatic", token: "tok_rt", description: "Order 7",
            metadata: #"{"order":"7"}"#, nextActionURL: "https://127.0.0.1/3ds", state: Data([0, 1, 2, 255]),
            status: "requires_action", amount: 4_321, currency: "eur", inFlight: true, version: 1,
            createdAt: t0.addingTimeInterval(0.123), updatedAt: t0.addingTimeInterval(0.456))
        try await store.insert(PaymentWrite(payment: record, childKeys: ["txn_rt"]))
        #expect(try await store.payment(id: "pay_rt") == record)
        #expect(try await store.payment(id: "pay_rt", merchantID: "mer_1") == record)
        #expect(try await store.payment(childKey: "txn_rt") == record)
        #expect(try await store.payment(childKey: "txn_none") == nil)

        record.gatewayPaymentReference = "pi_1"
        record.gatewayAuthorizationReference = "ch_1"
        record.nextActionURL = nil
        record.description = nil
        record.state = Data("{}".utf8)
        record.status = "authorized"
        record.inFlight = false
        record.updatedAt = t0.addingTimeInterval(9.5)
        try await store.update(PaymentWrite(payment: record, childKeys: ["pi_1"]), expectedVersion: 1)
        // Only what a save may change changes; the description is set once, at creation.
        var expected = record
        expected.version = 2
        expected.description = "Order 7"
        #expect(try await store.payment(childKey: "pi_1") == expected)
        #expect(try await store.payments(merchantID: "mer_1", limit: 10).items == [expected])
    }

    @Test("a save with a stale version is refused and writes nothing")
    func optimisticVersion() async throws {
        let (store, directory) = try openStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await seedMerchant(store)
        try await store.insert(PaymentWrite(payment: payment("pay_1"), childKeys: ["txn_1"]))
        var changed = payment("pay_1")
        changed.status = "authorized"
        try await store.update(PaymentWrite(payment: changed), expectedVersion: 1)
        await #expect(throws: StoreConflict.staleVersion(paymentID: "pay_1")) {
            try await store.update(PaymentWrite(payment: payment("pay_1")), expectedVersion: 1)
        }
        let saved = try #require(try await store.payment(id: "pay_1", merchantID: "mer_1"))
        #expect(saved.status == "authorized")
        #expect(saved.version == 2)
        #expect(try await store.payment(childKey: "txn_1")?.id == "pay_1")
        #expect(try await store.payment(id: "pay_1", merchantID: "mer_other") == nil)
    }

    @Test("a new payment whose child key is taken is refused whole; an update may repeat a key")
    func takenChildKey() async throws {
        let (store, directory) = try openStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await seedMerchant(store)
        try await store.insert(PaymentWrite(payment: payment("pay_1"), childKeys: ["txn_1", "idem:mer_1:inv_1"]))
        let claim = IdempotencyRecord(merchantId: "mer_1", keyKind: .secret, key: "k2", requestHash: "h", createdAt: t0)
        await #expect(throws: StoreConflict.duplicateChildKey(key: "idem:mer_1:inv_1")) {
            try await store.insert(PaymentWrite(payment: payment("pay_2"), childKeys: ["txn_2", "idem:mer_1:inv_1"], idempotencyClaim: claim))
        }
        #expect(try await store.payment(id: "pay_2") == nil)
        #expect(try await store.payment(childKey: "txn_2") == nil)
        #expect(try await store.payment(childKey: "idem:mer_1:inv_1")?.id == "pay_1")
        #expect(
            try await store.idempotencyDecision(
                merchantID: "mer_1", keyKind: .secret, key: "k2", requestHash: "h", now: t0, retention: 86_400) == .proceed)
        // Saving the payment again with keys it already has (a gateway reference seen twice) is fine.
        try await store.update(PaymentWrite(payment: payment("pay_1"), childKeys: ["txn_1"]), expectedVersion: 1)
        #expect(try await store.payment(id: "pay_1")?.version == 2)
    }

    @Test("write { tx in } commits rows of several groups together, or none of them")
    func sharedTransaction() async throws {
        let (store, directory) = try openStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await seedMerchant(store)
        let day: TimeInterval = 86_400
        struct Refused: Error {}

        // A payment, another payment's update, a gateway event and an idempotency record in one
        // commit: the body fails after writing them, so nothing is kept.
        try await store.insert(PaymentWrite(payment: payment("pay_1")))
        var authorized = payment("pay_1")
        authorized.status = "authorized"
        let changed = authorized
        let claim = IdempotencyRecord(merchantId: "mer_1", keyKind: .secret, key: "k", requestHash: "h", createdAt: t0)
        await #expect(throws: Refused.self) {
            try await store.write { tx in
                try tx.insert(PaymentWrite(payment: payment("pay_2"), childKeys: ["txn_2"]))
                try tx.update(PaymentWrite(payment: changed), expectedVersion: 1)
                _ = try tx.recordGatewayEvent(gateway: "stripe", eventID: "evt_1", at: t0)
                try tx.save(idempotency: claim)
                throw Refused()
            }
        }
        #expect(try await store.payment(id: "pay_2") == nil)
        #expect(try await store.payment(childKey: "txn_2") == nil)
        #expect(try await store.payment(id: "pay_1")?.status == "processing")
        #expect(try await store.hasGatewayEvent(gateway: "stripe", eventID: "evt_1") == false)
        #expect(try await store.idempotencyDecision(merchantID: "mer_1", keyKind: .secret, key: "k", requestHash: "h", now: t0, retention: day) == .proceed)

        // A stale version anywhere in it refuses the whole transaction.
        await #expect(throws: StoreConflict.staleVersion(paymentID: "pay_1")) {
            try await store.write { tx in
                try tx.insert(PaymentWrite(payment: payment("pay_3")))
                try tx.update(PaymentWrite(payment: changed), expectedVersion: 9)
            }
        }
        #expect(try await store.payment(id: "pay_3") == nil)

        // And when the body returns, every row is there, and the write's result comes back.
        let first = try await store.write { tx in
            try tx.insert(PaymentWrite(payment: payment("pay_2"), childKeys: ["txn_2"]))
            try tx.update(PaymentWrite(payment: changed), expectedVersion: 1)
            try tx.save(idempotency: claim)
            return try tx.recordGatewayEvent(gateway: "stripe", eventID: "evt_1", at: t0)
        }
        #expect(first)
        #expect(try await store.payment(childKey: "txn_2")?.id == "pay_2")
        #expect(try await store.payment(id: "pay_1")?.version == 2)
        #expect(try await store.hasGatewayEvent(gateway: "stripe", eventID: "evt_1"))
        #expect(try await store.idempotencyDecision(merchantID: "mer_1", keyKind: .secret, key: "k", requestHash: "h", now: t0, retention: day) == .inFlight)
    }

    @Test("events fan out to the merchant's live endpoints in the same transaction")
    func outboxFanOut() async throws {
        let (store, directory) = try openStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await seedMerchant(store)
        try await store.insert(endpoint: WebhookEndpointRecord(id: "we_1", merchantId: "mer_1", url: "http://127.0.0.1:1/a", secret: "whsec_1", createdAt: t0))
        try await store.insert(endpoint: WebhookEndpointRecord(id: "we_2", merchantId: "mer_1", url: "http://127.0.0.1:1/b", secret: "whsec_2", createdAt: t0))
        #expect(try await store.deleteEndpoint(id: "we_2", merchantID: "mer_1", at: t0))
        let event = EventRecord(id: "evt_1", merchantId: "mer_1", type: "payment.authorized", paymentId: "pay_1", body: Data("{}".utf8), createdAt: t0)
        try await store.insert(PaymentWrite(payment: payment("pay_1"), events: [event]))
        let due = try await store.dueDeliveries(now: t0, limit: 10)
        #expect(due.map(\.endpoint.id) == ["we_1"])
        #expect(try await store.outboxDepth() == 1)
    }

    @Test("a gateway event is applied once: the second write is refused whole")
    func gatewayEventOnce() async throws {
        let (store, directory) = try openStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await seedMerchant(store)
        try await store.insert(PaymentWrite(payment: payment("pay_1")))
        let first = PaymentWrite(payment: payment("pay_1"), gatewayEvent: ("stripe", "evt_gw_1"))
        try await store.update(first, expectedVersion: 1)
        await #expect(throws: StoreConflict.duplicateGatewayEvent(gateway: "stripe", eventID: "evt_gw_1")) {
            try await store.update(PaymentWrite(payment: payment("pay_1"), gatewayEvent: ("stripe", "evt_gw_1")), expectedVersion: 2)
        }
        #expect(try await store.payment(id: "pay_1")?.version == 2)
        #expect(try await store.hasGatewayEvent(gateway: "stripe", eventID: "evt_gw_1"))
    }

    @Test("lists page newest first with a cursor and are scoped to the merchant")
    func pagination() async throws {
        let (store, directory) = try openStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await seedMerchant(store)
        try await seedMerchant(store, "mer_2")
        for i in 0..<5 {
            try await store.insert(PaymentWrite(payment: payment("pay_\(i)", at: t0.addingTimeInterval(Double(i)))))
        }
        try await store.insert(PaymentWrite(payment: payment("pay_x", merchant: "mer_2")))
        let first = try await store.payments(merchantID: "mer_1", limit: 2)
        #expect(first.items.map(\.id) == ["pay_4", "pay_3"])
        #expect(first.hasMore)
        let second = try await store.payments(merchantID: "mer_1", startingAfter: "pay_3", limit: 10)
        #expect(second.items.map(\.id) == ["pay_2", "pay_1", "pay_0"])
        #expect(!second.hasMore)
        #expect(try await store.payments(merchantID: "mer_1", startingAfter: "pay_x", limit: 10).items.isEmpty)
    }

    @Test("an attempt that finishes after its endpoint was deleted does not revive the delivery")
    func attemptAfterDeletion() async throws {
        let (store, directory) = try openStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await seedMerchant(store)
        try await store.insert(endpoint: WebhookEndpointRecord(id: "we_1", merchantId: "mer_1", url: "http://127.0.0.1:1/a", secret: "whsec_1", createdAt: t0))
        let event = EventRecord(id: "evt_1", merchantId: "mer_1", type: "payment.authorized", paymentId: "pay_1", body: Data("{}".utf8), createdAt: t0)
        try await store.insert(PaymentWrite(payment: payment("pay_1"), events: [event]))
        var delivery = try #require(try await store.dueDeliveries(now: t0, limit: 1).first).outbox
        #expect(try await store.deleteEndpoint(id: "we_1", merchantID: "mer_1", at: t0))
        delivery.attempts = 1
        delivery.nextAttemptAt = t0.addingTimeInterval(60)
        try await store.recordAttempt(
            DeliveryAttemptRecord(outboxId: try #require(delivery.id), attemptedAt: t0, statusCode: 500, error: nil, durationMilliseconds: 3),
            outbox: delivery)
        let rows = try await store.deliveries(eventID: "evt_1", merchantID: "mer_1")
        #expect(rows.first?.0.status == .failed)
        #expect(rows.first?.1.count == 1)
        #expect(try await store.outboxDepth() == 0)
    }

    @Test("purging forgets only keys older than the cut-off")
    func purgeIdempotency() async throws {
        let (store, directory) = try openStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let day: TimeInterval = 86_400
        _ = try await store.beginIdempotency(merchantID: "m", keyKind: .secret, key: "old", requestHash: "h", now: t0, retention: day)
        _ = try await store.beginIdempotency(merchantID: "m", keyKind: .secret, key: "new", requestHash: "h", now: t0.addingTimeInterval(day), retention: day)
        #expect(try await store.purgeIdempotency(before: t0.addingTimeInterval(1)) == 1)
        #expect(try await store.beginIdempotency(merchantID: "m", keyKind: .secret, key: "new", requestHash: "h", now: t0.addingTimeInterval(day), retention: day) == .inFlight)
        #expect(try await store.beginIdempotency(merchantID: "m", keyKind: .secret, key: "old", requestHash: "x", now: t0.addingTimeInterval(day), retention: day) == .proceed)
    }
}
