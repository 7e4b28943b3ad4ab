import Foundation
import TillCore
import TillCrypto

/// Which of Till's transactions a gateway call belongs to, and the key that makes repeating
/// it safe.
public struct TransactionReference: Sendable, Hashable {
    /// Till's payment id (`pay_…`).
    public var paymentID: String
    /// Till's transaction id (`txn_…`); sent to the gateway as metadata so that
    /// ``PaymentGateway/status(_:)`` can find the operation by our own reference.
    public var transactionID: String
    /// Deterministic, derived from the payment, the operation and its sequence
    /// (``Payment/idempotencyKey(for:)``): a repeated call returns the first result.
    public var idempotencyKey: String

    public init(paymentID: String, transactionID: String, idempotencyKey: String) {
        self.paymentID = paymentID
        self.transactionID = transactionID
        self.idempotencyKey = idempotencyKey
    }
}

/// Card data, handed to the adapter by the vault at call time and wiped when the request
/// is dropped. Never logged: its descriptions show only the last four digits.
public struct CardDetails: Sendable, CustomStringConvertible {
    /// The primary account number, ASCII digits.
    public var number: SecureBytes
    public var expiryMonth: Int
    public var expiryYear: Int
    /// Present only for the first authorization with a freshly tokenized card.
    public var cvc: SecureBytes?
    public var holderName: String?

    public init(number: SecureBytes, expiryMonth: Int, expiryYear: Int, cvc: SecureBytes? = nil, holderName: String? = nil) {
        self.number = number
        self.expiryMonth = expiryMonth
        self.expiryYear = expiryYear
        self.cvc = cvc
        self.holderName = holderName
    }

    /// The last four digits, for logs and display.
    public var last4: String {
        number.withUnsafeBytes { String(decoding: $0.suffix(4), as: UTF8.self) }
    }

    public var description: String { "CardDetails(…\(last4), \(expiryMonth)/\(expiryYear))" }
}

/// Whether an authorization is captured at once or later.
public enum CaptureMode: String, Sendable, Hashable, Codable {
    case automatic
    case manual
}

public struct AuthorizeRequest: Sendable {
    public var reference: TransactionReference
    public var amount: Money
    public var card: CardDetails
    public var captureMode: CaptureMode
    public var description: String?
    /// Merchant metadata passed through to the gateway.
    public var metadata: [String: String]
    /// Where the customer returns after a 3-D Secure challenge.
    public var returnURL: String?
    /// Who starts the charge: a merchant-initiated one must be flagged so, or the issuer
    /// asks for a challenge that nobody is there to answer.
    public var initiator: ChargeInitiator

    public init(
        reference: TransactionReference, amount: Money, card: CardDetails, captureMode: CaptureMode = .manual,
        description: String? = nil, metadata: [String: String] = [:], returnURL: String? = nil,
        initiator: ChargeInitiator = .customer
    ) {
        self.reference = reference
        self.amount = amount
        self.card = card
        self.captureMode = captureMode
        self.description = description
        self.metadata = metadata
        self.returnURL = returnURL
        self.initiator = initiator
    }
}

public struct CaptureRequest: Sendable, Hashable {
    public var reference: TransactionReference
    /// The gateway's payment (Stripe PaymentIntent, PayPal order).
    public var gatewayPaymentReference: String
    /// The gateway's authorization, where it differs from the payment (PayPal).
    public var gatewayAuthorizationReference: String?
    public var amount: Money
    /// No further capture follows; the rest of the authorization is released.
    public var isFinal: Bool

    public init(
        reference: TransactionReference, gatewayPaymentReference: String, gatewayAuthorizationReference: String? = nil,
        amount: Money, isFinal: Bool = true
    ) {
        self.reference = reference
        self.gatewayPaymentReference = gatewayPaymentReference
        self.gatewayAuthorizationReference = gatewayAuthorizationReference
        self.amount = amount
        self.isFinal = isFinal
    }
}

