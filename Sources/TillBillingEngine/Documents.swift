import Foundation
import Logging
import TillBilling
import TillCore
import TillStore

/// The kinds of billing document the store keeps.
enum BillingKind: String, Sendable {
    case product, price, customer, subscription, invoice
    case taxRate = "tax_rate"
    case creditNote = "credit_note"
    case testClock = "test_clock"
    case settings = "billing_settings"
    case billableMetric = "billable_metric"
    case email
}

/// A domain object the store keeps whole, and the columns it is found by.
protocol BillingDocument: Codable, Sendable {
    static var documentKind: BillingKind { get }
    var id: String { get }
    var customerColumn: String? { get }
    var parentColumn: String? { get }
    var statusColumn: String? { get }
    var numberColumn: String? { get }
}

extension BillingDocument {
    var customerColumn: String? { nil }
    var parentColumn: String? { nil }
    var statusColumn: String? { nil }
    var numberColumn: String? { nil }
}

extension Product: BillingDocument {
    static var documentKind: BillingKind { .product }
    var statusColumn: String? { active ? "active" : "archived" }
}

extension Price: BillingDocument {
    static var documentKind: BillingKind { .price }
    var parentColumn: String? { productID }
    var statusColumn: String? { active ? "active" : "archived" }
}

extension TaxRate: BillingDocument {
    static var documentKind: BillingKind { .taxRate }
}

extension Customer: BillingDocument {
    static var documentKind: BillingKind { .customer }
    var statusColumn: String? { hold == nil ? "active" : "held" }
}

extension Subscription: BillingDocument {
    static var documentKind: BillingKind { .subscription }
    var customerColumn: String? { customerID }
    var statusColumn: String? { status.rawValue }
}

extension Invoice: BillingDocument {
    static var documentKind: BillingKind { .invoice }
    var customerColumn: String? { customerID }
    var parentColumn: String? { subscriptionID }
    var statusColumn: String? { status.rawValue }
    var numberColumn: String? { number }
}

extension CreditNote: BillingDocument {
    static var documentKind: BillingKind { .creditNote }
    var customerColumn: String? { customerID }
    var parentColumn: String? { invoiceID }
    var statusColumn: String? { status.rawValue }
    var numberColumn: String? { number }
}

extension BillingEmail: BillingDocument {
    static var documentKind: BillingKind { .email }
    var customerColumn: String? { customerID }
    var parentColumn: String? { invoiceID }
    var statusColumn: String? { status.rawValue }
}

extension TestClock: BillingDocument {
    static var documentKind: BillingKind { .testClock }
    var statusColumn: String? { status.rawValue }
}

/// A merchant's settings, kept as a document with a fixed id.
struct StoredSettings: BillingDocument {
    static var documentKind: BillingKind { .settings }
    var id: String
    var settings: BillingSettings
    var createdAt: Date

    static func id(merchantID: String) -> String { "bset_" + merchantID }
}

/// A document as read, with the row it came from (its version, above all).
struct Stored<Value: BillingDocument>: Sendable {
    var value: Value
    var record: BillingObjectRecord
}

enum DocumentCoding {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .secondsSince1970
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }()

    static func decode<Value: BillingDocument>(_ type: Value.Type, _ record: BillingObjectRecord) throws(BillingError) -> Stored<Value> {
        guard record.kind == Value.documentKind.rawValue else {
            throw BillingError.notFound(Value.documentKind.rawValue.replacingOccurrences(of: "_", with: " "), record.id)
        }
        do {
            return Stored(value: try decoder.decode(Value.self, from: record.body), record: record)
        } catch {
            throw BillingError(.internalFailure, code: "internal_error", "stored \(record.kind) \(record.id) does not decode: \(error)")
        }
    }

    static func encode<Value: BillingDocument>(_ value: Value) throws(BillingError) -> Data {
        do {
            return try encoder.encode(value)
        } catch {
            throw BillingError(.internalFailure, code: "internal_error", "\(Value.documentKind.rawValue) \(value.id) does not encode: \(error)")
        }
    }
}
