import Foundation

// Every operation runs on a copy and is committed only when it completes, so a refusal can
// never leave a half-applied payment behind.
extension Payment {
    private mutating func atomically<T>(
        _ body: (inout Payment) throws(CheckoutError) -> T
    ) throws(CheckoutError) -> T {
        var copy = self
        let result = try body(&copy)
        self = copy
        return result
    }

    private func refusal(_ code: CheckoutError.Code, _ operation: CheckoutOperation, _ message: String) -> CheckoutError {
        CheckoutError(code, operation, status, message)
    }

    /// Applies the payment table's row for `operation`: `true` to go on, `false` when the
    /// event is ignored. An operation no row speaks for is refused.
    private func admit(_ operation: CheckoutOperation) throws(CheckoutError) -> Bool {
        let rule = CheckoutTable.payment.rule(for: operation, in: status, subject: self)
        switch rule?.verdict ?? .refused {
        case .allowed: return true
        case .ignored: return false
        case .refused:
            if let rule, let guarded = rule.when, let code = rule.refusal {
                throw refusal(CheckoutError.Code(rawValue: code), operation, "cannot \(operation.phrase) this payment while \(guarded.name)")
            }
            throw refusal(.notAllowed, operation, "cannot \(operation.phrase) a payment that is \(status.apiName)")
        }
    }

    private func admit(
        _ operation: CheckoutOperation, dispute: Dispute, stage: DisputeStage? = nil
    ) throws(CheckoutError) -> Bool {
        let rule = CheckoutTable.dispute.rule(for: operation, in: dispute.status, subject: DisputeSubject(dispute, stage: stage))
        switch rule?.verdict ?? .refused {
        case .allowed: return true
        case .ignored: return false
        case .refused:
            if let rule, let guarded = rule.when {
                throw refusal(
                    rule.refusal.map(CheckoutError.Code.init(rawValue:)) ?? .notAllowed, operation,
                    "cannot \(operation.phrase) dispute \(dispute.id): \(guarded.name)")
            }
            throw refusal(
                .notAllowed, operation,
                "cannot \(operation.phrase) dispute \(dispute.id) that is \(dispute.status.rawValue)")
        }
    }

    private func validate(_ amount: Money, _ operation: CheckoutOperation) throws(CheckoutError) {
        guard amount.currency == currency else {
            throw refusal(
                .currencyMismatch, operation,
                "cannot \(operation.phrase) \(amount.currency.code) on a \(currency.code) payment")
        }
        guard amount.minorUnits > 0 else {
            throw refusal(.invalidAmount, operation, "cannot \(operation.phrase) \(amount.minorUnits): the amount must be positive")
        }
    }

    private func requireNewTransactionID(_ id: String, _ operation: CheckoutOperation) throws(CheckoutError) {
        guard transaction(id: id) == nil else {
            throw refusal(.duplicateIdentifier, operation, "transaction id \(id) is already used in payment \(self.id)")
        }
    }

    private func requireDispute(_ id: String, _ operation: CheckoutOperation) throws(CheckoutError) -> Int {
        guard let index = disputes.firstIndex(where: { $0.id == id }) else {
            throw refusal(.unknownDispute, operation, "payment \(self.id) has no dispute \(id)")
        }
        return index
    }

    private var nextSequence: Int { (transactions.last?.sequence ?? 0) + 1 }

    /// Gateway events carry the gateway's reference: the same reference for the same kind is
    /// a duplicate if the amount matches, and a contradiction if it does not.
    private func isDuplicate(
        _ kind: TransactionKind, reference: String?, amount: Money, _ operation: CheckoutOperation
    ) throws(CheckoutError) -> Bool {
        guard let reference,
            let existing = transactions.first(where: { $0.kind == kind && $0.gatewayReference == reference })
        else { return false }
        guard existing.amount == amount else {
            throw refusal(
                .conflictingOutcome, operation,
                "gateway reference \(reference) was recorded as \(existing.amount.minorUnits), now reported as \(amount.minorUnits)")
        }
        return true
    }

