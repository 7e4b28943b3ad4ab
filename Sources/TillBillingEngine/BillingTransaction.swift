import Foundation
import Logging
import TillAudit
import TillBilling
import TillCore
import TillPayments
import TillStore

/// Work to do once a billing transaction is durable: audit entries and collections.
struct AfterCommit: Sendable {
    struct Audit: Sendable {
        var action: String
        var subject: String
        var details: [String: String]
    }

    var audits: [Audit] = []
    /// Invoices with a pending collection attempt: charged once the attempt is on disk.
    var collections: [String] = []
    /// Credit notes with a pending refund.
    var refunds: [String] = []
    /// Queued customer emails, sent once they are on disk.
    var emails: [String] = []
}

/// One billing transaction, open: reads see everything written before in it, and every
/// write, event and counter commits together or not at all.
///
/// Not `Sendable`: it lives inside one `write` closure, on the store's writer.
final class BillingTransaction {
    let tx: any StoreTransaction
    let merchantID: String
    var now: Date
    private(set) var events: [EventRecord] = []
    var after = AfterCommit()
    /// Whether a mailer sends queued emails; without one they wait, unscheduled, in the outbox.
    var mailing = false

    init(tx: any StoreTransaction, merchantID: String, now: Date) {
        self.tx = tx
        self.merchantID = merchantID
        self.now = now
    }

    func load<Value: BillingDocument>(_ type: Value.Type, _ id: String, param: String? = nil) throws -> Stored<Value> {
        guard let record = try tx.billingObject(id: id, merchantID: merchantID), record.kind == Value.documentKind.rawValue else {
            throw BillingError.notFound(Value.documentKind.rawValue.replacingOccurrences(of: "_", with: " "), id, param: param)
        }
        return try DocumentCoding.decode(Value.self, record)
    }

    func find<Value: BillingDocument>(_ type: Value.Type, _ id: String) throws -> Stored<Value>? {
        guard let record = try tx.billingObject(id: id, merchantID: merchantID), record.kind == Value.documentKind.rawValue else {
            return nil
        }
        return try DocumentCoding.decode(Value.self, record)
    }

    func all<Value: BillingDocument>(_ type: Value.Type, customerID: String? = nil, parentID: String? = nil) throws -> [Stored<Value>] {
        let query = BillingObjectQuery(kind: Value.documentKind.rawValue, customerID: customerID, parentID: parentID)
        return try tx.billingObjects(merchantID: merchantID, matching: query).map { record throws in
            try DocumentCoding.decode(Value.self, record)
        }
    }

    @discardableResult
    func insert<Value: BillingDocument>(_ value: Value, clockID: String? = nil, dueAt: Date? = nil) throws -> Stored<Value> {
        let record = BillingObjectRecord(
            id: value.id, merchantId: merchantID, kind: Value.documentKind.rawValue, customerId: value.customerColumn,
            parentId: value.parentColumn, status: value.statusColumn, clockId: clockID, dueAt: dueAt,
            number: value.numberColumn, body: try DocumentCoding.encode(value), createdAt: now, updatedAt: now)
        try tx.insert(billing: record)
        return Stored(value: value, record: record)
    }

    /// Writes `stored.value` back over the version that was read; `dueAt` replaces when the
    /// scheduler next looks (pass the current one to keep it).
    func save<Value: BillingDocument>(_ stored: inout Stored<Value>, dueAt: Date?) throws {
        var record = stored.record
        record.customerId = stored.value.customerColumn
        record.parentId = stored.value.parentColumn
        record.status = stored.value.statusColumn
        record.number = stored.value.numberColumn
        record.dueAt = dueAt
        record.body = try DocumentCoding.encode(stored.value)
        record.updatedAt = now
        try tx.update(billing: record, expectedVersion: stored.record.version)
        record.version = stored.record.version + 1
        stored.record = record
    }

    func nextValue(_ name: String) throws -> Int64 {
        try tx.nextSequenceValue(merchantID: merchantID, name: name)
    }

    /// An event for merchant webhooks, written with the change it reports.
    func emit(_ type: String, _ object: JSONValue) {
        let id = Identifiers.make("evt")
        let body: JSONValue = .object([
            "id": .string(id), "object": .string("event"), "type": .string(type), "created_at": .date(now),
            "data": .object(["object": object]),
        ])
        events.append(EventRecord(id: id, merchantId: merchantID, type: type, paymentId: nil, body: body.data, createdAt: now))
    }

    func audit(_ action: String, _ subject: String, _ details: [String: String] = [:]) {
        after.audits.append(.init(action: action, subject: subject, details: details))
    }

    /// Writes the events gathered; the last step of every transaction body.
    func flush() throws {
        guard !events.isEmpty else { return }
        try tx.insert(events: events)
        events.removeAll()
    }

    func settings() throws -> BillingSettings {
        try find(StoredSettings.self, StoredSettings.id(merchantID: merchantID))?.value.settings ?? .defaults
    }
}
