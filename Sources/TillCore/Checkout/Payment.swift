import Foundation

/// A payment and the transactions and disputes it owns.
///
/// Pure and deterministic: ids and times come from the caller, nothing does I/O. Every
/// mutating operation either applies completely or throws ``CheckoutError`` and leaves the
/// payment exactly as it was. The status is derived from the transactions, never stored.
public struct Payment: Hashable, Sendable, Codable, Identifiable {
    /// The caller's id (`pay_…`).
    public let id: String
    /// The amount requested, and authorized if the authorization succeeds.
    public let amount: Money
    public let createdAt: Date
    /// In the order they were written; sequences strictly increase. The first is the
    /// authorization.
    public internal(set) var transactions: [Transaction]
    /// In the order they were opened.
    public internal(set) var disputes: [Dispute]
    /// When the gateway reported the authorization expired; the uncaptured rest is released.
    public internal(set) var expiredAt: Date?

    /// Creates a payment with its authorization written as `pending`, ready for the
    /// gateway call.
    ///
    /// - Throws: ``CheckoutError/Code/invalidAmount`` if `amount` is not positive.
    public init(id: String, amount: Money, authorizationID: String, at date: Date) throws(CheckoutError) {
        guard amount.minorUnits > 0 else {
            throw CheckoutError(
                .invalidAmount, .authorize, .processing,
                "cannot authorize \(amount.minorUnits) \(amount.currency.code): the amount must be positive")
        }
        self.id = id
        self.amount = amount
        self.createdAt = date
        self.transactions = [
            Transaction(id: authorizationID, kind: .authorize, sequence: 1, amount: amount, status: .pending, at: date)
        ]
        self.disputes = []
        self.expiredAt = nil
    }

    /// Every amount in the payment is in this currency.
    public var currency: Currency { amount.currency }

    /// The authorization transaction (always the first).
    public var authorization: Transaction { transactions[0] }

    /// The key a gateway call for `transaction` carries: the same payment, operation and
    /// sequence always give the same key, so a retry after a crash cannot act twice.
    public func idempotencyKey(for transaction: Transaction) -> String {
        "\(id)-\(transaction.kind.rawValue)-\(transaction.sequence)"
    }

    /// The transaction with this id, if the payment owns one.
    public func transaction(id: String) -> Transaction? { transactions.first { $0.id == id } }
    /// The dispute with this id, if the payment has one.
    public func dispute(id: String) -> Dispute? { disputes.first { $0.id == id } }

    // MARK: Derived amounts (minor units of `currency`)

    func total(_ kind: TransactionKind, _ include: (Transaction) -> Bool) -> Int64 {
        var sum: Int64 = 0
        for transaction in transactions where transaction.kind == kind && include(transaction) {
            sum = .saturating(sum, plus: transaction.amount.minorUnits)
        }
        return sum
    }

    func succeeded(_ kind: TransactionKind) -> Int64 { total(kind) { $0.status == .succeeded } }
    func inFlight(_ kind: TransactionKind) -> Int64 { total(kind) { $0.status.isInFlight } }

    /// Authorized amount: the authorization's amount once it succeeded.
    public var authorizedMinorUnits: Int64 { authorization.status == .succeeded ? authorization.amount.minorUnits : 0 }
    /// Sum of succeeded captures.
    public var capturedMinorUnits: Int64 { succeeded(.capture) }
    /// Sum of succeeded refunds.
    public var refundedMinorUnits: Int64 { succeeded(.refund) }
    /// Charged back and not reinstated, over all disputes.
    public var chargedBackMinorUnits: Int64 { .saturating(succeeded(.chargeback), minus: succeeded(.chargebackReversal)) }
    /// Amount under disputes that are not won (reserved against refunds).
    public var disputedMinorUnits: Int64 {
        disputes.filter { $0.status != .won }.reduce(0) { .saturating($0, plus: $1.amount.minorUnits) }
    }