    private mutating func append(
        _ id: String, _ kind: TransactionKind, _ amount: Money, _ status: TransactionStatus,
        final: Bool = false, origin: TransactionOrigin = .till, disputeID: String? = nil,
        reference: String? = nil, at date: Date
    ) -> Transaction {
        let transaction = Transaction(
            id: id, kind: kind, sequence: nextSequence, amount: amount, status: status, isFinalCapture: final,
            origin: origin, disputeID: disputeID, gatewayReference: reference, at: date)
        transactions.append(transaction)
        return transaction
    }

    // MARK: Captures

    private func checkCapture(_ amount: Money?, _ operation: CheckoutOperation) throws(CheckoutError) -> Money {
        let amount = amount ?? capturable
        try validate(amount, operation)
        guard amount.minorUnits <= capturable.minorUnits else {
            throw refusal(
                .amountExceedsLimit, operation,
                "capture of \(amount.minorUnits) exceeds capturable \(capturable.minorUnits)")
        }
        return amount
    }

    /// Writes a pending capture, to be sent to the gateway.
    ///
    /// - Parameters:
    ///   - amount: defaults to everything capturable.
    ///   - final: no capture follows; the rest of the authorization is released when this
    ///     one succeeds.
    @discardableResult
    public mutating func beginCapture(
        transactionID: String, amount: Money? = nil, final: Bool = false, at date: Date
    ) throws(CheckoutError) -> Transaction {
        try atomically { (p) throws(CheckoutError) in
            _ = try p.admit(.capture)
            try p.requireNewTransactionID(transactionID, .capture)
            let amount = try p.checkCapture(amount, .capture)
            return p.append(transactionID, .capture, amount, .pending, final: final, at: date)
        }
    }

    /// Records a capture the gateway reports that Till did not start (deduplicated by
    /// gateway reference).
    @discardableResult
    public mutating func recordCapture(
        transactionID: String, amount: Money, gatewayReference: String, final: Bool = false, at date: Date
    ) throws(CheckoutError) -> Change {
        try atomically { (p) throws(CheckoutError) in
            if try p.isDuplicate(.capture, reference: gatewayReference, amount: amount, .recordCapture) { return .unchanged }
            _ = try p.admit(.recordCapture)
            try p.requireNewTransactionID(transactionID, .recordCapture)
            let amount = try p.checkCapture(amount, .recordCapture)
            _ = p.append(
                transactionID, .capture, amount, .succeeded, final: final, origin: .gateway,
                reference: gatewayReference, at: date)
            return .applied
        }
    }

    // MARK: Void

    /// Writes a pending void releasing the uncaptured rest of the authorization.
    @discardableResult
    public mutating func beginVoid(transactionID: String, at date: Date) throws(CheckoutError) -> Transaction {
        try atomically { (p) throws(CheckoutError) in
            _ = try p.admit(.void)
            try p.requireNewTransactionID(transactionID, .void)
            let rest = Int64.saturating(p.authorizedMinorUnits, minus: p.capturedMinorUnits)
            guard !p.isRemainderReleased, rest > 0 else {
                throw p.refusal(.amountExceedsLimit, .void, "nothing left to release on a payment that is \(p.status.apiName)")
            }
            return p.append(transactionID, .void, Money(minorUnits: rest, currency: p.currency), .pending, at: date)
        }
    }

    // MARK: Refunds

    private func checkRefund(_ amount: Money?, _ operation: CheckoutOperation) throws(CheckoutError) -> Money {
        let amount = amount ?? refundable
        try validate(amount, operation)
        guard amount.minorUnits <= refundable.minorUnits else {
            throw refusal(
                .amountExceedsLimit, operation,
                "refund of \(amount.minorUnits) exceeds refundable \(refundable.minorUnits)")
        }
        return amount
    }

