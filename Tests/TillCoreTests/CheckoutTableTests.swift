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

    static let paymentOperations = CheckoutOperation.allCases.filter { $0.scope == .payment && $0 != .authorize }
    static let disputeOperations = CheckoutOperation.allCases.filter { $0.scope == .dispute }

    @Test(arguments: paymentOperations)
    func paymentRows(_ operation: CheckoutOperation) throws {
        #expect(CheckoutTable.payment.rules(for: operation).contains { $0.verdict == .allowed })
        for status in PaymentStatus.allCases {
            var payment = try paymentIn(status)
            #expect(payment.status == status)
            let before = payment
            let rule = CheckoutTable.payment.rule(for: operation, in: status, subject: payment)
            let verdict = rule?.verdict ?? .refused
            do {
                let change = try Self.perform(operation, on: &payment)
                #expect(verdict != .refused, "\(operation) in \(status) should be refused")
                if verdict == .ignored { #expect(change == .unchanged) }
                if change == .unchanged { #expect(payment == before) }
                if change == .applied, let rule {
                    // The row says where the payment goes once its transaction succeeds.
                    if payment.transaction(id: "txn_t")?.status == .pending {
                        try payment.resolve(transaction: "txn_t", outcome: .succeeded(gatewayReference: "ref_t"), at: at(51))
                    }
                    #expect(
                        payment.status == status || rule.to.contains(payment.status),
                        "\(rule.name) from \(status) led to \(payment.status), not in \(rule.to)")
                }
            } catch {
                #expect(payment == before)
                switch verdict {
                case .refused:
                    #expect(error.code.rawValue == rule?.refusal ?? CheckoutError.Code.notAllowed.rawValue, "\(operation) in \(status): \(error)")
                    #expect(error.paymentStatus == status)
                    if rule == nil { #expect(error.message.hasSuffix("a payment that is \(status.apiName)")) }
                case .allowed, .ignored:
                    #expect(error.code != .notAllowed, "\(operation) in \(status): \(error)")
                }
            }
            #expect(payment.checkInvariants(after: before) == [])
        }
    }

    @Test func everyOperationHasRowsInTheTableOfItsScope() {
        for operation in CheckoutOperation.allCases {
            let payment = CheckoutTable.payment.rules(for: operation)
            let dispute = CheckoutTable.dispute.rules(for: operation)
            switch operation.scope {
            case .payment:
                #expect(!payment.isEmpty, "\(operation) has no payment row")
                #expect(dispute.isEmpty)
            case .dispute:
                #expect(!dispute.isEmpty, "\(operation) has no dispute row")
                #expect(payment.isEmpty)
            case .transaction:
                #expect(payment.isEmpty && dispute.isEmpty)
                #expect(CheckoutTable.resolution.operations == Set(ReportedOutcome.allCases))
            }
        }
        for table in [CheckoutTable.payment.rules.map(\.name), CheckoutTable.dispute.rules.map(\.name), CheckoutTable.resolution.rules.map(\.name)] {
            #expect(Set(table).count == table.count, "row names repeat")
        }
        // Ignored and refused rows lead nowhere; allowed rows lead somewhere.
        for rule in CheckoutTable.payment.rules { #expect(rule.to.isEmpty == (rule.verdict != .allowed), "\(rule.name)") }
        for rule in CheckoutTable.dispute.rules { #expect(rule.to.isEmpty == (rule.verdict != .allowed), "\(rule.name)") }
        for rule in CheckoutTable.resolution.rules { #expect(rule.to.isEmpty == (rule.verdict != .allowed), "\(rule.name)") }
    }

    @Test func anOperationWithNoRowIsRefused() {
        let table = TransitionTable<Int, PaymentStatus, CheckoutOperation>([
            .allow("capture", .capture, from: [.authorized], to: [.captured], why: "test")
        ])
        #expect(table.verdict(for: .capture, in: .authorized, subject: 0) == .allowed)
        #expect(table.verdict(for: .capture, in: .voided, subject: 0) == .refused)
        #expect(table.verdict(for: .refund, in: .authorized, subject: 0) == .refused)
        #expect(table.rule(for: .refund, in: .authorized, subject: 0) == nil)
        // The first matching row decides: a guarded refusal before the general row.
        let guarded = TransitionTable<Int, PaymentStatus, CheckoutOperation>([
            .refuse("odd", .capture, from: [.authorized], when: TransitionGuard("odd") { $0 % 2 == 1 }, code: "odd", why: "test"),
            .allow("capture", .capture, from: [.authorized], to: [.captured], why: "test"),
        ])
        #expect(guarded.rule(for: .capture, in: .authorized, subject: 1)?.name == "odd")
        #expect(guarded.rule(for: .capture, in: .authorized, subject: 2)?.name == "capture")
    }

    @Test func resolutionTableHasOneUnguardedRowForEveryPair() {
        for current in TransactionStatus.allCases {
            for reported in ReportedOutcome.allCases {
                let rows = CheckoutTable.resolution.rules.filter { $0.operation == reported && $0.from.contains(current) }
                #expect(rows.filter { $0.when == nil }.count == 1, "\(current) \(reported)")
                // The unguarded row comes last: guarded rows before it can still speak.
                #expect(rows.last?.when == nil, "\(current) \(reported)")
            }
        }
    }

    @Test func guardedRowsRefuseWithTheirCodeAndName() throws {
        var payment = try paymentIn(.authorized)
        try payment.beginVoid(transactionID: "txn_v", at: at(40))
        #expect(throws: CheckoutError.self) { try payment.beginCapture(transactionID: "txn_c", amount: usd(1), at: at(41)) }
        do {
            try payment.beginCapture(transactionID: "txn_c", amount: usd(1), at: at(41))
        } catch {
            #expect(error.code == .operationInFlight)
            #expect(error.message == "cannot capture this payment while a void is pending or unknown")
        }

        var disputed = try paymentIn(.captured)
        try disputed.openDispute(id: "dp_i", stage: .inquiry, amount: usd(100), at: at(40))
        do {
            try disputed.recordChargeback(disputeID: "dp_i", transactionID: "txn_cb", amount: usd(100), at: at(41))
            Issue.record("a chargeback at the inquiry stage must be refused")
        } catch {
            #expect(error.code == .notAllowed)
            #expect(error.message.contains("inquiry stage"))
        }
        #expect(try disputed.escalateDispute(id: "dp_i", to: .inquiry, at: at(42)) == .unchanged)
        #expect(try disputed.escalateDispute(id: "dp_i", to: .chargeback, at: at(42)) == .applied)
        #expect(try disputed.submitDisputeEvidence(id: "dp_i", stage: .inquiry, at: at(43)) == .unchanged)
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

    static func outcome(_ reported: ReportedOutcome) -> TransactionOutcome {
        switch reported {
        case .succeeded: .succeeded(gatewayReference: "ch_1")
        case .failed: .failed(decline)
        case .unknown: .unknown
        case .requiresAction: .requiresAction
        }
    }

    /// Every (status, reported) pair on the authorization, decided by the row the table picks.
    @Test(arguments: TransactionStatus.allCases)
    func resolutionRows(_ current: TransactionStatus) throws {
        for reported in ReportedOutcome.allCases {
            var payment = try Self.authorization(in: current)
            let before = payment
            let rule = try #require(CheckoutTable.resolution.rule(for: reported, in: current, subject: payment.authorization))
            do {
                let change = try payment.resolve(transaction: "txn_auth", outcome: Self.outcome(reported), at: at(60))
                #expect(rule.verdict != .refused, "\(rule.name)")
                #expect(change == (rule.verdict == .allowed ? .applied : .unchanged), "\(rule.name)")
                if change == .unchanged { #expect(payment == before) }
                if change == .applied { #expect(rule.to.contains(payment.authorization.status), "\(rule.name)") }
            } catch {
                #expect(rule.verdict == .refused, "\(rule.name): \(error)")
                #expect(error.code == .conflictingOutcome)
                #expect(payment == before)
            }
            #expect(payment.checkInvariants(after: before) == [])
        }
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

    @Test(arguments: disputeOperations)
    func disputeRows(_ operation: CheckoutOperation) throws {
        #expect(CheckoutTable.dispute.rules(for: operation).contains { $0.verdict == .allowed })
        for status in DisputeStatus.allCases {
            var payment = try Self.dispute(in: status)
            let dispute = try #require(payment.dispute(id: "dp_1"))
            #expect(dispute.status == status)
            let before = payment
            let subject = DisputeSubject(dispute, stage: operation == .escalateDispute ? .preArbitration : nil)
            let rule = CheckoutTable.dispute.rule(for: operation, in: status, subject: subject)
            let verdict = rule?.verdict ?? .refused
            do {
                let change = try Self.perform(disputeOperation: operation, on: &payment)
                #expect(verdict != .refused, "\(operation) on a \(status) dispute should be refused")
                #expect(change == (verdict == .allowed ? .applied : .unchanged), "\(operation) on \(status)")
                if change == .unchanged { #expect(payment == before) }
                if change == .applied, let rule, let after = payment.dispute(id: "dp_1")?.status {
                    #expect(rule.to.contains(after), "\(rule.name) from \(status) led to \(after)")
                }
            } catch {
                #expect(verdict == .refused, "\(operation) on \(status): \(error)")
                #expect(error.code == .notAllowed)
                if rule == nil { #expect(error.message.contains("that is \(status.rawValue)")) }
                #expect(payment == before)
            }
            #expect(payment.checkInvariants(after: before) == [])
        }
    }
}

@Suite("Charged-back amounts")
struct ChargedBackAmountTests {
    /// The engine once summed a dispute's chargebacks with `+` and `-` of its own, which
    /// traps on a payment a corrupt or hostile record puts near the limits; the one
    /// definition saturates.
    @Test func perDisputeAmountSaturatesInsteadOfTrapping() throws {
        var payment = try paymentIn(.captured)
        try payment.openDispute(id: "dp_1", stage: .chargeback, amount: usd(500), at: at(10))
        try payment.recordChargeback(disputeID: "dp_1", transactionID: "txn_cb1", amount: usd(300), gatewayReference: "cb_1", at: at(11))
        try payment.recordChargebackReversal(
            disputeID: "dp_1", transactionID: "txn_rv1", amount: usd(100), gatewayReference: "rv_1", at: at(12))
        #expect(payment.chargedBackMinorUnits(disputeID: "dp_1") == 200)
        #expect(payment.chargedBackMinorUnits(disputeID: "dp_other") == 0)

        // Two stored chargebacks whose sum overflows Int64, as a decoded record could hold.
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(payment)) as? [String: Any] ?? [:]
        var transactions = json["transactions"] as? [[String: Any]] ?? []
        for index in transactions.indices where transactions[index]["kind"] as? String == "chargeback" {
            transactions[index]["amount"] = Int64.max
            var copy = transactions[index]
            copy["id"] = "txn_cb2"
            copy["sequence"] = transactions.count + 1
            transactions.append(copy)
            break
        }
        json["transactions"] = transactions
        let huge = try JSONDecoder().decode(Payment.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(huge.chargedBackMinorUnits(disputeID: "dp_1") == Int64.max - 100)
    }
}
