import Foundation
import TillStore
import Testing

@Suite("Billing store")
struct BillingStoreTests {
    static func store() throws -> Store {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("till-billing-\(UUID().uuidString).sqlite").path
        return Store(database: try StoreDatabase.open(path: path, migrations: TillSchema.migrations))
    }

    static func record(_ id: String, merchant: String = "mer_1", dueAt: Date? = nil, at date: Date = Date(timeIntervalSince1970: 1_000)) -> BillingObjectRecord {
        BillingObjectRecord(
            id: id, merchantId: merchant, kind: "invoice", customerId: "cus_1", status: "open", dueAt: dueAt,
            body: Data("{}".utf8), createdAt: date, updatedAt: date)
    }

    static func merchant(_ store: Store, _ id: String = "mer_1") async throws {
        try await store.insert(merchant: MerchantRecord(id: id, name: "Shop", createdAt: Date()))
    }

    @Test("an update names the version it read: a stale one writes nothing of its transaction")
    func versions() async throws {
        let store = try Self.store()
        try await Self.merchant(store)
        try await store.write { tx in try tx.insert(billing: Self.record("inv_1")) }
        var read = try #require(try await store.billingObject(id: "inv_1", merchantID: "mer_1"))
        read.status = "paid"
        let fresh = read
        try await store.write { tx in try tx.update(billing: fresh, expectedVersion: 1) }
        await #expect(throws: BillingStoreConflict.staleVersion(id: "inv_1")) {
            try await store.write { tx in
                try tx.insert(billing: Self.record("inv_2"))
                try tx.update(billing: fresh, expectedVersion: 1)
            }
        }
        #expect(try await store.billingObject(id: "inv_2", merchantID: "mer_1") == nil)
        #expect(try await store.billingObject(id: "inv_1", merchantID: "mer_1")?.version == 2)
        // Another merchant does not see it.
        #expect(try await store.billingObject(id: "inv_1", merchantID: "mer_2") == nil)
    }

    @Test("objects made at one frozen instant list newest first in the order they were made, across pages")
    func frozenInstantOrder() async throws {
        let store = try Self.store()
        try await Self.merchant(store)
        // Random ids, as the engine makes them: ordering by id would shuffle them.
        let ids = (0..<12).map { _ in "inv_" + UUID().uuidString.lowercased() }
        for id in ids { try await store.write { tx in try tx.insert(billing: Self.record(id)) } }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try await store.billingObjects(
                merchantID: "mer_1", matching: BillingObjectQuery(kind: "invoice"), startingAfter: cursor, limit: 5)
            seen += page.items.map(\.id)
            cursor = page.hasMore ? page.items.last?.id : nil
        } while cursor != nil
        #expect(seen == ids.reversed())
    }

    @Test("counters are gapless: a transaction that fails gives its number back")
    func sequences() async throws {
        let store = try Self.store()
        try await Self.merchant(store)
        #expect(try await store.write { tx in try tx.nextSequenceValue(merchantID: "mer_1", name: "invoice_number:INV") } == 1)
        struct Abort: Error {}
        await #expect(throws: Abort.self) {
            try await store.write { tx in
                _ = try tx.nextSequenceValue(merchantID: "mer_1", name: "invoice_number:INV")
                throw Abort()
            }
        }
        #expect(try await store.write { tx in try tx.nextSequenceValue(merchantID: "mer_1", name: "invoice_number:INV") } == 2)
        #expect(try await store.write { tx in try tx.nextSequenceValue(merchantID: "mer_1", name: "invoice_number:TEST") } == 1)
    }

    @Test("a number is unique per merchant and kind")
    func numbers() async throws {
        let store = try Self.store()
        try await Self.merchant(store)
        var first = Self.record("inv_1")
        first.number = "INV-000001"
        var second = Self.record("inv_2")
        second.number = "INV-000001"
        let (a, b) = (first, second)
        try await store.write { tx in try tx.insert(billing: a) }
        await #expect(throws: BillingStoreConflict.duplicateNumber("INV-000001")) {
            try await store.write { tx in try tx.insert(billing: b) }
        }
    }

    @Test("what is due comes earliest first, on its own clock")
    func due() async throws {
        let store = try Self.store()
        try await Self.merchant(store)
        let now = Date(timeIntervalSince1970: 10_000)
        try await store.write { tx in
            try tx.insert(billing: Self.record("inv_late", dueAt: now.addingTimeInterval(60)))
            try tx.insert(billing: Self.record("inv_b", dueAt: now.addingTimeInterval(-10)))
            try tx.insert(billing: Self.record("inv_a", dueAt: now.addingTimeInterval(-20)))
            var clocked = Self.record("inv_clock", dueAt: now.addingTimeInterval(-30))
            clocked.clockId = "clock_1"
            try tx.insert(billing: clocked)
        }
        #expect(try await store.dueBillingObjects(clockID: nil, now: now, limit: 10).map(\.id) == ["inv_a", "inv_b"])
        #expect(try await store.dueBillingObjects(clockID: "clock_1", now: now, limit: 10).map(\.id) == ["inv_clock"])
    }
}