    /// Writes a pending refund, to be sent to the gateway.
    ///
    /// - Parameter amount: defaults to everything refundable.
    @discardableResult
    public mutating func beginRefund(
        transactionID: String, amount: Money? = nil, at date: Date
    ) throws(CheckoutError) -> Transaction {
        try atomically { (p) throws(CheckoutError) in
            _ = try p.admit(.refund)
            try p.requireNewTransactionID(transactionID, .refund)
            let amount = try p.checkRefund(amount, .refund)
            return p.append(transactionID, .refund, amount, .pending, at: date)
        }
    }

    /// Records a refund the gateway reports that Till did not start (deduplicated by
    /// gateway reference).
    @discardableResult
    public mutating func recordRefund(
        transactionID: String, amount: Money, gatewayReference: String, at date: Date
    ) throws(CheckoutError) -> Change {
        try atomically { (p) throws(CheckoutError) in
            if try p.isDuplicate(.refund, reference: gatewayReference, amount: amount, .recordRefund) { return .unchanged }
            _ = try p.admit(.recordRefund)
            try p.requireNewTransactionID(transactionID, .recordRefund)
            let amount = try p.checkRefund(amount, .recordRefund)
            _ = p.append(transactionID, .refund, amount, .succeeded, origin: .gateway, reference: gatewayReference, at: date)
            return .applied
        }
    }

    // MARK: Outcomes

    /// Records what the gateway said about a transaction: the call's answer, a webhook, or
    /// reconciliation. Duplicated and late reports change nothing (see
    /// ``CheckoutTable/resolution``); contradictions throw.
    @discardableResult
    public mutating func resolve(
        transaction transactionID: String, outcome: TransactionOutcome, at date: Date
    ) throws(CheckoutError) -> Change {
        try atomically { (p) throws(CheckoutError) in
            guard let index = p.transactions.firstIndex(where: { $0.id == transactionID }) else {
                throw p.refusal(.unknownTransaction, .resolve, "payment \(p.id) has no transaction \(transactionID)")
            }
            let current = p.transactions[index]
            let rule = CheckoutTable.resolution.rule(for: outcome.reported, in: current.status, subject: current)
            switch rule?.verdict ?? .refused {
            case .ignored: return .unchanged
            case .refused:
                if let rule, let guarded = rule.when {
                    throw p.refusal(
                        .conflictingOutcome, .resolve,
                        "\(current.kind.rawValue) \(transactionID) reported \(outcome.reported.rawValue), but \(guarded.name)")
                }
                throw p.refusal(
                    .conflictingOutcome, .resolve,
                    "\(current.kind.rawValue) \(transactionID) already \(current.status.rawValue), now reported \(outcome.reported.rawValue)")
            case .allowed: break
            }
            var updated = current
            switch outcome {
            case .succeeded(let reference):
                if let reference,
                    let other = p.transactions.first(where: {
                        $0.id != transactionID && $0.kind == current.kind && $0.gatewayReference == reference
                    })
                {
                    throw p.refusal(
                        .conflictingOutcome, .resolve,
                        "gateway reference \(reference) already belongs to \(current.kind.rawValue) \(other.id)")
                }
                updated.status = .succeeded
                updated.requiresAction = false
                updated.gatewayReference = reference ?? current.gatewayReference
            case .failed(let failure):
                updated.status = .failed
                updated.requiresAction = false
                updated.failure = failure
            case .unknown:
                // The challenge's fate is lost with everything else; reconciliation settles it.
                updated.status = .unknown
                updated.requiresAction = false
            case .requiresAction:
                updated.status = .pending
                updated.requiresAction = true
            }
            updated.updatedAt = date
            p.transactions[index] = updated
            return .applied
        }
    }

    // MARK: Expiry

    /// The gateway reports the authorization expired: whatever was not captured is
    /// released. Captures already in flight may still succeed.
    @discardableResult
    public mutating func expireAuthorization(at date: Date) throws(CheckoutError) -> Change {
        try atomically { (p) throws(CheckoutError) in
            guard try p.admit(.expire) else { return .unchanged }
            p.expiredAt = date
            return .applied
        }
    }

    // MARK: Disputes

