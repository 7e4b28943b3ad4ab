import Foundation

/// How far a dispute has gone. Stages only move forward.
public enum DisputeStage: String, Hashable, Sendable, Codable, CaseIterable, Comparable {
    /// The issuer asks questions; no money has moved.
    case inquiry
    /// The cardholder's bank took the money back; the merchant may contest.
    case chargeback
    /// The issuer contested the merchant's evidence again.
    case preArbitration

    private var rank: Int {
        switch self {
        case .inquiry: 0
        case .chargeback: 1
        case .preArbitration: 2
        }
    }

    public static func < (lhs: DisputeStage, rhs: DisputeStage) -> Bool { lhs.rank < rhs.rank }
}

/// Where a dispute stands. `won`, `lost` and `accepted` are final.
public enum DisputeStatus: String, Hashable, Sendable, Codable, CaseIterable {
    case needsResponse
    case underReview
    case won
    case lost
    case accepted

    /// Whether the dispute is still being fought.
    public var isOpen: Bool { self == .needsResponse || self == .underReview }
}

/// How a dispute ended.
public enum DisputeOutcome: String, Hashable, Sendable, Codable, CaseIterable {
    /// Decided for the merchant: every charged-back amount is reversed exactly.
    case won
    /// Decided for the cardholder: the whole disputed amount is charged back.
    case lost

    var status: DisputeStatus { self == .won ? .won : .lost }
}

/// A cardholder's dispute of (part of) a captured payment.
public struct Dispute: Hashable, Sendable, Codable, Identifiable {
    /// The caller's id (`dp_…`).
    public let id: String
    public internal(set) var stage: DisputeStage
    public internal(set) var status: DisputeStatus
    /// The disputed amount; it is reserved against refunds and other disputes from the
    /// moment the dispute opens until it is won.
    public let amount: Money
    public let reason: String?
    public let gatewayReference: String?
    public let openedAt: Date
    /// When evidence was submitted at the current stage; cleared by an escalation.
    public internal(set) var evidenceSubmittedAt: Date?
    /// When the dispute was won, lost or accepted.
    public internal(set) var closedAt: Date?

    init(
        id: String, stage: DisputeStage, amount: Money, reason: String?, gatewayReference: String?,
        at date: Date
    ) {
        self.id = id
        self.stage = stage
        self.status = .needsResponse
        self.amount = amount
        self.reason = reason
        self.gatewayReference = gatewayReference
        self.openedAt = date
        self.evidenceSubmittedAt = nil
        self.closedAt = nil
    }

    private enum CodingKeys: String, CodingKey {
        case id, stage, status, amount, currency, reason, gatewayReference, openedAt
        case evidenceSubmittedAt, closedAt
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        stage = try c.decode(DisputeStage.self, forKey: .stage)
        status = try c.decode(DisputeStatus.self, forKey: .status)
        amount = try c.decodeMoney(amountKey: .amount, currencyKey: .currency)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
        gatewayReference = try c.decodeIfPresent(String.self, forKey: .gatewayReference)
        openedAt = try c.decode(Date.self, forKey: .openedAt)
        evidenceSubmittedAt = try c.decodeIfPresent(Date.self, forKey: .evidenceSubmittedAt)
        closedAt = try c.decodeIfPresent(Date.self, forKey: .closedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(stage, forKey: .stage)
        try c.encode(status, forKey: .status)
        try c.encodeMoney(amount, amountKey: .amount, currencyKey: .currency)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encodeIfPresent(gatewayReference, forKey: .gatewayReference)
        try c.encode(openedAt, forKey: .openedAt)
        try c.encodeIfPresent(evidenceSubmittedAt, forKey: .evidenceSubmittedAt)
        try c.encodeIfPresent(closedAt, forKey: .closedAt)
    }
}
