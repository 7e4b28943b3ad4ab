import Foundation
import Logging
import TillCore
import TillGateway
import TillStore

extension PaymentEngine {
    /// What became of a verified gateway event. Every case is acknowledged to the gateway:
    /// only a failure of Till itself (the database) makes it deliver again.
    public enum EventDisposition: String, Sendable, Hashable {
        /// It changed the payment.
        case applied
        /// It told Till nothing new (a late or duplicated report under another event id).
        case unchanged
        /// This event id was applied before.
        case duplicate
        /// No payment of this gateway matches it.
        case unknownPayment = "unknown_payment"
        /// A type Till does not act on.
        case ignored
        /// It contradicts Till's records; logged for a person to look at.
        case contradiction
    }

    /// Applies a verified gateway event through the state machine, under the payment's
    /// lock, deduplicated by event id in the same transaction as its effects.
    public func receive(_ event: GatewayEvent, gateway: String) async throws(PaymentError) -> EventDisposition {
        try await typed {
            if try await store.hasGatewayEvent(gateway: gateway, eventID: event.id) { return .duplicate }
            if case .ignored = event.kind {
                _ = try await store.recordGatewayEvent(gateway: gateway, eventID: event.id, at: now())
                return .ignored
            }
            guard let record = try await paymentRecord(for: event, gateway: gateway) else {
                logger.notice(
                    "gateway event for no known payment",
                    metadata: ["gateway": "\(gateway)", "event": "\(event.id)", "type": "\(event.type)"])
                return .unknownPayment
            }
            return try await locks.withLock(record.id) {
                guard let fresh = try await self.store.payment(id: record.id) else { return .unknownPayment }
                if try await self.store.hasGatewayEvent(gateway: gateway, eventID: event.id) { return .duplicate }
                var loaded = try Self.decode(fresh)
                let marker = (gateway: gateway, eventID: event.id)
                let outcome: Applied
                do {
                    outcome = try await self.apply(event, to: &loaded, marker: marker)
                } catch let conflict as StoreConflict {
                    guard case .duplicateGatewayEvent = conflict else { throw conflict }
                    return .duplicate
                } catch let error as CheckoutError {
                    try await self.contradiction(event, gateway: gateway, payment: record.id, reason: error.message)
                    return .contradiction
                } catch let error as PaymentError {
                    try await self.contradiction(event, gateway: gateway, payment: record.id, reason: error.message)
                    return .contradiction
                }
                switch outcome {
                case .savedWithEvent:
                    return .applied
                case .changed, .unchanged:
                    let first = try await self.store.recordGatewayEvent(gateway: gateway, eventID: event.id, at: self.now())
                    guard first else { return .duplicate }
                    return outcome == .changed ? .applied : .unchanged
                }
            }
        }
    }

    private enum Applied: Sendable, Hashable {
        /// Saved together with the gateway event id.
        case savedWithEvent
        /// Saved in several steps (gateway calls in between); the event id is still to record.
        case changed
        case unchanged
    }

    private func contradiction(_ event: GatewayEvent, gateway: String, payment: String, reason: String) async throws {
        logger.error(
            "gateway event contradicts the payment; not applied",
            metadata: [
                "gateway": "\(gateway)", "event": "\(event.id)", "type": "\(event.type)", "payment": "\(payment)",
                "reason": "\(reason)",
            ])
        _ = try await store.recordGatewayEvent(gateway: gateway, eventID: event.id, at: now())
    }

    /// The payment an event is about: by Till's transaction or payment id when the gateway
    /// echoes them, else by the gateway's references. Only this gateway's payments match.
    private func paymentRecord(for event: GatewayEvent, gateway: String) async throws -> PaymentRecord? {
        var candidates: [PaymentRecord?] = []
        if let transaction = event.payment.transactionID { candidates.append(try await store.payment(childKey: transaction)) }
        if let payment = event.payment.paymentID { candidates.append(try await store.payment(id: payment)) }
        if let reference = event.payment.gatewayPaymentReference {
            candidates.append(try await store.payment(childKey: reference))
        }
        switch event.kind {
        case .captureSucceeded(let reference, _), .refundSucceeded(let reference, _), .refundPending(let reference, _),
            .refundFailed(let reference, _):
            candidates.append(try await store.payment(childKey: reference))
        case .disputeOpened(let info), .disputeUpdated(let info), .disputeClosed(let info):
            candidates.append(try await store.payment(childKey: info.disputeReference))
        default:
            break
        }
        return candidates.compactMap { $0 }.first { $0.gateway == gateway }
    }