    /// A dispute opened at the gateway. The disputed amount is reserved at once; money
    /// moves with ``recordChargeback(disputeID:transactionID:amount:gatewayReference:at:)``
    /// or when the dispute is lost or accepted. Opening the same dispute id again is a
    /// duplicate.
    @discardableResult
    public mutating func openDispute(
        id disputeID: String, stage: DisputeStage = .chargeback, amount: Money, reason: String? = nil,
        gatewayReference: String? = nil, at date: Date
    ) throws(CheckoutError) -> Change {
        try atomically { (p) throws(CheckoutError) in
            if p.dispute(id: disputeID) != nil { return .unchanged }
            _ = try p.admit(.openDispute)
            try p.validate(amount, .openDispute)
            guard amount.minorUnits <= p.refundable.minorUnits else {
                throw p.refusal(
                    .amountExceedsLimit, .openDispute,
                    "dispute of \(amount.minorUnits) exceeds disputable \(p.refundable.minorUnits)")
            }
            p.disputes.append(
                Dispute(id: disputeID, stage: stage, amount: amount, reason: reason, gatewayReference: gatewayReference, at: date))
            return .applied
        }
    }

    /// Moves a dispute to a later stage; it needs a response again. The same or an earlier
    /// stage is a late event.
    @discardableResult
    public mutating func escalateDispute(id disputeID: String, to stage: DisputeStage, at date: Date) throws(CheckoutError) -> Change {
        try atomically { (p) throws(CheckoutError) in
            let index = try p.requireDispute(disputeID, .escalateDispute)
            guard try p.admit(.escalateDispute, dispute: p.disputes[index], stage: stage) else { return .unchanged }
            p.disputes[index].stage = stage
            p.disputes[index].status = .needsResponse
            p.disputes[index].evidenceSubmittedAt = nil
            return .applied
        }
    }

    /// Evidence was submitted; the dispute is under review.
    ///
    /// - Parameter stage: the stage the evidence answers, when the event says; evidence for
    ///   an earlier stage than the dispute's is a late event.
    @discardableResult
    public mutating func submitDisputeEvidence(
        id disputeID: String, stage: DisputeStage? = nil, at date: Date
    ) throws(CheckoutError) -> Change {
        try atomically { (p) throws(CheckoutError) in
            let index = try p.requireDispute(disputeID, .submitEvidence)
            guard try p.admit(.submitEvidence, dispute: p.disputes[index], stage: stage) else { return .unchanged }
            p.disputes[index].status = .underReview
            p.disputes[index].evidenceSubmittedAt = date
            return .applied
        }
    }

    /// The merchant gives up the dispute: the whole disputed amount is charged back,
    /// recorded as `transactionID` for whatever was not withdrawn yet.
    @discardableResult
    public mutating func acceptDispute(id disputeID: String, transactionID: String, at date: Date) throws(CheckoutError) -> Change {
        try close(disputeID, as: .accepted, operation: .acceptDispute, transactionID: transactionID, at: date)
    }

    /// The dispute's outcome. Won reverses every charged-back amount exactly; lost charges
    /// the whole disputed amount back. `transactionID` names the reversal or chargeback that
    /// settles the difference, if there is one.
    @discardableResult
    public mutating func closeDispute(
        id disputeID: String, outcome: DisputeOutcome, transactionID: String, at date: Date
    ) throws(CheckoutError) -> Change {
        try close(
            disputeID, as: outcome.status, operation: outcome == .won ? .winDispute : .loseDispute,
            transactionID: transactionID, at: date)
    }

    private mutating func close(
        _ disputeID: String, as final: DisputeStatus, operation: CheckoutOperation, transactionID: String, at date: Date
    ) throws(CheckoutError) -> Change {
        try atomically { (p) throws(CheckoutError) in
            let index = try p.requireDispute(disputeID, operation)
            let dispute = p.disputes[index]
            guard try p.admit(operation, dispute: dispute) else { return .unchanged }
            let net = p.chargedBackMinorUnits(disputeID: disputeID)
            let settle = final == .won ? net : Int64.saturating(dispute.amount.minorUnits, minus: net)
            if settle > 0 {
                try p.requireNewTransactionID(transactionID, operation)
                _ = p.append(
                    transactionID, final == .won ? .chargebackReversal : .chargeback,
                    Money(minorUnits: settle, currency: p.currency), .succeeded, origin: .gateway,
                    disputeID: disputeID, at: date)
            }
            p.disputes[index].status = final
            p.disputes[index].closedAt = date
            return .applied
        }
    }

