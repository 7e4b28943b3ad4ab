import Foundation
import PropertyBased
import Testing
import TillCore

/// A tiny deterministic generator: each step of a walk draws all its choices from one
/// generated word, so a failing walk is reproduced by its input alone.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

typealias Event = (inout Payment) throws(CheckoutError) -> Change

/// What the table predicts for one step, checked against what happened.
enum Expectation {
    /// The payment table's verdict; `dedupedFirst` when duplicates are recognised before
    /// the table is consulted.
    case payment(CheckoutOperation, Verdict, refusal: String?, dedupedFirst: Bool)
    case dispute(Verdict)
    case resolution(Verdict)
    /// A replay of an event already applied: it must change nothing.
    case replay
    case none
}

/// Walks one payment through a long random sequence of operations and events.
struct Walk {
    var payment: Payment
    var rng: SplitMix
    var counter = 0
    var applied: [Event] = []
    var statuses: Set<PaymentStatus> = []
    var verdicts: Set<String> = []

    var currency: Currency { payment.currency }

    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }

    mutating func newID() -> String {
        counter += 1
        // Now and then reuse an id, which must be refused as a duplicate.
        if chance(2), let existing = payment.transactions.randomElement(using: &rng) { return existing.id }
        return "txn_\(counter)"
    }

    /// Mostly amounts within `limit`, sometimes over it, zero, negative or in another currency.
    mutating func amount(within limit: Int64) -> Money {
        let ceiling = max(payment.amount.minorUnits * 2, 2)
        let units: Int64
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<60 where limit > 0: units = Int64.random(in: 1...limit, using: &rng)
        case 0..<60, 60..<90: units = Int64.random(in: 1...ceiling, using: &rng)
        case 90..<95: units = Int64.random(in: -5...0, using: &rng)
        default: units = limit &+ 1
        }
        let wrongCurrency = chance(3)
        return Money(minorUnits: units, currency: wrongCurrency ? (currency == .eur ? .usd : .eur) : currency)
    }

    mutating func outcome() -> TransactionOutcome {
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<55:
            // A reference that may already belong to another transaction: a conflict.
            return .succeeded(gatewayReference: chance(5) ? "gw_\(Int.random(in: 0...3, using: &rng))" : "gw_\(counter)_\(rng.next())")
        case 55..<65: return .failed(TransactionFailure(code: .cardDeclined, gatewayCode: "do_not_honor"))
        case 65..<70: return .failed(TransactionFailure(code: .processingError))
        case 70..<90: return .unknown
        default: return .requiresAction
        }
    }

    mutating func disputeID() -> String { "dp_\(Int.random(in: 0...3, using: &rng))" }
    mutating func stage() -> DisputeStage { DisputeStage.allCases.randomElement(using: &rng) ?? .chargeback }

    func disputeVerdict(_ operation: CheckoutOperation, _ id: String, stage: DisputeStage? = nil) -> Expectation {
        guard let dispute = payment.dispute(id: id) else { return .none }
        return .dispute(CheckoutTable.dispute.verdict(for: operation, in: dispute.status, subject: DisputeSubject(dispute, stage: stage)))
    }

    func paymentVerdict(_ operation: CheckoutOperation, dedupedFirst: Bool = false) -> Expectation {
        let rule = CheckoutTable.payment.rule(for: operation, in: payment.status, subject: payment)
        return .payment(operation, rule?.verdict ?? .refused, refusal: rule?.refusal, dedupedFirst: dedupedFirst)
    }

    /// Chooses one step: the event to run, its name, what the table predicts, and whether
    /// it may be replayed later as a late or duplicated delivery.
    mutating func nextStep() -> (name: String, event: Event, expect: Expectation, replayable: Bool) {
        let at = epoch.addingTimeInterval(TimeInterval(counter))
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<16:
            let inFlight = payment.transactions.filter(\.status.isInFlight)
            let target = (chance(75) ? inFlight.randomElement(using: &rng) : nil)
                ?? payment.transactions.randomElement(using: &rng) ?? payment.authorization
            let outcome = outcome()
            let verdict = CheckoutTable.resolution.verdict(for: outcome.reported, in: target.status, subject: target)
            return ("resolve \(target.id) \(outcome)", { (p) throws(CheckoutError) in
                try p.resolve(transaction: target.id, outcome: outcome, at: at)
            }, .resolution(verdict), true)
        case 16..<28:
            let id = newID()
            let amount: Money? = chance(10) ? nil : amount(within: payment.capturable.minorUnits)
            let final = chance(25)
            return ("capture \(String(describing: amount?.minorUnits)) final \(final)", { (p) throws(CheckoutError) in
                try p.beginCapture(transactionID: id, amount: amount, final: final, at: at)
                return .applied
            }, paymentVerdict(.capture), false)
        case 28..<33:
            let id = newID()
            return ("void", { (p) throws(CheckoutError) in
                try p.beginVoid(transactionID: id, at: at)
                return .applied
            }, paymentVerdict(.void), false)
        case 33..<45:
            let id = newID()
            let amount: Money? = chance(10) ? nil : amount(within: payment.refundable.minorUnits)
            return ("refund \(String(describing: amount?.minorUnits))", { (p) throws(CheckoutError) in
                try p.beginRefund(transactionID: id, amount: amount, at: at)
                return .applied
            }, paymentVerdict(.refund), false)
        case 45..<48:
            return ("expire", { (p) throws(CheckoutError) in try p.expireAuthorization(at: at) }, paymentVerdict(.expire), true)
        case 48..<52:
            let id = newID()
            let amount = amount(within: payment.capturable.minorUnits)
            let reference = "cap_\(Int.random(in: 0...3, using: &rng))"
            return ("record capture \(amount.minorUnits) \(reference)", { (p) throws(CheckoutError) in
                try p.recordCapture(transactionID: id, amount: amount, gatewayReference: reference, at: at)
            }, paymentVerdict(.recordCapture, dedupedFirst: true), true)
        case 52..<57:
            let id = newID()
            let amount = amount(within: payment.refundable.minorUnits)
            let reference = "re_\(Int.random(in: 0...5, using: &rng))"
            return ("record refund \(amount.minorUnits) \(reference)", { (p) throws(CheckoutError) in
                try p.recordRefund(transactionID: id, amount: amount, gatewayReference: reference, at: at)
            }, paymentVerdict(.recordRefund, dedupedFirst: true), true)
        case 57..<62:
            let id = disputeID()
            let amount = amount(within: payment.refundable.minorUnits)
            let stage = chance(30) ? DisputeStage.inquiry : .chargeback
            return ("open \(id) \(stage) \(amount.minorUnits)", { (p) throws(CheckoutError) in
                try p.openDispute(id: id, stage: stage, amount: amount, at: at)
            }, payment.dispute(id: id) == nil ? paymentVerdict(.openDispute) : .replay, true)
        case 62..<66:
            let id = disputeID()
            let stage = stage()
            return ("escalate \(id) to \(stage)", { (p) throws(CheckoutError) in
                try p.escalateDispute(id: id, to: stage, at: at)
            }, disputeVerdict(.escalateDispute, id, stage: stage), true)
        case 66..<70:
            let id = disputeID()
            let stage = chance(70) ? payment.dispute(id: id)?.stage : nil
            return ("evidence \(id) \(String(describing: stage))", { (p) throws(CheckoutError) in
                try p.submitDisputeEvidence(id: id, stage: stage, at: at)
            }, disputeVerdict(.submitEvidence, id, stage: stage), stage != nil)
        case 70..<73:
            let id = disputeID()
            let transactionID = newID()
            return ("accept \(id)", { (p) throws(CheckoutError) in
                try p.acceptDispute(id: id, transactionID: transactionID, at: at)
            }, disputeVerdict(.acceptDispute, id), true)
        case 73..<78:
            let id = disputeID()
            let transactionID = newID()
            let outcome: DisputeOutcome = chance(50) ? .won : .lost
            return ("close \(id) \(outcome)", { (p) throws(CheckoutError) in
                try p.closeDispute(id: id, outcome: outcome, transactionID: transactionID, at: at)
            }, disputeVerdict(outcome == .won ? .winDispute : .loseDispute, id), true)
        case 78..<83:
            let id = disputeID()
            let transactionID = newID()
            let amount = amount(within: payment.dispute(id: id)?.amount.minorUnits ?? 1)
            let reference = "cb_\(Int.random(in: 0...5, using: &rng))"
            return ("chargeback \(id) \(amount.minorUnits) \(reference)", { (p) throws(CheckoutError) in
                try p.recordChargeback(disputeID: id, transactionID: transactionID, amount: amount, gatewayReference: reference, at: at)
            }, .none, true)
        case 83..<86:
            let id = disputeID()
            let transactionID = newID()
            let amount = amount(within: payment.dispute(id: id)?.amount.minorUnits ?? 1)
            let reference = "rv_\(Int.random(in: 0...3, using: &rng))"
            return ("reversal \(id) \(amount.minorUnits) \(reference)", { (p) throws(CheckoutError) in
                try p.recordChargebackReversal(
                    disputeID: id, transactionID: transactionID, amount: amount, gatewayReference: reference, at: at)
            }, .none, true)
        default:
            guard let event = applied.randomElement(using: &rng) else {
                return ("nothing to replay", { _ throws(CheckoutError) in .unchanged }, .none, false)
            }
            return ("replay", event, .replay, false)
        }
    }

    /// Runs one step and returns every way it broke the rules.
    mutating func step() -> [String] {
        let before = payment
        statuses.insert(before.status)
        let (name, event, expect, replayable) = nextStep()
        var problems: [String] = []
        let result: Result<Change, CheckoutError>
        do {
            result = .success(try event(&payment))
        } catch {
            result = .failure(error)
        }

        switch result {
        case .success(.applied):
            if payment == before { problems.append("\(name): applied but nothing changed") }
            if replayable { applied.append(event) }
        case .success(.unchanged):
            if payment != before { problems.append("\(name): reported unchanged but changed") }
        case .failure(let error):
            if payment != before { problems.append("\(name): refused (\(error)) but changed the payment") }
            if error.paymentStatus != before.status {
                problems.append("\(name): error names \(error.paymentStatus), payment was \(before.status)")
            }
        }

        switch expect {
        case .payment(let operation, let verdict, let refusal, let dedupedFirst):
            verdicts.insert("\(operation) \(verdict)")
            switch (verdict, result) {
            case (.refused, .failure(let error)) where error.code.rawValue == (refusal ?? CheckoutError.Code.notAllowed.rawValue): break
            case (.refused, .failure(let error)) where dedupedFirst && error.code == .conflictingOutcome: break
            case (.refused, .success(.unchanged)) where dedupedFirst: break
            case (.refused, _): problems.append("\(name) in \(before.status): table refuses, got \(result)")
            case (.ignored, .success(.unchanged)): break
            case (.ignored, _): problems.append("\(name) in \(before.status): table ignores, got \(result)")
            case (.allowed, .failure(let error)) where error.code == .notAllowed:
                problems.append("\(name) in \(before.status): table allows, got \(error)")
            case (.allowed, _): break
            }
        case .dispute(let verdict):
            switch (verdict, result) {
            case (.refused, .success(.applied)), (.ignored, .success(.applied)), (.ignored, .failure):
                problems.append("\(name): dispute table says \(verdict), got \(result)")
            default: break
            }
        case .resolution(let verdict):
            switch (verdict, result) {
            case (.refused, .failure(let error)) where error.code == .conflictingOutcome: break
            case (.ignored, .success(.unchanged)): break
            case (.allowed, .success): break
            case (.allowed, .failure(let error)) where error.code == .conflictingOutcome: break
            default: problems.append("\(name): resolution table says \(verdict), got \(result)")
            }
        case .replay:
            if payment != before { problems.append("\(name): a replayed event moved the payment") }
        case .none:
            break
        }

        problems += payment.checkInvariants(after: before).map { "\(name): \($0)" }
        return problems
    }
}

