import SandboxSupport
import TillCore

// The sandbox's records of Stripe objects, and how each renders in Stripe's field order
// (see Stripe's example objects). Records are plain values kept inside the gateway's lock.

struct PaymentMethodRecord: Sendable {
    var id: String
    var created: Int64
    var number: String
    var expMonth: Int64
    var expYear: Int64
    var behavior: CardBehavior
    var metadata: [String: String]
    var billingName: String?

    var brand: String { CardBrand(number: number)?.rawValue ?? "unknown" }
    var last4: String { String(number.suffix(4)) }
    /// Stable per card number, as Stripe's fingerprint is, without revealing it.
    var fingerprint: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in number.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(String(hash, radix: 36).prefix(16))
    }

    var json: JSONValue {
        .object([
            ("id", .string(id)),
            ("object", .string("payment_method")),
            ("allow_redisplay", .string("unspecified")),
            ("billing_details", BillingDetails.json(name: billingName)),
            ("card", .object([
                ("brand", .string(brand)),
                ("checks", .object([
                    ("address_line1_check", .null), ("address_postal_code_check", .null), ("cvc_check", .string("pass")),
                ])),
                ("country", .string("US")),
                ("display_brand", .string(brand)),
                ("exp_month", .int(expMonth)),
                ("exp_year", .int(expYear)),
                ("fingerprint", .string(fingerprint)),
                ("funding", .string("credit")),
                ("generated_from", .null),
                ("last4", .string(last4)),
                ("networks", .object([("available", .array([.string(brand)])), ("preferred", .null)])),
                ("three_d_secure_usage", .object([("supported", .bool(true))])),
                ("wallet", .null),
                ("regulated_status", .null),
            ])),
            ("created", .int(created)),
            ("customer", .null),
            ("livemode", .bool(false)),
            ("metadata", .metadata(metadata)),
            ("type", .string("card")),
        ])
    }
}

enum BillingDetails {
    static func json(name: String?) -> JSONValue {
        .object([
            ("address", .object([
                ("city", .null), ("country", .null), ("line1", .null), ("line2", .null),
                ("postal_code", .null), ("state", .null),
            ])),
            ("email", .null), ("name", .optional(name)), ("phone", .null), ("tax_id", .null),
        ])
    }
}

struct PaymentIntentRecord: Sendable {
    enum Status: String, Sendable {
        case requiresPaymentMethod = "requires_payment_method"
        case requiresConfirmation = "requires_confirmation"
        case requiresAction = "requires_action"
        case processing
        case requiresCapture = "requires_capture"
        case canceled
        case succeeded
    }

    var id: String
    var amount: Int64
    var currency: String
    var captureMethod: String
    var status: Status
    var amountCapturable: Int64 = 0
    var amountReceived: Int64 = 0
    var canceledAt: Int64?
    var cancellationReason: String?
    var clientSecret: String
    var created: Int64
    var description: String?
    var lastPaymentError: JSONValue?
    var latestCharge: String?
    var metadata: [String: String]
    var nextAction: JSONValue?
    var paymentMethod: String?
    var receiptEmail: String?
    var returnURL: String?
    /// Set once a 3-D Secure challenge for the current payment method was passed.
    var authenticated = false
    /// `setup_future_usage` as asked: the card is being saved for later charges.
    var setupFutureUsage: String?
    /// The confirmation runs without the customer (`off_session`): nobody can answer a
    /// 3-D Secure challenge, so a card that needs one declines instead.
    var offSession = false
    /// The idempotency key of the request that authorized it, for the ledger.
    var charges: [String] = []

    /// Who started the charge, in the ledger's gateway-neutral terms.
    var initiator: String {
        if offSession { return "merchant" }
        return setupFutureUsage == "off_session" ? "customer_saving_card" : "customer"
    }

