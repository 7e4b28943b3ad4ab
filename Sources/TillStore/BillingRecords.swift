import Foundation
import GRDB

/// One billing document as stored: the domain object's JSON in `body`, with the columns the
/// store must query on beside it.
///
/// Billing's objects (products, prices, customers, tax rates, subscriptions, invoices,
/// credit notes, test clocks, settings) change shape as billing grows; keeping each one whole
/// in a versioned JSON body lets the domain evolve without a migration per field, while the
/// columns that lists, lookups and the scheduler filter on stay real, indexed columns.
public struct BillingObjectRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "billing_objects"

    public var id: String
    public var merchantId: String
    /// `product`, `price`, `customer`, `tax_rate`, `subscription`, `invoice`, `credit_note`,
    /// `test_clock`, `billing_settings`.
    public var kind: String
    public var customerId: String?
    /// The object this one belongs to: a price's product, an invoice's subscription, a credit
    /// note's invoice.
    public var parentId: String?
    public var status: String?
    /// The test clock whose time the object runs on; `nil` for real time.
    public var clockId: String?
    /// When the scheduler must next look at the object; `nil` for never.
    public var dueAt: Date?
    /// A finalized invoice's or a credit note's number, unique per merchant.
    public var number: String?
    public var body: Data
    /// Bumped by every update; an update names the version it read.
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, merchantId: String, kind: String, customerId: String? = nil, parentId: String? = nil,
        status: String? = nil, clockId: String? = nil, dueAt: Date? = nil, number: String? = nil, body: Data,
        version: Int = 1, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.merchantId = merchantId
        self.kind = kind
        self.customerId = customerId
        self.parentId = parentId
        self.status = status
        self.clockId = clockId
        self.dueAt = dueAt
        self.number = number
        self.body = body
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Which billing objects a list asks for; every field left `nil` matches everything.
public struct BillingObjectQuery: Sendable, Hashable {
    public var kind: String
    public var customerID: String?
    public var parentID: String?
    public var status: String?

    public init(kind: String, customerID: String? = nil, parentID: String? = nil, status: String? = nil) {
        self.kind = kind
        self.customerID = customerID
        self.parentID = parentID
        self.status = status
    }
}

/// Why a billing write was refused. Nothing of the transaction is kept.
public enum BillingStoreConflict: Error, Sendable, Hashable {
    /// The object changed since it was read (another request or daemon got there first).
    case staleVersion(id: String)
    /// An object with this id exists already.
    case duplicateID(String)
    /// Another document of this merchant already carries the number.
    case duplicateNumber(String)
}
