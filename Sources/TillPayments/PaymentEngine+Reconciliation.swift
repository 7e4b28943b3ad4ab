import Foundation
import Logging
import TillCore
import TillGateway
import TillStore

extension PaymentEngine {
    /// What one reconciliation round did.
    public struct ReconciliationSummary: Sendable, Hashable {
        /// Payments with an in-flight transaction that were looked at.
        public var examined = 0
        /// Transactions whose outcome the gateway settled.
        public var resolved = 0
        /// Transactions left for a later round (still pending, or the lookup failed).
        public var deferred = 0
    }

    /// A `pending` transaction younger than this may still have its call under way in this
    /// process (a payment is written before its lock is taken), so reconciliation leaves it
    /// alone; `unknown` ones are looked up at once.
    static let pendingGrace: TimeInterval = 60

    /// A gateway's "no record of this request" proves it was never processed only once the
    /// request can no longer arrive or still be running there: a request sent by a process
    /// that then died, or one whose answer was lost, may be mid-flight for as long as a
    /// gateway call may take (the HTTP client's 30-second timeout).
    static let notFoundGrace: TimeInterval = 30

    /// Resolves the `pending` and `unknown` transactions of every in-flight payment through
    /// the gateways' status lookups. A lookup that fails leaves its transaction for the next
    /// round; nothing here throws, so one bad payment cannot stop the others.
    public func reconcileInFlight(limit: Int = 200) async -> ReconciliationSummary {
        var summary = ReconciliationSummary()
        let records: [PaymentRecord]
        do {
            records = try await store.inFlightPayments(limit: limit)
        } catch {
            logger.error("reconciliation could not read in-flight payments", metadata: ["error": "\(error)"])
            return summary
        }
        for record in records {
            summary.examined += 1
            do {
                let round = try await locks.withLock(record.id) {
                    // Re-read under the lock: the payment may have moved since the list was read.
                    guard let fresh = try await self.store.payment(id: record.id) else { return ReconciliationSummary() }
                    var loaded = try Self.decode(fresh)
                    return try await self.reconcileLocked(&loaded)
                }
                summary.resolved += round.resolved
                summary.deferred += round.deferred
            } catch {
                logger.warning(
                    "reconciliation of a payment failed; it stays for the next round",
                    metadata: ["payment": "\(record.id)", "error": "\(error)"])
            }
        }
        return summary
    }

    /// Asks the gateway about each in-flight transaction of the payment (the caller holds
    /// its lock) and records what it says, saving after each one.
    func reconcileLocked(_ loaded: inout Loaded) async throws -> ReconciliationSummary {
        var summary = ReconciliationSummary()
        let gateway = try gateway(for: loaded)
        let date = now()
        let candidates = loaded.payment.transactions.filter { transaction in
            guard transaction.status.isInFlight else { return false }
            guard transaction.status == .pending else { return true }
            // An orphan of an earlier process is looked up at once; one of ours only after
            // the grace, since the request that wrote it may still be on its way.
            return transaction.updatedAt < startedAt || date.timeIntervalSince(transaction.updatedAt) >= Self.pendingGrace
        }
        for transaction in candidates {
            // An earlier step (an automatic capture) may have settled it already.
            guard let current = loaded.payment.transaction(id: transaction.id), current.status.isInFlight else { continue }
            let lookup = StatusLookup(
                reference: reference(loaded.payment, current), kind: current.kind, amount: current.amount,
                gatewayPaymentReference: loaded.record.gatewayPaymentReference,
                gatewayAuthorizationReference: loaded.record.gatewayAuthorizationReference)
            switch await gateway.status(lookup) {
            case .succeeded(let report):
                if try await applyStatus(report, to: current, in: &loaded) {
                    summary.resolved += 1
                } else {
                    summary.deferred += 1
                }
            case .declined(let decline):
                summary.deferred += 1
                logger.warning(
                    "status lookup refused", metadata: ["payment": "\(loaded.payment.id)", "transaction": "\(current.id)", "reason": "\(decline)"])
            case .notProcessed(let failure), .unknown(let failure):
                summary.deferred += 1
                logger.notice(
                    "status lookup failed; retrying next round",
                    metadata: ["payment": "\(loaded.payment.id)", "transaction": "\(current.id)", "reason": "\(failure)"])
            }
        }
        if Self.owesCapture(loaded) {
            // The authorization succeeded before a crash, but its capture was never written.
            try await captureLocked(&loaded, amount: nil, final: true)
            summary.resolved += 1
        }
        return summary
    }

    /// Records a status report for one transaction; `false` when it stays in flight.
    private func applyStatus(_ report: StatusReport, to transaction: Transaction, in loaded: inout Loaded) async throws -> Bool {
        switch report {
        case .pending:
            return false
        case .notFound:
            guard now().timeIntervalSince(transaction.updatedAt) >= Self.notFoundGrace else { return false }
            try resolve(
                &loaded, transaction.id,
                .failed(
                    TransactionFailure(
                        code: .processingError, gatewayCode: "not_found",
                        gatewayMessage: "the gateway has no record of this request: it was never processed")))
            try await save(&loaded, events: [])
        case .failed(let decline):
            if transaction.kind == .authorize, let reference = decline.gatewayReference, loaded.record.gatewayPaymentReference == nil {
                loaded.record.gatewayPaymentReference = reference
            }
            try resolve(&loaded, transaction.id, .failed(decline.transactionFailure))
            try await save(&loaded, events: [])
        case .succeeded(let reference, let payment):
            if transaction.kind == .authorize {
                try await settleAuthorization(&loaded, result: payment, reference: reference)
            } else {
                try resolve(&loaded, transaction.id, .succeeded(gatewayReference: reference))
                try await save(&loaded, childKeys: [reference], events: [])
            }
        }
        return true
    }

    /// Records that the in-flight authorization succeeded (learned by lookup or webhook),
    /// keeps the gateway's references, and runs the capture an automatic-capture payment
    /// still owes. The caller holds the payment's lock.
    func settleAuthorization(_ loaded: inout Loaded, result: AuthorizationResult?, reference: String?) async throws {
        let authorization = loaded.payment.authorization
        if let result {
            loaded.record.gatewayPaymentReference = result.gatewayPaymentReference
            loaded.record.gatewayAuthorizationReference =
                result.gatewayAuthorizationReference ?? loaded.record.gatewayAuthorizationReference
        } else if loaded.record.gatewayPaymentReference == nil {
            loaded.record.gatewayPaymentReference = reference
        }
        let gatewayReference =
            result.map { $0.gatewayAuthorizationReference ?? $0.gatewayPaymentReference } ?? reference
        try resolve(&loaded, authorization.id, .succeeded(gatewayReference: gatewayReference))
        if let result, case .captured(let captureReference) = result.state {
            // The gateway captured in the same step: record what it did.
            _ = try? loaded.payment.recordCapture(
                transactionID: Identifiers.make("txn"), amount: result.amount, gatewayReference: captureReference, final: true,
                at: now())
        }
        let keys = [loaded.record.gatewayPaymentReference, loaded.record.gatewayAuthorizationReference].compactMap { $0 }
        try await save(&loaded, childKeys: keys, events: [])
        if loaded.record.captureMode == CaptureMode.automatic.rawValue, loaded.payment.status == .authorized {
            try await captureLocked(&loaded, amount: nil, final: true)
        }
    }
}