    func json(expanding latestCharge: JSONValue? = nil, paymentMethod expandedMethod: JSONValue? = nil) -> JSONValue {
        .object([
            ("id", .string(id)),
            ("object", .string("payment_intent")),
            ("amount", .int(amount)),
            ("amount_capturable", .int(amountCapturable)),
            ("amount_details", .object([("tip", .object([]))])),
            ("amount_received", .int(amountReceived)),
            ("application", .null),
            ("application_fee_amount", .null),
            ("automatic_payment_methods", .null),
            ("canceled_at", .optional(canceledAt)),
            ("cancellation_reason", .optional(cancellationReason)),
            ("capture_method", .string(captureMethod)),
            ("client_secret", .string(clientSecret)),
            ("confirmation_method", .string("automatic")),
            ("created", .int(created)),
            ("currency", .string(currency)),
            ("customer", .null),
            ("description", .optional(description)),
            ("last_payment_error", lastPaymentError ?? .null),
            ("latest_charge", latestCharge ?? .optional(self.latestCharge)),
            ("livemode", .bool(false)),
            ("metadata", .metadata(metadata)),
            ("next_action", nextAction ?? .null),
            ("on_behalf_of", .null),
            ("payment_method", expandedMethod ?? .optional(paymentMethod)),
            ("payment_method_configuration_details", .null),
            ("payment_method_options", .object([
                ("card", .object([
                    ("installments", .null), ("mandate_options", .null), ("network", .null),
                    ("request_three_d_secure", .string("automatic")),
                ])),
            ])),
            ("payment_method_types", .array([.string("card")])),
            ("processing", .null),
            ("receipt_email", .optional(receiptEmail)),
            ("review", .null),
            ("setup_future_usage", .optional(setupFutureUsage)),
            ("shipping", .null),
            ("source", .null),
            ("statement_descriptor", .null),
            ("statement_descriptor_suffix", .null),
            ("status", .string(status.rawValue)),
            ("transfer_data", .null),
            ("transfer_group", .null),
        ])
    }
}

struct ChargeRecord: Sendable {
    var id: String
    var amount: Int64
    var amountCaptured: Int64 = 0
    var amountRefunded: Int64 = 0
    var captured = false
    var created: Int64
    var currency: String
    var description: String?
    var disputed = false
    var failureCode: String?
    var failureMessage: String?
    var declineCode: String?
    var metadata: [String: String]
    var paymentIntent: String
    var paymentMethod: PaymentMethodRecord
    var status: String
    var refunds: [String] = []
    /// Set when the uncaptured authorization was released (a cancelled PaymentIntent).
    var released = false

    var refunded: Bool { released || (amountCaptured > 0 && amountRefunded >= amountCaptured) }

    func json(refunds refundObjects: [JSONValue], paymentIntent expanded: JSONValue? = nil) -> JSONValue {
        let succeeded = status == "succeeded"
        let outcome: JSONValue =
            succeeded
            ? .object([
                ("network_status", .string("approved_by_network")), ("reason", .null),
                ("risk_level", .string("normal")), ("seller_message", .string("Payment complete.")),
                ("type", .string("authorized")),
            ])
            : .object([
                ("network_status", .string("declined_by_network")), ("reason", .optional(declineCode)),
                ("risk_level", .string("normal")),
                ("seller_message", .string("The bank did not return any further details with this decline.")),
                ("type", .string("issuer_declined")),
            ])
        let card = paymentMethod
        return .object([
            ("id", .string(id)),
            ("object", .string("charge")),
            ("amount", .int(amount)),
            ("amount_captured", .int(amountCaptured)),
            ("amount_refunded", .int(released ? amount : amountRefunded)),
            ("application", .null),
            ("application_fee", .null),
            ("application_fee_amount", .null),
            ("balance_transaction", succeeded && captured ? .string("txn_" + id.dropFirst(3)) : .null),
            ("billing_details", BillingDetails.json(name: card.billingName)),
            ("calculated_statement_descriptor", .string("TILL SANDBOX")),
            ("captured", .bool(captured)),
            ("created", .int(created)),
            ("currency", .string(currency)),
            ("customer", .null),
            ("description", .optional(description)),
            ("disputed", .bool(disputed)),
            ("failure_balance_transaction", .null),
            ("failure_code", .optional(failureCode)),
            ("failure_message", .optional(failureMessage)),
            ("fraud_details", .object([])),
            ("livemode", .bool(false)),
            ("metadata", .metadata(metadata)),
            ("on_behalf_of", .null),
            ("outcome", outcome),
            ("paid", .bool(succeeded)),
            ("payment_intent", expanded ?? .string(paymentIntent)),
            ("payment_method", .string(card.id)),
            ("payment_method_details", .object([
                ("card", .object([
                    ("amount_authorized", succeeded ? .int(amount) : .null),
                    ("brand", .string(card.brand)),
                    ("checks", .object([
                        ("address_line1_check", .null), ("address_postal_code_check", .null),
                        ("cvc_check", .string("pass")),
                    ])),
                    ("country", .string("US")),
                    ("exp_month", .int(card.expMonth)),
                    ("exp_year", .int(card.expYear)),
                    ("fingerprint", .string(card.fingerprint)),
                    ("funding", .string("credit")),
                    ("last4", .string(card.last4)),
                    ("network", .string(card.brand)),
                    ("three_d_secure", .null),
                    ("wallet", .null),
                ])),
                ("type", .string("card")),
            ])),
            ("receipt_email", .null),
            ("receipt_number", .null),
            ("receipt_url", .null),
            ("refunded", .bool(refunded)),
            ("refunds", .object([
                ("object", .string("list")),
                ("data", .array(refundObjects)),
                ("has_more", .bool(false)),
                ("total_count", .int(Int64(refundObjects.count))),
                ("url", .string("/v1/charges/\(id)/refunds")),
            ])),
            ("review", .null),
            ("shipping", .null),
            ("source", .null),
            ("source_transfer", .null),
            ("statement_descriptor", .null),
            ("statement_descriptor_suffix", .null),
            ("status", .string(status)),
            ("transfer_data", .null),
            ("transfer_group", .null),
        ])
    }
}

