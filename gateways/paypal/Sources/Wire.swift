import Foundation
import TillCore

/// PayPal's JSON shapes, as far as the adapter reads them. Every field is optional: a missing
/// field the adapter needs makes the outcome unknown, never a crash.
enum Wire {
    struct Amount: Decodable, Sendable {
        var currencyCode: String?
        var value: String?

        func money() -> Money? {
            guard let currencyCode, let value, let currency = Currency(code: currencyCode) else { return nil }
            return try? Money(decimalString: value, currency: currency)
        }
    }

    struct Link: Decodable, Sendable {
        var href: String?
        var rel: String?
    }

    struct ProcessorResponse: Decodable, Sendable {
        var responseCode: String?
    }

    struct RelatedIDs: Decodable, Sendable {
        var orderId: String?
        var authorizationId: String?
        var captureId: String?
    }

    struct SupplementaryData: Decodable, Sendable {
        var relatedIds: RelatedIDs?
    }

    /// An authorization, capture or refund: PayPal gives them the same outer shape.
    struct Payment: Decodable, Sendable {
        var id: String?
        var status: String?
        var amount: Amount?
        var customId: String?
        var invoiceId: String?
        var finalCapture: Bool?
        var processorResponse: ProcessorResponse?
        var supplementaryData: SupplementaryData?
        var links: [Link]?

        /// The id of the object a refund belongs to (its `up` link ends with the capture id).
        var upID: String? {
            links?.first { $0.rel == "up" }?.href?.split(separator: "/").last.map(String.init)
        }
    }

    struct Payments: Decodable, Sendable {
        var authorizations: [Payment]?
        var captures: [Payment]?
        var refunds: [Payment]?
    }

    struct PurchaseUnit: Decodable, Sendable {
        var referenceId: String?
        var customId: String?
        var invoiceId: String?
        var amount: Amount?
        var payments: Payments?
    }

    struct Order: Decodable, Sendable {
        var id: String?
        var status: String?
        var purchaseUnits: [PurchaseUnit]?
        var links: [Link]?

        var unit: PurchaseUnit? { purchaseUnits?.first }
        func link(_ rel: String) -> String? { links?.first { $0.rel == rel }?.href }
    }

    struct Token: Decodable, Sendable {
        var accessToken: String?
        var expiresIn: Int?
    }

    /// PayPal's error shape, and the OAuth one (`error`, `error_description`).
    struct ErrorBody: Decodable, Sendable {
        struct Detail: Decodable, Sendable {
            var field: String?
            var value: String?
            var issue: String?
            var description: String?
        }

        var name: String?
        var message: String?
        var debugId: String?
        var details: [Detail]?
        var error: String?
        var errorDescription: String?
    }

    struct DisputedTransaction: Decodable, Sendable {
        var sellerTransactionId: String?
        var invoiceNumber: String?
        var custom: String?
    }

    struct DisputeOutcome: Decodable, Sendable {
        var outcomeCode: String?
    }

    struct Dispute: Decodable, Sendable {
        var disputeId: String?
        var reason: String?
        var status: String?
        var disputeAmount: Amount?
        var disputeOutcome: DisputeOutcome?
        var disputeLifeCycleStage: String?
        var disputedTransactions: [DisputedTransaction]?
    }

    struct Event<Resource: Decodable & Sendable>: Decodable, Sendable {
        var id: String?
        var eventType: String?
        var createTime: String?
        var resource: Resource?
    }

    /// `verify-webhook-signature`'s answer: `SUCCESS` or `FAILURE`.
    struct VerificationAnswer: Decodable, Sendable {
        var verificationStatus: String?
    }

    struct EventHeader: Decodable, Sendable {
        var id: String?
        var eventType: String?
        var createTime: String?
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) -> T? {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try? decoder.decode(type, from: Data(bytes))
    }
}