@Suite("Checkout properties")
struct CheckoutPropertyTests {
    static let currencies: [Currency] = [.usd, .jpy, .kwd]

    // Each failure already names its step and broken rules; shrinking 500-step walks
    // takes minutes and adds little.
    @Test(.shrinking(false)) func longRandomWalksKeepEveryInvariant() async {
        var statuses: Set<PaymentStatus> = []
        var verdicts: Set<String> = []
        var steps = 0
        await propertyCheck(
            count: 150,
            input: Gen.uint64(in: 0 ... .max), Gen.uint64(in: 0 ... .max).array(of: 200...500)
        ) { seed, words in
            var rng = SplitMix(state: seed)
            let currency = Self.currencies.randomElement(using: &rng) ?? .usd
            let amount = Int64.random(in: 1...100_000, using: &rng)
            guard let payment = try? Payment(id: "pay_w", amount: Money(minorUnits: amount, currency: currency), authorizationID: "txn_0", at: epoch)
            else {
                Issue.record("a positive amount was refused")
                return
            }
            var walk = Walk(payment: payment, rng: rng)
            for (index, word) in words.enumerated() {
                walk.rng = SplitMix(state: word)
                let problems = walk.step()
                if !problems.isEmpty {
                    Issue.record("step \(index): \(problems.joined(separator: "; "))")
                    return
                }
                steps += 1
            }
            let final = walk.payment
            let keys = Set(final.transactions.map { final.idempotencyKey(for: $0) })
            #expect(keys.count == final.transactions.count, "idempotency keys repeat")
            do {
                let decoded = try JSONDecoder().decode(Payment.self, from: JSONEncoder().encode(final))
                #expect(decoded == final)
            } catch {
                Issue.record("JSON round trip failed: \(error)")
            }
            statuses.formUnion(walk.statuses)
            verdicts.formUnion(walk.verdicts)
        }
        // The walks must reach every state and both sides of every row, or they prove little.
        #expect(statuses == Set(PaymentStatus.allCases), "never visited \(Set(PaymentStatus.allCases).subtracting(statuses))")
        for operation in CheckoutTable.payment.operations where operation != .authorize {
            #expect(verdicts.contains("\(operation) allowed"), "\(operation) never allowed")
            #expect(verdicts.contains("\(operation) refused"), "\(operation) never refused")
        }
        #expect(steps > 0)
    }
}
