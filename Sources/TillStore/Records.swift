import Foundation
public import GRDB

/// A merchant: the tenant every other row belongs to.
public struct MerchantRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "merchants"
    public var id: String
    public var name: String
    public var createdAt: Date

    public init(id: String, name: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }
}

/// An API key, stored as a SHA-256 hash of the whole key: the key itself is shown once.
public struct APIKeyRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "api_keys"
    public enum Kind: String, Codable, Sendable, Hashable {
        /// `sk_…`: everything, for the merchant's servers.
        case secret
        /// `pk_…`: creating tokens only, safe to ship to browsers and apps.
        case publishable
    }

    public var id: String
    public var merchantId: String
    public var kind: Kind
    /// The key's first characters, for recognising it in a list (`sk_test_4f2a…`).
    public var prefix: String
    /// Hex SHA-256 of the whole key. Keys carry 192 random bits, so a fast hash suffices.
    public var hash: String
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: String, merchantId: String, kind: Kind, prefix: String, hash: String, createdAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.merchantId = merchantId
        self.kind = kind
        self.prefix = prefix
        self.hash = hash
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// A payment row: the state machine's `Payment` as JSON, plus the columns queries need.
public struct PaymentRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "payments"
    public var id: String
    public var merchantId: String
    /// The gateway instance handling it (changes only by failover before any processing).
    public var gateway: String
    public var gatewayPaymentReference: String?
    public var gatewayAuthorizationReference: String?
    /// `automatic` or `manual`.
    public var captureMode: String
    /// The vault token the card came from.
    public var token: String
    public var description: String?
    /// The merchant's metadata, a JSON object of strings.
    public var metadata: String
    /// Where the customer completes 3-D Secure, while the payment requires action.
    public var nextActionURL: String?
    /// TillCore's `Payment`, JSON-encoded.
    public var state: Data
    /// Derived from `state`, kept for filtering (`authorized`, `captured`, …).
    public var status: String
    public var amount: Int64
    public var currency: String
    /// Whether a transaction is `pending` or `unknown`: what reconciliation looks at.
    public var inFlight: Bool
    /// Bumped by every save; a save with a stale version is refused.
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, merchantId: String, gateway: String, gatewayPaymentReference: String? = nil,
        gatewayAuthorizationReference: String? = nil, captureMode: String, token: String, description: String?,
        metadata: String, nextActionURL: String? = nil, state: Data, status: String, amount: Int64, currency: String,
        inFlight: Bool, version: Int, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.merchantId = merchantId
        self.gateway = gateway
        self.gatewayPaymentReference = gatewayPaymentReference
        self.gatewayAuthorizationReference = gatewayAuthorizationReference
        self.captureMode = captureMode
        self.token = token
        self.description = description
        self.metadata = metadata
        self.nextActionURL = nextActionURL
        self.state = state
        self.status = status
        self.amount = amount
        self.currency = currency
        self.inFlight = inFlight
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The columns in the order every read selects them and every insert writes them, so
    /// ``init(row:)`` can decode by position: `Decodable` looks each column up by name,
    /// which showed in the daemon's profile, since every request and webhook reads a payment.
    public static let columnNames = [
        "id", "merchant_id", "gateway", "gateway_payment_reference", "gateway_authorization_reference", "capture_mode",
        "token", "description", "metadata", "next_action_url", "state", "status", "amount", "currency", "in_flight",
        "version", "created_at", "updated_at",
    ]

    public static var databaseSelection: [any SQLSelectable] { columnNames.map { Column($0) } }

    public init(row: Row) throws {
        id = try row.decode(atIndex: 0)
        merchantId = try row.decode(atIndex: 1)
        gateway = try row.decode(atIndex: 2)
        gatewayPaymentReference = try row.decode(atIndex: 3)
        gatewayAuthorizationReference = try row.decode(atIndex: 4)
        captureMode = try row.decode(atIndex: 5)
        token = try row.decode(atIndex: 6)
        description = try row.decode(atIndex: 7)
        metadata = try row.decode(atIndex: 8)
        nextActionURL = try row.decode(atIndex: 9)
        state = try row.decode(atIndex: 10)
        status = try row.decode(atIndex: 11)
        amount = try row.decode(atIndex: 12)
        currency = try row.decode(atIndex: 13)
        inFlight = try row.decode(atIndex: 14)
        version = try row.decode(atIndex: 15)
        createdAt = try row.decode(atIndex: 16)
        updatedAt = try row.decode(atIndex: 17)
    }
}

