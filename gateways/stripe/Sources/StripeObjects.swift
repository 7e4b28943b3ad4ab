// The parts of Stripe's objects the adapter reads. Unknown fields are ignored, so newer API
// versions that add fields still decode; a missing required field makes the response
// unparseable, which the classification table turns into an unknown outcome.

/// A field that is an id, or the object itself when expanded (`latest_charge`, `payment_intent`).
struct ExpandableID: Decodable, Sendable, Hashable {
    var id: String

    private struct Object: Decodable { var id: String }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let id = try? container.decode(String.self) {
            self.id = id
        } else {
            id = try container.decode(Object.self).id
        }
    }
}

struct StripeErrorBody: Decodable, Sendable {
    var type: String?
    var code: String?
    var declineCode: String?
    var message: String?
    var param: String?
    /// On card errors: the PaymentIntent the decline left behind.
    var paymentIntent: ExpandableID?
    var charge: String?

    private enum CodingKeys: String, CodingKey {
        case type, code, message, param, charge
        case declineCode = "decline_code"
        case paymentIntent = "payment_intent"
    }
}

struct StripeErrorEnvelope: Decodable, Sendable {
    var error: StripeErrorBody
}

struct StripePaymentIntent: Decodable, Sendable {
    struct NextAction: Decodable, Sendable {
        struct Redirect: Decodable, Sendable { var url: String? }
        var type: String?
        var redirectToURL: Redirect?

        private enum CodingKeys: String, CodingKey {
            case type
            case redirectToURL = "redirect_to_url"
        }
    }

    var id: String
    var amount: Int64
    var amountCapturable: Int64?
    var amountReceived: Int64?
    var currency: String
    var status: String
    var captureMethod: String?
    var latestCharge: ExpandableID?
    var metadata: [String: String]?
    var nextAction: NextAction?
    var lastPaymentError: StripeErrorBody?
    var cancellationReason: String?

    private enum CodingKeys: String, CodingKey {
        case id, amount, currency, status, metadata
        case amountCapturable = "amount_capturable"
        case amountReceived = "amount_received"
        case captureMethod = "capture_method"
        case latestCharge = "latest_charge"
        case nextAction = "next_action"
        case lastPaymentError = "last_payment_error"
        case cancellationReason = "cancellation_reason"
    }
}

struct StripeRefund: Decodable, Sendable {
    var id: String
    var amount: Int64
    var currency: String
    var status: String?
    var metadata: [String: String]?
    var paymentIntent: ExpandableID?
    var charge: ExpandableID?
    var failureReason: String?

    private enum CodingKeys: String, CodingKey {
        case id, amount, currency, status, metadata, charge
        case paymentIntent = "payment_intent"
        case failureReason = "failure_reason"
    }
}

struct StripeList<Element: Decodable & Sendable>: Decodable, Sendable {
    var data: [Element]
    var hasMore: Bool
    /// Search results page with this cursor; lists page with the last element's id.
    var nextPage: String?

    private enum CodingKeys: String, CodingKey {
        case data
        case hasMore = "has_more"
        case nextPage = "next_page"
    }
}

struct StripeCharge: Decodable, Sendable {
    var id: String
    var amount: Int64
    var amountCaptured: Int64?
    var currency: String
    var metadata: [String: String]?
    var paymentIntent: ExpandableID?
    /// Present on API versions before 2022-11-15, or when expanded.
    var refunds: StripeList<StripeRefund>?

    private enum CodingKeys: String, CodingKey {
        case id, amount, currency, metadata, refunds
        case amountCaptured = "amount_captured"
        case paymentIntent = "payment_intent"
    }
}

struct StripeDispute: Decodable, Sendable {
    var id: String
    var amount: Int64
    var currency: String
    var status: String
    var reason: String?
    var paymentIntent: ExpandableID?
    var charge: ExpandableID?
    var metadata: [String: String]?

    private enum CodingKeys: String, CodingKey {
        case id, amount, currency, status, reason, charge, metadata
        case paymentIntent = "payment_intent"
    }
}

/// An event without its object: enough to decide how to read the object.
struct StripeEventHeader: Decodable, Sendable {
    var id: String
    var type: String
    var created: Int64
}

/// An event's `data.object` as `Object`.
struct StripeEventObject<Object: Decodable & Sendable>: Decodable, Sendable {
    struct Data: Decodable, Sendable { var object: Object }
    var data: Data
}
