import Foundation
import TillCore
import TillGateway
import TillStore

extension PaymentEngine {
    // MARK: Disputes reported by the gateway

    /// Brings a dispute in line with what the gateway reports about it: opens it (under a
    /// new `dp_…` id that keeps the gateway's reference), moves its stage forward, records
    /// the funds withdrawn once it is a chargeback, and applies its review or outcome. Every
    /// step is idempotent, so a redelivered or reordered event changes nothing twice.
    ///
    /// - Returns: the dispute events to emit (`dispute.created`, `.updated`, `.closed`).
    func applyDispute(_ info: DisputeInfo, to loaded: inout Loaded) throws(CheckoutError) -> [String] {
        let date = now()
        let before = loaded.payment.disputes.first { $0.gatewayReference == info.disputeReference }
        let id = before?.id ?? Identifiers.make("dp")
        if before == nil {
            try loaded.payment.openDispute(
                id: id, stage: info.stage, amount: info.amount, reason: info.reason, gatewayReference: info.disputeReference,
                at: date)
        }
        guard let opened = loaded.payment.dispute(id: id) else { return [] }
        if info.stage > opened.stage, opened.status.isOpen {
            try loaded.payment.escalateDispute(id: id, to: info.stage, at: date)
        }
        if let current = loaded.payment.dispute(id: id), current.stage >= .chargeback, current.status.isOpen,
            loaded.payment.chargedBackMinorUnits(disputeID: id) == 0
        {
            // Past the inquiry stage the card network has taken the money back; the dispute's
            // gateway reference names that withdrawal, so a second report is a duplicate.
            try loaded.payment.recordChargeback(
                disputeID: id, transactionID: Identifiers.make("txn"), amount: current.amount,
                gatewayReference: info.disputeReference, at: date)
        }
        switch info.status {
        case .needsResponse:
            break
        case .underReview:
            try loaded.payment.submitDisputeEvidence(id: id, stage: info.stage, at: date)
        case .won:
            try loaded.payment.closeDispute(id: id, outcome: .won, transactionID: Identifiers.make("txn"), at: date)
        case .lost:
            try loaded.payment.closeDispute(id: id, outcome: .lost, transactionID: Identifiers.make("txn"), at: date)
        case .accepted:
            try loaded.payment.acceptDispute(id: id, transactionID: Identifiers.make("txn"), at: date)
        }
        guard let after = loaded.payment.dispute(id: id) else { return [] }
        return Self.disputeEventTypes(before: before, after: after)
    }

    /// `dispute.created` for a new dispute, `dispute.closed` when it reached its outcome,
    /// `dispute.updated` for any other change of stage or status.
    static func disputeEventTypes(before: Dispute?, after: Dispute) -> [String] {
        var types: [String] = []
        if before == nil { types.append("dispute.created") }
        if !after.status.isOpen, before?.status.isOpen ?? true {
            types.append("dispute.closed")
        } else if let before, before.stage != after.stage || before.status != after.status {
            types.append("dispute.updated")
        }
        return types
    }

    /// An event about a dispute, as the API and merchant webhooks show it.
    func disputeEvent(_ type: String, disputeID: String, _ loaded: Loaded, at date: Date) throws -> EventRecord? {
        guard let dispute = loaded.payment.dispute(id: disputeID) else { return nil }
        let id = Identifiers.make("evt")
        let body: JSONValue = .object([
            "id": .string(id), "object": .string("event"), "type": .string(type), "created_at": .date(date),
            "data": .object(["object": PaymentView.dispute(dispute, paymentID: loaded.payment.id, currency: loaded.record.currency)]),
        ])
        return EventRecord(
            id: id, merchantId: loaded.record.merchantId, type: type, paymentId: loaded.record.id, body: body.data,
            createdAt: date)
    }

    // MARK: Disputes through the API

    /// A merchant's dispute and the payment that owns it; other merchants' are not found.
    public func loadDispute(_ disputeID: String, merchantID: String) async throws(PaymentError) -> (Loaded, Dispute) {
        try await typed {
            guard disputeID.hasPrefix("dp_"), let record = try await store.payment(childKey: disputeID),
                record.merchantId == merchantID
            else {
                throw PaymentError.notFound(.dispute, id: disputeID)
            }
            let loaded = try Self.decode(record)
            guard let dispute = loaded.payment.dispute(id: disputeID) else { throw PaymentError.notFound(.dispute, id: disputeID) }
            return (loaded, dispute)
        }
    }

    /// The merchant's disputes, newest first; `paymentID` narrows them to one payment.
    public func disputes(merchantID: String, paymentID: String?) async throws(PaymentError) -> [(Loaded, Dispute)] {
        try await typed {
            var payments: [Loaded] = []
            if let paymentID {
                payments = [try await load(paymentID, merchantID: merchantID)]
            } else {
                let owners = Set(try await store.childKeys(prefix: "dp_", merchantID: merchantID).map(\.paymentId))
                for owner in owners.sorted() {
                    if let record = try await store.payment(id: owner, merchantID: merchantID) {
                        payments.append(try Self.decode(record))
                    }
                }
            }
            let all = payments.flatMap { loaded in loaded.payment.disputes.map { (loaded, $0) } }
            return all.sorted { ($0.1.openedAt, $0.1.id) > ($1.1.openedAt, $1.1.id) }
        }
    }