    private func apply(
        _ event: GatewayEvent, to loaded: inout Loaded, marker: (gateway: String, eventID: String)
    ) async throws -> Applied {
        let date = now()
        let before = loaded
        var childKeys: [String] = []
        var events: [EventRecord] = []
        switch event.kind {
        case .ignored:
            return .unchanged

        case .authorizationSucceeded:
            let authorization = loaded.payment.authorization
            guard authorization.status.isInFlight else { return .unchanged }
            // The event may lack references a later capture needs (PayPal's authorization
            // id): the status lookup has them all.
            let lookup = StatusLookup(
                reference: reference(loaded.payment, authorization), kind: .authorize, amount: authorization.amount,
                gatewayPaymentReference: loaded.record.gatewayPaymentReference ?? event.payment.gatewayPaymentReference,
                gatewayAuthorizationReference: loaded.record.gatewayAuthorizationReference)
            var result: AuthorizationResult?
            if case .succeeded(.succeeded(_, let payment)) = try await gateway(for: loaded).status(lookup) { result = payment }
            try await settleAuthorization(&loaded, result: result, reference: event.payment.gatewayPaymentReference)
            return .changed

        case .authorizationFailed(let decline):
            let authorization = loaded.payment.authorization
            guard authorization.status.isInFlight else { return .unchanged }
            if loaded.record.gatewayPaymentReference == nil {
                loaded.record.gatewayPaymentReference = decline.gatewayReference ?? event.payment.gatewayPaymentReference
            }
            try loaded.payment.resolve(transaction: authorization.id, outcome: .failed(decline.transactionFailure), at: date)

        case .authorizationVoided:
            if let void = loaded.payment.transactions.last(where: { $0.kind == .void && $0.status.isInFlight }) {
                try loaded.payment.resolve(transaction: void.id, outcome: .succeeded(gatewayReference: nil), at: date)
            } else if [.authorized, .partiallyCaptured, .partiallyRefunded].contains(loaded.payment.status) {
                // Released outside Till (the gateway's dashboard): record it as a void that succeeded.
                let void = try loaded.payment.beginVoid(transactionID: Identifiers.make("txn"), at: date)
                try loaded.payment.resolve(transaction: void.id, outcome: .succeeded(gatewayReference: nil), at: date)
            }

        case .authorizationExpired:
            try loaded.payment.expireAuthorization(at: date)

        case .captureSucceeded(let captureReference, let amount):
            try applyCapture(captureReference, amount: amount, locator: event.payment, to: &loaded, at: date)
            childKeys.append(captureReference)

        case .refundSucceeded(let refundReference, let amount):
            if let refund = tillRefund(refundReference, amount: amount, locator: event.payment, in: loaded.payment) {
                try loaded.payment.resolve(transaction: refund.id, outcome: .succeeded(gatewayReference: refundReference), at: date)
            } else {
                // A refund made outside Till (deduplicated by its reference).
                try loaded.payment.recordRefund(
                    transactionID: Identifiers.make("txn"), amount: amount, gatewayReference: refundReference, at: date)
            }
            childKeys.append(refundReference)

        case .refundPending:
            // Nothing settled yet; the final word comes by webhook or reconciliation.
            return .unchanged

        case .refundFailed(let refundReference, let amount):
            guard let refund = tillRefund(refundReference, amount: amount, locator: event.payment, in: loaded.payment) else {
                return .unchanged
            }
            try loaded.payment.resolve(
                transaction: refund.id,
                outcome: .failed(
                    TransactionFailure(
                        code: .processingError, gatewayCode: "refund_failed",
                        gatewayMessage: "the gateway reports that refund \(refundReference) failed")),
                at: date)

        case .disputeOpened(let info), .disputeUpdated(let info), .disputeClosed(let info):
            let types = try applyDispute(info, to: &loaded)
            if let dispute = loaded.payment.disputes.first(where: { $0.gatewayReference == info.disputeReference }) {
                childKeys += [dispute.id, info.disputeReference]
                events = try types.compactMap { try disputeEvent($0, disputeID: dispute.id, loaded, at: date) }
            }
        }
        guard loaded.payment != before.payment || loaded.record.gatewayPaymentReference != before.record.gatewayPaymentReference
        else { return .unchanged }
        try await save(&loaded, childKeys: childKeys, events: events, gatewayEvent: marker)
        return .savedWithEvent
    }

    /// A capture the gateway reports: Till's own (named, or the one in flight for that
    /// amount), one already recorded, or one made outside Till.
    private func applyCapture(
        _ captureReference: String, amount: Money, locator: PaymentLocator, to loaded: inout Loaded, at date: Date
    ) throws {
        let payment = loaded.payment
        if let id = locator.transactionID, let named = payment.transaction(id: id), named.kind == .capture {
            try loaded.payment.resolve(transaction: named.id, outcome: .succeeded(gatewayReference: captureReference), at: date)
            return
        }
        if payment.transactions.contains(where: { $0.kind == .capture && $0.gatewayReference == captureReference }) { return }
        let inFlight = payment.transactions.filter { $0.kind == .capture && $0.status.isInFlight && $0.amount == amount }
        if inFlight.count == 1, let capture = inFlight.first {
            try loaded.payment.resolve(transaction: capture.id, outcome: .succeeded(gatewayReference: captureReference), at: date)
            return
        }
        if payment.authorization.status.isInFlight {
            // A capture proves the authorization; its own report may still be on its way.
            try loaded.payment.resolve(
                transaction: payment.authorization.id,
                outcome: .succeeded(gatewayReference: loaded.record.gatewayAuthorizationReference ?? locator.gatewayPaymentReference),
                at: date)
            if loaded.record.gatewayPaymentReference == nil { loaded.record.gatewayPaymentReference = locator.gatewayPaymentReference }
        }
        try loaded.payment.recordCapture(
            transactionID: Identifiers.make("txn"), amount: amount, gatewayReference: captureReference, at: date)
    }

    /// Till's refund that a gateway refund event is about, if Till started it.
    private func tillRefund(_ refundReference: String, amount: Money, locator: PaymentLocator, in payment: Payment) -> Transaction? {
        if let id = locator.transactionID, let named = payment.transaction(id: id), named.kind == .refund { return named }
        if let known = payment.transactions.first(where: { $0.kind == .refund && $0.gatewayReference == refundReference }) {
            return known
        }
        let inFlight = payment.transactions.filter {
            $0.kind == .refund && $0.origin == .till && $0.status.isInFlight && $0.amount == amount
        }
        return inFlight.count == 1 ? inFlight.first : nil
    }
}