    /// The amounts above as ``Money`` in the payment's currency, as the API reports them
    /// (`amount_authorized`, `amount_captured`, `amount_refunded`, `amount_disputed`).
    public var authorized: Money { Money(minorUnits: authorizedMinorUnits, currency: currency) }
    public var captured: Money { Money(minorUnits: capturedMinorUnits, currency: currency) }
    public var refunded: Money { Money(minorUnits: refundedMinorUnits, currency: currency) }
    public var chargedBack: Money { Money(minorUnits: chargedBackMinorUnits, currency: currency) }
    public var disputed: Money { Money(minorUnits: disputedMinorUnits, currency: currency) }

    /// Charged back and not reinstated on one dispute, saturating rather than trapping:
    /// the one definition the API's `amount_charged_back` and the engine share.
    public func chargedBackMinorUnits(disputeID: String) -> Int64 {
        .saturating(
            total(.chargeback) { $0.status == .succeeded && $0.disputeID == disputeID },
            minus: total(.chargebackReversal) { $0.status == .succeeded && $0.disputeID == disputeID })
    }

    var hasSucceededVoid: Bool { transactions.contains { $0.kind == .void && $0.status == .succeeded } }
    var hasFinalCapture: Bool {
        transactions.contains { $0.kind == .capture && $0.isFinalCapture && $0.status == .succeeded }
    }

    /// Whether the uncaptured rest of the authorization is gone: voided, expired, or a
    /// final capture took what it needed.
    public var isRemainderReleased: Bool { hasSucceededVoid || hasFinalCapture || expiredAt != nil }

    /// What a new capture may take now, with in-flight captures reserved as if they succeed.
    public var capturable: Money {
        let blocked = isRemainderReleased
            || transactions.contains { $0.status.isInFlight && ($0.kind == .void || ($0.kind == .capture && $0.isFinalCapture)) }
        let rest = blocked ? 0 : Int64.saturating(.saturating(authorizedMinorUnits, minus: capturedMinorUnits), minus: inFlight(.capture))
        return Money(minorUnits: max(0, rest), currency: currency)
    }

    /// What a new refund (or dispute) may take now: captured, less refunds succeeded and in
    /// flight, less amounts under disputes that are not won.
    public var refundable: Money {
        let rest = [refundedMinorUnits, inFlight(.refund), disputedMinorUnits].reduce(capturedMinorUnits) {
            Int64.saturating($0, minus: $1)
        }
        return Money(minorUnits: max(0, rest), currency: currency)
    }

    // MARK: Status

    /// The payment's status, derived from its transactions and disputes.
    public var status: PaymentStatus {
        let authorization = authorization
        switch authorization.status {
        case .pending: return authorization.requiresAction ? .requiresAction : .processing
        case .unknown: return .processing
        case .failed: return (authorization.failure?.isDecline ?? true) ? .declined : .failed
        case .succeeded: break
        }
        if disputes.contains(where: \.status.isOpen) { return .disputed }
        if chargedBackMinorUnits > 0 { return .chargedBack }
        let captured = capturedMinorUnits
        let refunded = refundedMinorUnits
        if refunded > 0 { return refunded >= captured ? .refunded : .partiallyRefunded }
        if captured > 0 {
            return captured >= authorizedMinorUnits || isRemainderReleased ? .captured : .partiallyCaptured
        }
        if hasSucceededVoid { return .voided }
        if expiredAt != nil { return .expired }
        return .authorized
    }

    // MARK: Codable

    private enum CodingKeys: String, CodingKey {
        case id, amount, currency, createdAt, transactions, disputes, expiredAt
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        amount = try c.decodeMoney(amountKey: .amount, currencyKey: .currency)
        createdAt = try c.decode(Date.self, forKey: .createdAt)
        transactions = try c.decode([Transaction].self, forKey: .transactions)
        disputes = try c.decode([Dispute].self, forKey: .disputes)
        expiredAt = try c.decodeIfPresent(Date.self, forKey: .expiredAt)
        // `authorization` reads transactions[0]; a stored payment without one is corrupt.
        guard transactions.first?.kind == .authorize else {
            throw DecodingError.dataCorruptedError(
                forKey: .transactions, in: c, debugDescription: "payment \(id) has no authorization first")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encodeMoney(amount, amountKey: .amount, currencyKey: .currency)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(transactions, forKey: .transactions)
        try c.encode(disputes, forKey: .disputes)
        try c.encodeIfPresent(expiredAt, forKey: .expiredAt)
    }
}