    /// Sends evidence to the gateway, then marks the dispute under review.
    public func submitEvidence(disputeID: String, merchantID: String, evidence: DisputeEvidence) async throws(PaymentError) -> (Loaded, Dispute) {
        try await typed {
            let (first, _) = try await loadDispute(disputeID, merchantID: merchantID)
            return try await locks.withLock(first.payment.id) {
                var (loaded, dispute) = try await self.loadDispute(disputeID, merchantID: merchantID)
                // Refuse before calling when the state machine would: nothing is sent twice.
                var trial = loaded.payment
                let change: Change
                do {
                    change = try trial.submitDisputeEvidence(id: dispute.id, at: self.now())
                } catch let error as CheckoutError {
                    throw PaymentError.refused(error)
                }
                guard change == .applied else {
                    throw PaymentError(
                        .disputeConflict(code: "evidence_already_submitted"),
                        "evidence for dispute \(dispute.id) was already submitted; it is \(dispute.status.apiName)")
                }
                let outcome = try await self.gateway(for: loaded).checkedSubmitDisputeEvidence(
                    DisputeEvidenceRequest(
                        disputeReference: try Self.disputeReference(dispute), evidence: evidence, submit: true,
                        idempotencyKey: "\(dispute.id)-evidence-\(dispute.stage.rawValue)"))
                try Self.throwIfRefused(outcome, dispute: dispute, loaded: loaded)
                let before = dispute
                do {
                    try loaded.payment.submitDisputeEvidence(id: dispute.id, at: self.now())
                } catch let error as CheckoutError {
                    throw PaymentError.refused(error)
                }
                dispute = loaded.payment.dispute(id: dispute.id) ?? dispute
                try await self.saveDispute(&loaded, before: before, after: dispute)
                return (loaded, dispute)
            }
        }
    }

    /// Accepts the dispute at the gateway: the disputed amount is charged back for good.
    public func acceptDispute(disputeID: String, merchantID: String) async throws(PaymentError) -> (Loaded, Dispute) {
        try await typed {
            let (first, _) = try await loadDispute(disputeID, merchantID: merchantID)
            return try await locks.withLock(first.payment.id) {
                var (loaded, dispute) = try await self.loadDispute(disputeID, merchantID: merchantID)
                var trial = loaded.payment
                let change: Change
                do {
                    change = try trial.acceptDispute(id: dispute.id, transactionID: Identifiers.make("txn"), at: self.now())
                } catch let error as CheckoutError {
                    throw PaymentError.refused(error)
                }
                guard change == .applied else {
                    throw PaymentError(
                        .disputeConflict(code: "dispute_closed"), "dispute \(dispute.id) is already \(dispute.status.apiName)")
                }
                let outcome = try await self.gateway(for: loaded).checkedAcceptDispute(
                    DisputeAcceptRequest(
                        disputeReference: try Self.disputeReference(dispute), idempotencyKey: "\(dispute.id)-accept"))
                try Self.throwIfRefused(outcome, dispute: dispute, loaded: loaded)
                let before = dispute
                do {
                    try loaded.payment.acceptDispute(id: dispute.id, transactionID: Identifiers.make("txn"), at: self.now())
                } catch let error as CheckoutError {
                    throw PaymentError.refused(error)
                }
                dispute = loaded.payment.dispute(id: dispute.id) ?? dispute
                try await self.saveDispute(&loaded, before: before, after: dispute)
                return (loaded, dispute)
            }
        }
    }

    private func saveDispute(_ loaded: inout Loaded, before: Dispute, after: Dispute) async throws {
        let date = now()
        let events = try Self.disputeEventTypes(before: before, after: after).compactMap {
            try disputeEvent($0, disputeID: after.id, loaded, at: date)
        }
        try await save(&loaded, events: events)
    }

    private static func disputeReference(_ dispute: Dispute) throws(PaymentError) -> String {
        guard let reference = dispute.gatewayReference else {
            throw PaymentError(
                .disputeConflict(code: "dispute_not_at_gateway"),
                "dispute \(dispute.id) has no gateway reference, so the gateway cannot be asked about it")
        }
        return reference
    }

    /// A dispute call the gateway refused or whose answer was lost: nothing was recorded.
    private static func throwIfRefused(
        _ outcome: GatewayOutcome<DisputeResult>, dispute: Dispute, loaded: Loaded
    ) throws(PaymentError) {
        if let error = PaymentError.refusal(
            outcome, gateway: loaded.record.gateway, payment: nil, unknownIsError: true, subject: "nothing changed")
        {
            throw error
        }
    }
}