struct RefundRecord: Sendable {
    var id: String
    var amount: Int64
    var charge: String
    var created: Int64
    var currency: String
    var metadata: [String: String]
    var paymentIntent: String
    var reason: String?
    var status: String
    var failureReason: String?
    var behavior: CardBehavior

    func json(charge expandedCharge: JSONValue? = nil, paymentIntent expandedIntent: JSONValue? = nil) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("id", .string(id)),
            ("object", .string("refund")),
            ("amount", .int(amount)),
            ("balance_transaction", status == "succeeded" ? .string("txn_" + id.dropFirst(3)) : .null),
            ("charge", expandedCharge ?? .string(charge)),
            ("created", .int(created)),
            ("currency", .string(currency)),
            ("destination_details", .object([
                ("card", .object([("reference_status", .string("pending")), ("type", .string("refund"))])),
                ("type", .string("card")),
            ])),
        ]
        if let failureReason { members.append(("failure_reason", .string(failureReason))) }
        members += [
            ("metadata", .metadata(metadata)),
            ("payment_intent", expandedIntent ?? .string(paymentIntent)),
            ("reason", .optional(reason)),
            ("receipt_number", .null),
            ("source_transfer_reversal", .null),
            ("status", .string(status)),
            ("transfer_reversal", .null),
        ]
        return .object(members)
    }
}

struct DisputeRecord: Sendable {
    static let evidenceFields = [
        "access_activity_log", "billing_address", "cancellation_policy", "cancellation_policy_disclosure",
        "cancellation_rebuttal", "customer_communication", "customer_email_address", "customer_name",
        "customer_purchase_ip", "customer_signature", "duplicate_charge_documentation",
        "duplicate_charge_explanation", "duplicate_charge_id", "product_description", "receipt", "refund_policy",
        "refund_policy_disclosure", "refund_refusal_explanation", "service_date", "service_documentation",
        "shipping_address", "shipping_carrier", "shipping_date", "shipping_documentation",
        "shipping_tracking_number", "uncategorized_file", "uncategorized_text",
    ]

    var id: String
    var amount: Int64
    var charge: String
    var created: Int64
    var currency: String
    var evidence: [String: String] = [:]
    var dueBy: Int64
    var submissionCount = 0
    var isInquiry: Bool
    var metadata: [String: String] = [:]
    var paymentIntent: String
    var reason: String
    var status: String
    var brand: String
    /// Whether the chargeback's funds left the merchant (and so may come back).
    var fundsWithdrawn: Bool

    var isClosed: Bool { ["won", "lost", "warning_closed"].contains(status) }

    func json(charge expandedCharge: JSONValue? = nil, paymentIntent expandedIntent: JSONValue? = nil) -> JSONValue {
        .object([
            ("id", .string(id)),
            ("object", .string("dispute")),
            ("amount", .int(amount)),
            ("balance_transactions", .array([])),
            ("charge", expandedCharge ?? .string(charge)),
            ("created", .int(created)),
            ("currency", .string(currency)),
            ("evidence", .object(Self.evidenceFields.map { ($0, .optional(evidence[$0])) })),
            ("evidence_details", .object([
                ("due_by", .int(dueBy)),
                ("has_evidence", .bool(!evidence.isEmpty)),
                ("past_due", .bool(false)),
                ("submission_count", .int(Int64(submissionCount))),
            ])),
            ("is_charge_refundable", .bool(isInquiry)),
            ("livemode", .bool(false)),
            ("metadata", .metadata(metadata)),
            ("payment_intent", expandedIntent ?? .string(paymentIntent)),
            ("payment_method_details", .object([
                ("card", .object([
                    ("brand", .string(brand)),
                    ("case_type", .string(isInquiry ? "inquiry" : "chargeback")),
                    ("network_reason_code", .string(reason == "fraudulent" ? "10.4" : "13.1")),
                ])),
                ("type", .string("card")),
            ])),
            ("reason", .string(reason)),
            ("status", .string(status)),
        ])
    }
}

struct EventRecord: Sendable {
    var id: String
    var type: String
    var created: Int64
    var objectID: String
    /// The whole event, encoded once: what webhooks send and what the API returns.
    var body: [UInt8]
}