    /// The gateway withdrew funds for a dispute (deduplicated by gateway reference).
    @discardableResult
    public mutating func recordChargeback(
        disputeID: String, transactionID: String, amount: Money, gatewayReference: String? = nil, at date: Date
    ) throws(CheckoutError) -> Change {
        try atomically { (p) throws(CheckoutError) in
            let index = try p.requireDispute(disputeID, .recordChargeback)
            if try p.isDuplicate(.chargeback, reference: gatewayReference, amount: amount, .recordChargeback) { return .unchanged }
            guard try p.admit(.recordChargeback, dispute: p.disputes[index]) else { return .unchanged }
            try p.validate(amount, .recordChargeback)
            try p.requireNewTransactionID(transactionID, .recordChargeback)
            let dispute = p.disputes[index]
            let room = Int64.saturating(dispute.amount.minorUnits, minus: p.chargedBackMinorUnits(disputeID: disputeID))
            guard amount.minorUnits <= room else {
                throw p.refusal(
                    .amountExceedsLimit, .recordChargeback,
                    "chargeback of \(amount.minorUnits) exceeds what remains disputed, \(room)")
            }
            _ = p.append(
                transactionID, .chargeback, amount, .succeeded, origin: .gateway, disputeID: disputeID,
                reference: gatewayReference, at: date)
            return .applied
        }
    }

    /// The gateway reinstated funds for a dispute still open (deduplicated by gateway
    /// reference). A won dispute is reversed by ``closeDispute(id:outcome:transactionID:at:)``.
    @discardableResult
    public mutating func recordChargebackReversal(
        disputeID: String, transactionID: String, amount: Money, gatewayReference: String? = nil, at date: Date
    ) throws(CheckoutError) -> Change {
        try atomically { (p) throws(CheckoutError) in
            let index = try p.requireDispute(disputeID, .recordChargebackReversal)
            if try p.isDuplicate(.chargebackReversal, reference: gatewayReference, amount: amount, .recordChargebackReversal) {
                return .unchanged
            }
            guard try p.admit(.recordChargebackReversal, dispute: p.disputes[index]) else { return .unchanged }
            try p.validate(amount, .recordChargebackReversal)
            try p.requireNewTransactionID(transactionID, .recordChargebackReversal)
            let net = p.chargedBackMinorUnits(disputeID: disputeID)
            guard amount.minorUnits <= net else {
                throw p.refusal(
                    .amountExceedsLimit, .recordChargebackReversal,
                    "reversal of \(amount.minorUnits) exceeds the \(net) charged back on dispute \(disputeID)")
            }
            _ = p.append(
                transactionID, .chargebackReversal, amount, .succeeded, origin: .gateway, disputeID: disputeID,
                reference: gatewayReference, at: date)
            return .applied
        }
    }
}

extension CheckoutOperation {
    /// The verb in "cannot … a payment that is …".
    var phrase: String {
        switch self {
        case .authorize: "authorize"
        case .capture: "capture"
        case .void: "void"
        case .refund: "refund"
        case .resolve: "resolve"
        case .expire: "expire"
        case .recordCapture: "record a capture on"
        case .recordRefund: "record a refund on"
        case .openDispute: "open a dispute on"
        case .escalateDispute: "escalate"
        case .submitEvidence: "submit evidence for"
        case .acceptDispute: "accept"
        case .winDispute: "win"
        case .loseDispute: "lose"
        case .recordChargeback: "record a chargeback on"
        case .recordChargebackReversal: "record a chargeback reversal on"
        }
    }
}