/// Finds a payment from the id of one of its transactions or disputes (webhooks and
/// reconciliation name those).
public struct PaymentChildRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "payment_children"
    /// `txn_…` or `dp_…` (Till's ids), or a gateway's reference.
    public var key: String
    public var paymentId: String
    public var merchantId: String

    public init(key: String, paymentId: String, merchantId: String) {
        self.key = key
        self.paymentId = paymentId
        self.merchantId = merchantId
    }
}

/// Something that happened, as the API's events list and merchant webhooks show it.
public struct EventRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "events"
    public var id: String
    public var merchantId: String
    /// `payment.authorized`, `dispute.created`, …
    public var type: String
    public var paymentId: String?
    /// The event's JSON body, exactly as delivered.
    public var body: Data
    public var createdAt: Date

    public init(id: String, merchantId: String, type: String, paymentId: String?, body: Data, createdAt: Date) {
        self.id = id
        self.merchantId = merchantId
        self.type = type
        self.paymentId = paymentId
        self.body = body
        self.createdAt = createdAt
    }
}

/// A merchant's webhook endpoint.
public struct WebhookEndpointRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "webhook_endpoints"
    public var id: String
    public var merchantId: String
    public var url: String
    /// The `whsec_…` secret deliveries are signed with (the merchant verifies with it, so
    /// it is kept, not hashed).
    public var secret: String
    public var createdAt: Date
    public var deletedAt: Date?

    public init(id: String, merchantId: String, url: String, secret: String, createdAt: Date, deletedAt: Date? = nil) {
        self.id = id
        self.merchantId = merchantId
        self.url = url
        self.secret = secret
        self.createdAt = createdAt
        self.deletedAt = deletedAt
    }
}

/// One event to deliver to one endpoint, written in the same transaction as the event.
public struct OutboxRecord: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "outbox"
    public enum Status: String, Codable, Sendable, Hashable {
        case pending, delivered, failed
    }

    public var id: Int64?
    public var eventId: String
    public var endpointId: String
    public var merchantId: String
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Date
    public var lastStatusCode: Int?
    public var lastError: String?
    public var createdAt: Date
    public var deliveredAt: Date?

    public init(
        id: Int64? = nil, eventId: String, endpointId: String, merchantId: String, status: Status = .pending,
        attempts: Int = 0, nextAttemptAt: Date, lastStatusCode: Int? = nil, lastError: String? = nil, createdAt: Date,
        deliveredAt: Date? = nil
    ) {
        self.id = id
        self.eventId = eventId
        self.endpointId = endpointId
        self.merchantId = merchantId
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastStatusCode = lastStatusCode
        self.lastError = lastError
        self.createdAt = createdAt
        self.deliveredAt = deliveredAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// One delivery attempt, shown in the API.
public struct DeliveryAttemptRecord: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "delivery_attempts"
    public var id: Int64?
    public var outboxId: Int64
    public var attemptedAt: Date
    public var statusCode: Int?
    public var error: String?
    public var durationMilliseconds: Int

    public init(id: Int64? = nil, outboxId: Int64, attemptedAt: Date, statusCode: Int?, error: String?, durationMilliseconds: Int) {
        self.id = id
        self.outboxId = outboxId
        self.attemptedAt = attemptedAt
        self.statusCode = statusCode
        self.error = error
        self.durationMilliseconds = durationMilliseconds
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// The first response to an `Idempotency-Key`, per merchant and kind of API key.
public struct IdempotencyRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "idempotency_keys"
    public var merchantId: String
    /// The kind of key the request came with. Publishable keys ship in browsers and apps,
    /// so anyone may hold one: were the namespace shared, anyone could claim a merchant's
    /// predictable keys (`order-1234`) for a day and block its server's payments. Scoped
    /// to the kind, not to the key itself, so a merchant retrying a request across a secret
    /// key rotation still gets its replay instead of a second charge.
    public var keyKind: APIKeyRecord.Kind
    public var key: String
    /// Hex SHA-256 of the method, path and body: a different request under the same key is refused.
    public var requestHash: String
    /// Set once the first request finished; `nil` while it runs.
    public var responseStatus: Int?
    public var responseBody: Data?
    public var createdAt: Date

    public init(
        merchantId: String, keyKind: APIKeyRecord.Kind, key: String, requestHash: String, responseStatus: Int? = nil,
        responseBody: Data? = nil, createdAt: Date
    ) {
        self.merchantId = merchantId
        self.keyKind = keyKind
        self.key = key
        self.requestHash = requestHash
        self.responseStatus = responseStatus
        self.responseBody = responseBody
        self.createdAt = createdAt
    }
}
