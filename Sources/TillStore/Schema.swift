import Foundation
public import GRDB

/// Records whose Swift properties (`merchantId`) map to snake_case columns (`merchant_id`).
public protocol SnakeCaseColumns: FetchableRecord, EncodableRecord {}

extension SnakeCaseColumns {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}

extension MerchantRecord: SnakeCaseColumns {}
extension APIKeyRecord: SnakeCaseColumns {}
extension PaymentRecord: SnakeCaseColumns {}
extension PaymentChildRecord: SnakeCaseColumns {}
extension EventRecord: SnakeCaseColumns {}
extension WebhookEndpointRecord: SnakeCaseColumns {}
extension OutboxRecord: SnakeCaseColumns {}
extension DeliveryAttemptRecord: SnakeCaseColumns {}
extension IdempotencyRecord: SnakeCaseColumns {}
extension BillingObjectRecord: SnakeCaseColumns {}

/// The daemon's schema. No column holds a card number or CVC: payments keep only the
/// vault token.
public enum TillSchema {
    public static let migrations: [Migration] = [
        Migration("till_v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE merchants (
                        id TEXT PRIMARY KEY,
                        name TEXT NOT NULL,
                        created_at DATETIME NOT NULL
                    );
                    CREATE TABLE api_keys (
                        id TEXT PRIMARY KEY,
                        merchant_id TEXT NOT NULL REFERENCES merchants(id),
                        kind TEXT NOT NULL CHECK (kind IN ('secret', 'publishable')),
                        prefix TEXT NOT NULL,
                        hash TEXT NOT NULL UNIQUE,
                        created_at DATETIME NOT NULL,
                        revoked_at DATETIME
                    );
                    CREATE INDEX api_keys_merchant ON api_keys(merchant_id);
                    CREATE TABLE payments (
                        id TEXT PRIMARY KEY,
                        merchant_id TEXT NOT NULL REFERENCES merchants(id),
                        gateway TEXT NOT NULL,
                        gateway_payment_reference TEXT,
                        gateway_authorization_reference TEXT,
                        capture_mode TEXT NOT NULL,
                        token TEXT NOT NULL,
                        description TEXT,
                        metadata TEXT NOT NULL,
                        next_action_url TEXT,
                        state BLOB NOT NULL,
                        status TEXT NOT NULL,
                        amount INTEGER NOT NULL,
                        currency TEXT NOT NULL,
                        in_flight BOOLEAN NOT NULL,
                        version INTEGER NOT NULL,
                        created_at DATETIME NOT NULL,
                        updated_at DATETIME NOT NULL
                    );
                    CREATE INDEX payments_merchant_created ON payments(merchant_id, created_at, id);
                    CREATE INDEX payments_in_flight ON payments(in_flight) WHERE in_flight;
                    CREATE TABLE payment_children (
                        key TEXT PRIMARY KEY,
                        payment_id TEXT NOT NULL REFERENCES payments(id),
                        merchant_id TEXT NOT NULL
                    );
                    CREATE TABLE events (
                        id TEXT PRIMARY KEY,
                        merchant_id TEXT NOT NULL REFERENCES merchants(id),
                        type TEXT NOT NULL,
                        payment_id TEXT,
                        body BLOB NOT NULL,
                        created_at DATETIME NOT NULL
                    );
                    CREATE INDEX events_merchant_created ON events(merchant_id, created_at, id);
                    CREATE TABLE webhook_endpoints (
                        id TEXT PRIMARY KEY,
                        merchant_id TEXT NOT NULL REFERENCES merchants(id),
                        url TEXT NOT NULL,
                        secret TEXT NOT NULL,
                        created_at DATETIME NOT NULL,
                        deleted_at DATETIME
                    );
                    CREATE TABLE outbox (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        event_id TEXT NOT NULL REFERENCES events(id),
                        endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id),
                        merchant_id TEXT NOT NULL,
                        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
                        attempts INTEGER NOT NULL,
                        next_attempt_at DATETIME NOT NULL,
                        last_status_code INTEGER,
                        last_error TEXT,
                        created_at DATETIME NOT NULL,
                        delivered_at DATETIME
                    );
                    CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status = 'pending';
                    CREATE INDEX outbox_event ON outbox(event_id);
                    CREATE TABLE delivery_attempts (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        outbox_id INTEGER NOT NULL REFERENCES outbox(id),
                        attempted_at DATETIME NOT NULL,
                        status_code INTEGER,
                        error TEXT,
                        duration_milliseconds INTEGER NOT NULL
                    );
                    CREATE INDEX delivery_attempts_outbox ON delivery_attempts(outbox_id);
                    CREATE TABLE idempotency_keys (
                        merchant_id TEXT NOT NULL,
                        key TEXT NOT NULL,
                        request_hash TEXT NOT NULL,
                        response_status INTEGER,
                        response_body BLOB,
                        created_at DATETIME NOT NULL,
                        PRIMARY KEY (merchant_id, key)
                    );
                    CREATE INDEX idempotency_created ON idempotency_keys(created_at);
                    CREATE TABLE gateway_events (
                        gateway TEXT NOT NULL,
                        event_id TEXT NOT NULL,
                        received_at DATETIME NOT NULL,
                        PRIMARY KEY (gateway, event_id)
                    );
                    """)
        },
        // Delivery errors were curl's own messages ("connect: Failed to connect to 10.0.0.5
        // port 6379 ..."), shown to the merchant: they name internal addresses and open
        // ports. Keep only the coarse class the outbox records now.
        Migration("till_v2_delivery_error_classes") { db in
            for (table, column) in [("delivery_attempts", "error"), ("outbox", "last_error")] {
                try db.execute(
                    sql: """
                        UPDATE \(table) SET \(column) = CASE
                            WHEN \(column) = 'endpoint deleted' THEN 'endpoint_deleted'
                            WHEN \(column) LIKE 'the endpoint answered HTTP %' THEN 'http_status'
                            WHEN \(column) LIKE 'resolve:%' THEN 'dns_failed'
                            WHEN \(column) LIKE 'connect:%' OR \(column) LIKE 'send:%' THEN 'connect_failed'
                            WHEN \(column) LIKE 'tls:%' THEN 'tls_error'
                            WHEN \(column) LIKE 'timeout:%' THEN 'timeout'
                            WHEN \(column) LIKE 'receive:%' THEN 'invalid_response'
                            ELSE 'delivery_failed' END
                        WHERE \(column) IS NOT NULL AND \(column) NOT IN (
                            'http_status', 'connect_failed', 'timeout', 'tls_error', 'not_allowed', 'dns_failed',
                            'invalid_response', 'endpoint_deleted', 'delivery_failed')
                        """)
            }
        },
        // Idempotency keys get the kind of API key in their primary key. Every record made
        // before was made with a secret key, except token requests sent with a publishable
        // key; all become `secret`, so every payment, dispute and endpoint request keeps its
        // replay exactly. A publishable key's retry of a token request made before the
        // upgrade tokenizes again (a second token, no money moves); such records expire
        // within the 24 hours of retention.
        Migration("till_v2_idempotency_key_kind") { db in
            try db.execute(
                sql: """
                    CREATE TABLE idempotency_keys_v2 (
                        merchant_id TEXT NOT NULL,
                        key_kind TEXT NOT NULL CHECK (key_kind IN ('secret', 'publishable')),
                        key TEXT NOT NULL,
                        request_hash TEXT NOT NULL,
                        response_status INTEGER,
                        response_body BLOB,
                        created_at DATETIME NOT NULL,
                        PRIMARY KEY (merchant_id, key_kind, key)
                    );
                    INSERT INTO idempotency_keys_v2
                        (merchant_id, key_kind, key, request_hash, response_status, response_body, created_at)
                        SELECT merchant_id, 'secret', key, request_hash, response_status, response_body, created_at
                        FROM idempotency_keys;
                    DROP TABLE idempotency_keys;
                    ALTER TABLE idempotency_keys_v2 RENAME TO idempotency_keys;
                    CREATE INDEX idempotency_created ON idempotency_keys(created_at);
                    """)
        },
        // PayPal signs a CRC32 of the body, so signed headers can carry another body with the
        // same checksum and another event id: each delivery id is accepted once, durably.
        Migration("till_v2_gateway_deliveries") { db in
            try db.execute(
                sql: """
                    CREATE TABLE gateway_deliveries (
                        gateway TEXT NOT NULL,
                        delivery_id TEXT NOT NULL,
                        received_at DATETIME NOT NULL,
                        PRIMARY KEY (gateway, delivery_id)
                    );
                    CREATE INDEX gateway_deliveries_received ON gateway_deliveries(received_at);
                    """)
        },
            // Billing's documents: each object whole as JSON, with its queried columns beside it;
        // invoice numbers come from a per-merchant, per-prefix counter advanced in the same
        // transaction that finalizes, so numbering has no gaps.
        Migration("till_v3_billing") { db in
            try db.execute(
                sql: """
                    CREATE TABLE billing_objects (
                        id TEXT PRIMARY KEY,
                        merchant_id TEXT NOT NULL REFERENCES merchants(id),
                        kind TEXT NOT NULL,
                        customer_id TEXT,
                        parent_id TEXT,
                        status TEXT,
                        clock_id TEXT,
                        due_at DATETIME,
                        number TEXT,
                        body BLOB NOT NULL,
                        version INTEGER NOT NULL,
                        created_at DATETIME NOT NULL,
                        updated_at DATETIME NOT NULL
                    );
                    CREATE INDEX billing_objects_list ON billing_objects(merchant_id, kind, created_at, id);
                    CREATE INDEX billing_objects_customer ON billing_objects(customer_id, kind);
                    CREATE INDEX billing_objects_parent ON billing_objects(parent_id, kind);
                    CREATE INDEX billing_objects_due ON billing_objects(clock_id, due_at) WHERE due_at IS NOT NULL;
                    CREATE UNIQUE INDEX billing_objects_number ON billing_objects(merchant_id, kind, number)
                        WHERE number IS NOT NULL;
                    CREATE TABLE billing_sequences (
                        merchant_id TEXT NOT NULL REFERENCES merchants(id),
                        name TEXT NOT NULL,
                        last_value INTEGER NOT NULL,
                        PRIMARY KEY (merchant_id, name)
                    );
                    """)
        },
        // Usage events are rows of their own, not billing documents: millions of small,
        // immutable facts, read only by aggregation over one customer's metric and period.
        Migration("till_v4_usage") { db in
            try db.execute(
                sql: """
                    CREATE TABLE usage_events (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        merchant_id TEXT NOT NULL,
                        customer_id TEXT NOT NULL,
                        event_id TEXT NOT NULL,
                        metric TEXT NOT NULL,
                        occurred_at INTEGER NOT NULL,
                        value TEXT,
                        properties TEXT NOT NULL,
                        received_at INTEGER NOT NULL
                    );
                    CREATE UNIQUE INDEX usage_events_id ON usage_events(merchant_id, customer_id, event_id);
                    CREATE INDEX usage_events_period ON usage_events(merchant_id, customer_id, metric, occurred_at);
                    """)
        },
    ]
}
