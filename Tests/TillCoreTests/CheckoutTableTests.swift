import Foundation
import Testing
import TillCore

/// Walks every row of ``CheckoutTable`` against a payment in every state and checks the
/// machine does what the row says.
@Suite("Checkout transition table")
struct CheckoutTableTests {
    /// Runs a payment-level operation with a small amount and fresh ids.
    static func perform(_ operation: CheckoutOperation, on payment: inout Payment) throws(CheckoutError) -> Change {
        switch operation {
        case .capture:
            try payment.beginCapture(transactionID: "txn_t", amount: usd(1), at: at(50))
            return .applied
        case .recordCapture:
            return try payment.recordCapture(transactionID: "txn_t", amount: usd(1), gatewayReference: "ref_t", at: at(50))
        case .void:
            try payment.beginVoid(transactionID: "txn_t", at: at(50))
            return .applied
        case .refund:
            try payment.beginRefund(transactionID: "txn_t", amount: usd(1), at: at(50))
            return .applied
        case .recordRefund:
            return try payment.recordRefund(transactionID: "txn_t", amount: usd(1), gatewayReference: "ref_t", at: at(50))
        case .expire:
            return try payment.expireAuthorization(at: at(50))
        case .openDispute:
            return try payment.openDispute(id: "dp_t", amount: usd(1), at: at(50))
        default:
            Issue.record("no payment-level runner for \(operation)")
            return .unchanged
        }
    }

    @Test(arguments: CheckoutTable.payment)
    func paymentRule(_ rule: PaymentRule) throws {
        #expect(!rule.allowed.isEmpty)
        #expect(rule.allowed.isDisjoint(with: rule.ignored))
        for status in PaymentStatus.allCases {
            var payment = try paymentIn(status)
            #expect(payment.status == status)
            let before = payment
            let verdict = rule.verdict(in: status)
            do {
                let change = try Self.perform(rule.operation, on: &payment)
                #expect(verdict != .refused, "\(rule.operation) in \(status) should be refused")
                if verdict == .ignored { #expect(change == .unchanged) }
                if change == .unchanged { #expect(payment == before) }
            } catch {
                #expect(payment == before)
                switch verdict {
                case .refused:
                    #expect(error.code == .notAllowed, "\(rule.operation) in \(status): \(error)")
                    #expect(error.paymentStatus == status)
                    #expect(error.message.hasSuffix("a payment that is \(status.apiName)"))
                case .allowed, .ignored:
                    #expect(error.code != .notAllowed, "\(rule.operation) in \(status): \(error)")
                }
            }
            #expect(payment.checkInvariants(after: before) == [])
        }
    }

    @Test func resolutionTableCoversEveryPairOnce() {
        for current in TransactionStatus.allCases {
            for reported in ResolutionRule.Reported.allCases {
                #expect(CheckoutTable.resolution.filter { $0.current == current && $0.reported == reported }.count == 1)
            }
        }
    }

    static func authorization(in status: TransactionStatus) throws -> Payment {
        var payment = try newPayment()
        switch status {
        case .pending: break
        case .unknown: try payment.resolve(transaction: "txn_auth", outcome: .unknown, at: at(1))
        case .succeeded: payment = try authorizedPayment()
        case .failed: try payment.resolve(transaction: "txn_auth", outcome: .failed(decline), at: at(1))
        }
        return payment
    }

    static func outcome(_ reported: ResolutionRule.Reported) -> TransactionOutcome {
        switch reported {
        case .succeeded: .succeeded(gatewayReference: "ch_1")
        case .failed: .failed(decline)
        case .unknown: .unknown
        case .requiresAction: .requiresAction
        }
    }

    @Test(arguments: CheckoutTable.resolution)
    func resolutionRule(_ rule: ResolutionRule) throws {
        var payment = try Self.authorization(in: rule.current)
        let before = payment
        do {
            let change = try payment.resolve(transaction: "txn_auth", outcome: Self.outcome(rule.reported), at: at(60))
            #expect(rule.verdict != .refused)
            #expect(change == (rule.verdict == .allowed ? .applied : .unchanged))
            if change == .unchanged { #expect(payment == before) }
        } catch {
            #expect(rule.verdict == .refused)
            #expect(error.code == .conflictingOutcome)
            #expect(payment == before)
        }
        #expect(payment.checkInvariants(after: before) == [])
    }

    /// A captured payment of 1000 with dispute `dp_1` of 500 at the chargeback stage, 200 of
    /// it withdrawn, in `status`.
    static func dispute(in status: DisputeStatus) throws -> Payment {
        var payment = try paymentIn(.captured)
        try payment.openDispute(id: "dp_1", stage: .chargeback, amount: usd(500), at: at(10))
        try payment.recordChargeback(disputeID: "dp_1", transactionID: "txn_cb0", amount: usd(200), gatewayReference: "cb_0", at: at(11))
        switch status {
        case .needsResponse: break
        case .underReview: try payment.submitDisputeEvidence(id: "dp_1", at: at(12))
        case .won: try payment.closeDispute(id: "dp_1", outcome: .won, transactionID: "txn_close", at: at(12))
        case .lost: try payment.closeDispute(id: "dp_1", outcome: .lost, transactionID: "txn_close", at: at(12))
        case .accepted: try payment.acceptDispute(id: "dp_1", transactionID: "txn_close", at: at(12))
        }
        return payment
    }

    static func perform(disputeOperation operation: CheckoutOperation, on payment: inout Payment) throws(CheckoutError) -> Change {
        switch operation {
        case .escalateDispute: return try payment.escalateDispute(id: "dp_1", to: .preArbitration, at: at(70))
        case .submitEvidence: return try payment.submitDisputeEvidence(id: "dp_1", at: at(70))
        case .acceptDispute: return try payment.acceptDispute(id: "dp_1", transactionID: "txn_t", at: at(70))
        case .winDispute: return try payment.closeDispute(id: "dp_1", outcome: .won, transactionID: "txn_t", at: at(70))
        case .loseDispute: return try payment.closeDispute(id: "dp_1", outcome: .lost, transactionID: "txn_t", at: at(70))
        case .recordChargeback:
            return try payment.recordChargeback(disputeID: "dp_1", transactionID: "txn_t", amount: usd(100), gatewayReference: "cb_t", at: at(70))
        case .recordChargebackReversal:
            return try payment.recordChargebackReversal(
                disputeID: "dp_1", transactionID: "txn_t", amount: usd(100), gatewayReference: "rv_t", at: at(70))
        default:
            Issue.record("no dispute-level runner for \(operation)")
            return .unchanged
        }
    }

    @Test(arguments: CheckoutTable.dispute)
    func disputeRule(_ rule: DisputeRule) throws {
        for status in DisputeStatus.allCases {
            var payment = try Self.dispute(in: status)
            #expect(payment.dispute(id: "dp_1")?.status == status)
            let before = payment
            let verdict = rule.verdict(in: status)
            do {
                let change = try Self.perform(disputeOperation: rule.operation, on: &payment)
                #expect(verdict != .refused, "\(rule.operation) on a \(status) dispute should be refused")
                #expect(change == (verdict == .allowed ? .applied : .unchanged), "\(rule.operation) on \(status)")
                if change == .unchanged { #expect(payment == before) }
            } catch {
                #expect(verdict == .refused, "\(rule.operation) on \(status): \(error)")
                #expect(error.code == .notAllowed)
                #expect(error.message.contains("that is \(status.rawValue)"))
                #expect(payment == before)
            }
            #expect(payment.checkInvariants(after: before) == [])
        }
    }
}
