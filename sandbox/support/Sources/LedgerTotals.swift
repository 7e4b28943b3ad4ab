/// What moved for one payment, for comparing Till's records with a sandbox's ledger (the
/// fault, crash and load tests, and `till load`).
public struct PaymentTotals: Equatable, Sendable, CustomStringConvertible {
    public var authorized: Int64 = 0
    public var captured: Int64 = 0
    public var refunded: Int64 = 0
    /// How many authorizations the gateway recorded: more than one is a double charge.
    public var authorizations = 0

    public init(authorized: Int64 = 0, captured: Int64 = 0, refunded: Int64 = 0, authorizations: Int = 0) {
        self.authorized = authorized
        self.captured = captured
        self.refunded = refunded
        self.authorizations = authorizations
    }

    /// Till's view, from a payment as the API shows it.
    public init(payment json: [String: Any]) {
        let authorized = Int64(json["amount_authorized"] as? Int ?? -1)
        self.init(
            authorized: authorized, captured: Int64(json["amount_captured"] as? Int ?? -1),
            refunded: Int64(json["amount_refunded"] as? Int ?? -1), authorizations: authorized > 0 ? 1 : 0)
    }

    /// A gateway's view: its ledger, summed per gateway payment reference.
    public static func byPayment(_ ledger: [LedgerEntry]) -> [String: PaymentTotals] {
        var byPayment: [String: PaymentTotals] = [:]
        for entry in ledger {
            var totals = byPayment[entry.payment, default: PaymentTotals()]
            switch entry.kind {
            case .authorization:
                totals.authorized += entry.amount
                totals.authorizations += 1
            case .capture: totals.captured += entry.amount
            case .refund: totals.refunded += entry.amount
            case .refundFailure: totals.refunded -= entry.amount
            default: break
            }
            byPayment[entry.payment] = totals
        }
        return byPayment
    }

    public var description: String { "authorized \(authorized) (\(authorizations)x), captured \(captured), refunded \(refunded)" }
}
