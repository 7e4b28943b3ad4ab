import Foundation

/// One gateway operation a payment owns.
public enum TransactionKind: String, Hashable, Sendable, Codable, CaseIterable {
    case authorize
    case capture
    case void
    case refund
    case chargeback
    case chargebackReversal
}

/// Where a transaction stands with the gateway.
///
/// `pending` is written before the gateway is called; `unknown` means the call's outcome was
/// lost (timeout, dropped connection, crash) and must be resolved by asking the gateway.
public enum TransactionStatus: String, Hashable, Sendable, Codable, CaseIterable {
    case pending
    case succeeded
    case failed
    case unknown

    /// `succeeded` and `failed` are final: nothing moves a transaction out of them.
    public var isTerminal: Bool { self == .succeeded || self == .failed }

    /// `pending` and `unknown` may still turn into money moving, so their amounts stay
    /// reserved until they resolve.
    public var isInFlight: Bool { !isTerminal }
}

/// Who started a transaction: Till ("write before you call") or the gateway, reported
/// through a webhook or reconciliation (a refund made in the gateway's dashboard, a
/// chargeback).
public enum TransactionOrigin: String, Hashable, Sendable, Codable {
    case till
    case gateway
}

/// The decline taxonomy every gateway's refusals map into.
///
/// A struct over a string so gateways can add codes without breaking callers.
public struct DeclineCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }

    public static let insufficientFunds = DeclineCode(rawValue: "insufficient_funds")
    public static let cardDeclined = DeclineCode(rawValue: "card_declined")
    public static let expiredCard = DeclineCode(rawValue: "expired_card")
    public static let incorrectCVC = DeclineCode(rawValue: "incorrect_cvc")
    public static let lostOrStolen = DeclineCode(rawValue: "lost_or_stolen")
    public static let fraudSuspected = DeclineCode(rawValue: "fraud_suspected")
    public static let authenticationFailed = DeclineCode(rawValue: "authentication_failed")
    /// The gateway failed to process the request; not a decision about the card. A failed
    /// authorization with this code makes the payment `failed` rather than `declined`.
    public static let processingError = DeclineCode(rawValue: "processing_error")
}

/// Why a transaction failed, in the shared taxonomy, keeping the gateway's own words.
public struct TransactionFailure: Hashable, Sendable, Codable {
    /// The shared taxonomy's code.
    public var code: DeclineCode
    /// The gateway's own code and message, kept verbatim for support, except that anything
    /// PAN-like is masked: gateways echo card numbers in messages ("card 4242… declined"),
    /// and these are stored with the payment, answered and sent on in webhooks.
    public var gatewayCode: String?
    public var gatewayMessage: String?

    public init(code: DeclineCode, gatewayCode: String? = nil, gatewayMessage: String? = nil) {
        self.code = code
        self.gatewayCode = gatewayCode.map(PANScreen.mask)
        self.gatewayMessage = gatewayMessage.map(PANScreen.mask)
    }

    /// Whether the issuer refused (as opposed to a processing error).
    public var isDecline: Bool { code != .processingError }
}

/// What the gateway said about a transaction, as reported by the call, a webhook or
/// reconciliation.
public enum TransactionOutcome: Hashable, Sendable, Codable {
    /// The operation took effect. `gatewayReference` is the gateway's id for it.
    case succeeded(gatewayReference: String?)
    /// The operation was refused or could not be processed.
    case failed(TransactionFailure)
    /// The outcome was lost; reconciliation will ask again.
    case unknown
    /// Authorizations only: the customer must complete a challenge (3-D Secure); the
    /// transaction stays pending with a marker.
    case requiresAction
}

/// One gateway operation and where it stands.
public struct Transaction: Hashable, Sendable, Codable, Identifiable {
    /// The caller's id (`txn_…`).
    public let id: String
    public let kind: TransactionKind
    /// Strictly increasing within the payment; with the payment id and kind it makes a
    /// deterministic gateway idempotency key.
    public let sequence: Int
    public let amount: Money
    public internal(set) var status: TransactionStatus
    /// Set while an authorization waits for a 3-D Secure challenge.
    public internal(set) var requiresAction: Bool
    /// For captures: no further capture will follow; the rest of the authorization is
    /// released when this one succeeds.
    public let isFinalCapture: Bool
    public let origin: TransactionOrigin
    /// For chargebacks and their reversals: the dispute they belong to.
    public let disputeID: String?
    /// The gateway's id for the operation; gateway events are deduplicated by it.
    public internal(set) var gatewayReference: String?
    /// Why it failed; set exactly when `status` is `failed`.
    public internal(set) var failure: TransactionFailure?
    public let createdAt: Date
    public internal(set) var updatedAt: Date

    init(
        id: String, kind: TransactionKind, sequence: Int, amount: Money,
        status: TransactionStatus, isFinalCapture: Bool = false, origin: TransactionOrigin = .till,
        disputeID: String? = nil, gatewayReference: String? = nil, at date: Date
    ) {
        self.id = id
        self.kind = kind
        self.sequence = sequence
        self.amount = amount
        self.status = status
        self.requiresAction = false
        self.isFinalCapture = isFinalCapture
        self.origin = origin
        self.disputeID = disputeID
        self.gatewayReference = gatewayReference
        self.failure = nil
        self.createdAt = date
        self.updatedAt = date
    }

    private enum CodingKeys: String, CodingKey {
        case id, kind, sequence, amount, currency, status, requiresAction, isFinalCapture
        case origin, disputeID, gatewayReference, failure, createdAt, updatedAt
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        kind = try c.decode(TransactionKind.self, forKey: .kind)
        sequence = try c.decode(Int.self, forKey: .sequence)
        amount = try c.decodeMoney(amountKey: .amount, currencyKey: .currency)
        status = try c.decode(TransactionStatus.self, forKey: .status)
        requiresAction = try c.decode(Bool.self, forKey: .requiresAction)
        isFinalCapture = try c.decode(Bool.self, forKey: .isFinalCapture)
        origin = try c.decode(TransactionOrigin.self, forKey: .origin)
        disputeID = try c.decodeIfPresent(String.self, forKey: .disputeID)
        gatewayReference = try c.decodeIfPresent(String.self, forKey: .gatewayReference)
        failure = try c.decodeIfPresent(TransactionFailure.self, forKey: .failure)
        createdAt = try c.decode(Date.self, forKey: .createdAt)
        updatedAt = try c.decode(Date.self, forKey: .updatedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(kind, forKey: .kind)
        try c.encode(sequence, forKey: .sequence)
        try c.encodeMoney(amount, amountKey: .amount, currencyKey: .currency)
        try c.encode(status, forKey: .status)
        try c.encode(requiresAction, forKey: .requiresAction)
        try c.encode(isFinalCapture, forKey: .isFinalCapture)
        try c.encode(origin, forKey: .origin)
        try c.encodeIfPresent(disputeID, forKey: .disputeID)
        try c.encodeIfPresent(gatewayReference, forKey: .gatewayReference)
        try c.encodeIfPresent(failure, forKey: .failure)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
    }
}