public struct VoidRequest: Sendable, Hashable {
    public var reference: TransactionReference
    public var gatewayPaymentReference: String
    public var gatewayAuthorizationReference: String?

    public init(reference: TransactionReference, gatewayPaymentReference: String, gatewayAuthorizationReference: String? = nil) {
        self.reference = reference
        self.gatewayPaymentReference = gatewayPaymentReference
        self.gatewayAuthorizationReference = gatewayAuthorizationReference
    }
}

public struct RefundRequest: Sendable, Hashable {
    public var reference: TransactionReference
    public var gatewayPaymentReference: String
    /// The capture being refunded (Stripe charge, PayPal capture).
    public var gatewayCaptureReference: String?
    public var amount: Money
    public var reason: String?

    public init(
        reference: TransactionReference, gatewayPaymentReference: String, gatewayCaptureReference: String? = nil,
        amount: Money, reason: String? = nil
    ) {
        self.reference = reference
        self.gatewayPaymentReference = gatewayPaymentReference
        self.gatewayCaptureReference = gatewayCaptureReference
        self.amount = amount
        self.reason = reason
    }
}

/// Asks the gateway what became of one of our transactions, by our own reference: used by
/// reconciliation for `pending` and `unknown` transactions.
public struct StatusLookup: Sendable, Hashable {
    public var reference: TransactionReference
    public var kind: TransactionKind
    public var amount: Money
    /// The gateway's payment, when Till learned it (always, except for an authorization
    /// whose answer was lost).
    public var gatewayPaymentReference: String?
    public var gatewayAuthorizationReference: String?

    public init(
        reference: TransactionReference, kind: TransactionKind, amount: Money, gatewayPaymentReference: String? = nil,
        gatewayAuthorizationReference: String? = nil
    ) {
        self.reference = reference
        self.kind = kind
        self.amount = amount
        self.gatewayPaymentReference = gatewayPaymentReference
        self.gatewayAuthorizationReference = gatewayAuthorizationReference
    }
}

/// Evidence for a dispute, in the fields both card networks' processes know.
public struct DisputeEvidence: Sendable, Hashable, Codable {
    public var productDescription: String?
    public var customerName: String?
    public var customerEmail: String?
    public var customerCommunication: String?
    public var shippingCarrier: String?
    public var shippingTrackingNumber: String?
    public var refundPolicy: String?
    /// Anything else, as free text.
    public var uncategorizedText: String?

    public init(
        productDescription: String? = nil, customerName: String? = nil, customerEmail: String? = nil,
        customerCommunication: String? = nil, shippingCarrier: String? = nil, shippingTrackingNumber: String? = nil,
        refundPolicy: String? = nil, uncategorizedText: String? = nil
    ) {
        self.productDescription = productDescription
        self.customerName = customerName
        self.customerEmail = customerEmail
        self.customerCommunication = customerCommunication
        self.shippingCarrier = shippingCarrier
        self.shippingTrackingNumber = shippingTrackingNumber
        self.refundPolicy = refundPolicy
        self.uncategorizedText = uncategorizedText
    }
}

public struct DisputeEvidenceRequest: Sendable, Hashable {
    public var disputeReference: String
    public var evidence: DisputeEvidence
    /// Submit now (`true`) or only stage the evidence.
    public var submit: Bool
    public var idempotencyKey: String

    public init(disputeReference: String, evidence: DisputeEvidence, submit: Bool = true, idempotencyKey: String) {
        self.disputeReference = disputeReference
        self.evidence = evidence
        self.submit = submit
        self.idempotencyKey = idempotencyKey
    }
}

public struct DisputeAcceptRequest: Sendable, Hashable {
    public var disputeReference: String
    public var idempotencyKey: String

    public init(disputeReference: String, idempotencyKey: String) {
        self.disputeReference = disputeReference
        self.idempotencyKey = idempotencyKey
    }
}
