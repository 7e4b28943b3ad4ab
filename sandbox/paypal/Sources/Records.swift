import Foundation
import SandboxSupport
import TillCore

/// What an order is for.
enum OrderIntent: String, Sendable {
    case capture = "CAPTURE"
    case authorize = "AUTHORIZE"
}

/// The card an order is paid with, as much of it as the sandbox keeps (never the number).
struct CardRecord: Sendable {
    var lastDigits: String
    var brand: CardBrand?
    var name: String?
    var expiry: String
    var behavior: CardBehavior
    /// Set once a 3-D Secure challenge was completed for it.
    var authenticated = false
    /// `stored_credential`, when the card is being saved or was saved earlier.
    var storedCredential: StoredCredential?

    /// Who started the charge, in the ledger's gateway-neutral terms.
    var initiator: String {
        guard let storedCredential else { return "customer" }
        if storedCredential.paymentInitiator == "MERCHANT" { return "merchant" }
        return storedCredential.usage == "FIRST" ? "customer_saving_card" : "customer"
    }

    /// A merchant-initiated charge: the customer is absent and cannot answer a challenge.
    var isMerchantInitiated: Bool { storedCredential?.paymentInitiator == "MERCHANT" }
}

/// `payment_source.card.stored_credential` as PayPal's orders API defines it.
struct StoredCredential: Sendable, Hashable {
    /// CUSTOMER or MERCHANT.
    var paymentInitiator: String
    /// ONE_TIME, RECURRING or UNSCHEDULED.
    var paymentType: String
    /// FIRST, SUBSEQUENT or DERIVED (the default).
    var usage: String
}

struct OrderRecord: Sendable {
    var id: String
    var intent: OrderIntent
    /// CREATED, APPROVED, PAYER_ACTION_REQUIRED, COMPLETED, VOIDED.
    var status: String
    var amount: Money
    var referenceID: String
    var description: String?
    var customID: String?
    var invoiceID: String?
    var softDescriptor: String?
    var card: CardRecord?
    /// Approved through the sandbox's stand-in for the PayPal checkout page.
    var walletApproved = false
    var authorizationIDs: [String] = []
    var captureIDs: [String] = []
    var createTime: Date
    var updateTime: Date

    var behavior: CardBehavior { card?.behavior ?? .succeed }
}

struct AuthorizationRecord: Sendable {
    var id: String
    var orderID: String
    var amount: Money
    /// CREATED, CAPTURED, DENIED, PARTIALLY_CAPTURED, VOIDED.
    var status: String
    var captured: Int64 = 0
    var captureIDs: [String] = []
    var invoiceID: String?
    var customID: String?
    var processorCode: String
    var behavior: CardBehavior
    var reauthorizedFrom: String?
    var reauthorizedTo: String?
    var createTime: Date
    var updateTime: Date
    var expirationTime: Date

    var remaining: Int64 { status == "CREATED" || status == "PARTIALLY_CAPTURED" ? amount.minorUnits - captured : 0 }
}

struct CaptureRecord: Sendable {
    var id: String
    var orderID: String
    var authorizationID: String?
    var amount: Money
    /// COMPLETED, DECLINED, PARTIALLY_REFUNDED, PENDING, REFUNDED, FAILED.
    var status: String
    var finalCapture: Bool
    /// Refunds that completed or are still pending (they reserve the amount).
    var refunded: Int64 = 0
    /// Held or lost to a chargeback.
    var chargedBack: Int64 = 0
    var refundIDs: [String] = []
    var invoiceID: String?
    var customID: String?
    var processorCode: String
    var behavior: CardBehavior
    var createTime: Date
    var updateTime: Date

    var refundable: Int64 { amount.minorUnits - refunded - chargedBack }
}

struct RefundRecord: Sendable {
    var id: String
    var captureID: String
    var orderID: String
    var amount: Money
    /// CANCELLED, FAILED, PENDING, COMPLETED.
    var status: String
    var invoiceID: String?
    var customID: String?
    var noteToPayer: String?
    var createTime: Date
    var updateTime: Date
}

struct DisputeRecord: Sendable {
    enum Stage: String, Sendable { case inquiry, chargeback }

    var id: String
    var captureID: String
    var orderID: String
    var amount: Money
    var reason: DisputeReason
    var stage: Stage
    /// `nil` while open; `true` when the merchant won.
    var merchantWon: Bool?
    /// Whether a chargeback is currently recorded against the capture.
    var chargedBack: Bool
    var createTime: Date
    var updateTime: Date
    /// Evidence submitted through `provide-evidence`, newest last.
    var evidence: [String] = []
    /// Closed by the merchant through `accept-claim`.
    var accepted = false
    /// The disputed capture's `invoice_id` and `custom_id`, echoed as `invoice_number` and
    /// `custom` so the merchant can find its own payment.
    var invoiceID: String? = nil
    var customID: String? = nil
}

/// Everything the PayPal-like gateway remembers.
struct GatewayState: Sendable {
    var orders: [String: OrderRecord] = [:]
    var authorizations: [String: AuthorizationRecord] = [:]
    var captures: [String: CaptureRecord] = [:]
    var refunds: [String: RefundRecord] = [:]
    var disputes: [String: DisputeRecord] = [:]
    /// Invoice ids of completed payments: PayPal refuses to take the same one twice.
    var usedInvoiceIDs: Set<String> = []
    /// Bumped by a reset so delayed work scheduled before it does nothing.
    var generation = 0
    var disputeSequence = 0
}

extension Date {
    /// RFC 3339 in UTC with whole seconds, as PayPal writes times.
    var paypalString: String { formatted(.iso8601) }
}

extension Money {
    var paypalJSON: JSON {
        .object([("currency_code", .string(currency.code)), ("value", .string(decimalString))])
    }
}
