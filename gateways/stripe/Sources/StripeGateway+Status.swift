public import TillGateway
import Foundation
import TillCore
import TillHTTP

extension StripeGateway {
    /// Finds one of Till's transactions at Stripe by Till's own reference:
    ///
    /// - authorization: the PaymentIntent itself when Till learned its id, otherwise Stripe's
    ///   Search API on `metadata['till_transaction']` (the request whose answer was lost);
    /// - capture and void: the PaymentIntent's state;
    /// - refund: the intent's refunds, matched on `metadata.till_transaction`.
    ///
    /// Stripe's search index lags writes (Stripe documents up to a minute), so an empty
    /// search is checked against the newest PaymentIntents from the list API, which is
    /// consistent, before the authorization is reported as not found.
    public func status(_ lookup: StatusLookup) async -> GatewayOutcome<StatusReport> {
        switch lookup.kind {
        case .authorize:
            if let id = lookup.gatewayPaymentReference {
                return await retrieveIntent(id).map { intent in authorizationStatus(intent) }
            }
            return await searchIntent(transactionID: lookup.reference.transactionID).map { intent in
                intent.map(authorizationStatus) ?? .notFound
            }
        case .capture, .void:
            guard let id = lookup.gatewayPaymentReference else {
                return .unknown(GatewayFailure(message: "a \(lookup.kind) lookup needs the PaymentIntent id"))
            }
            let kind = lookup.kind
            return await retrieveIntent(id).map { intent in
                kind == .capture ? captureStatus(intent) : voidStatus(intent)
            }
        case .refund:
            guard let id = lookup.gatewayPaymentReference else {
                return .unknown(GatewayFailure(message: "a refund lookup needs the PaymentIntent id"))
            }
            return await refundStatus(intentID: id, transactionID: lookup.reference.transactionID)
        case .chargeback, .chargebackReversal:
            return .unknown(GatewayFailure(message: "\(lookup.kind) transactions come from Stripe's disputes, not Till's calls"))
        }
    }

    private func retrieveIntent(_ id: String) async -> GatewayOutcome<StripePaymentIntent> {
        let reply = await send(.GET, "/v1/payment_intents/\(Self.pathSegment(id))")
        return StripeClassification.classify(reply, as: StripePaymentIntent.self)
    }

    /// The PaymentIntent Till created for `transactionID`, through Stripe's search query
    /// syntax: `metadata['till_transaction']:'txn_…'`.
    private func searchIntent(transactionID: String) async -> GatewayOutcome<StripePaymentIntent?> {
        let escaped = transactionID.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
        let query = "metadata['\(MetadataKey.transaction)']:'\(escaped)'"
        let reply = await send(.GET, "/v1/payment_intents/search", query: [("query", query), ("limit", "10")])
        let matches: ([StripePaymentIntent]) -> StripePaymentIntent? = { intents in
            // The idempotency key makes one intent per transaction; the metadata check guards
            // against a search engine that matches loosely.
            intents.first { $0.metadata?[MetadataKey.transaction] == transactionID }
        }
        switch StripeClassification.classify(reply, as: StripeList<StripePaymentIntent>.self) {
        case .succeeded(let list):
            if let found = matches(list.data) { return .succeeded(found) }
        case .declined(let decline): return .declined(decline)
        case .notProcessed(let failure): return .notProcessed(failure)
        case .unknown(let failure): return .unknown(failure)
        }
        let recent = await send(.GET, "/v1/payment_intents", query: [("limit", "100")])
        return StripeClassification.classify(recent, as: StripeList<StripePaymentIntent>.self).map { list in
            matches(list.data)
        }
    }

    private func authorizationStatus(_ intent: StripePaymentIntent) -> StatusReport {
        guard let amount = money(intent.amount, intent.currency) else {
            return .pending(gatewayReference: intent.id)
        }
        switch intent.status {
        case "requires_capture":
            return .succeeded(
                gatewayReference: intent.id,
                payment: AuthorizationResult(gatewayPaymentReference: intent.id, state: .authorized, amount: amount))
        case "succeeded":
            let state: AuthorizationState =
                intent.latestCharge.map { .captured(captureReference: $0.id) } ?? .authorized
            return .succeeded(
                gatewayReference: intent.id,
                payment: AuthorizationResult(gatewayPaymentReference: intent.id, state: state, amount: amount))
        case "canceled" where intent.latestCharge != nil && intent.lastPaymentError == nil:
            // Authorized, then released: the authorization itself did happen.
            return .succeeded(
                gatewayReference: intent.id,
                payment: AuthorizationResult(gatewayPaymentReference: intent.id, state: .authorized, amount: amount))
        case "requires_action", "processing", "requires_confirmation":
            return .pending(gatewayReference: intent.id)
        case "requires_payment_method":
            if let error = intent.lastPaymentError {
                var decline = StripeClassification.cardDecline(error)
                decline.gatewayReference = intent.id
                return .failed(decline)
            }
            return .pending(gatewayReference: intent.id)
        default:
            return .failed(
                Decline(
                    code: .invalidState, gatewayCode: intent.status,
                    message: "PaymentIntent \(intent.id) is \(intent.status) without having been authorized",
                    gatewayReference: intent.id))
        }
    }

    private func captureStatus(_ intent: StripePaymentIntent) -> StatusReport {
        switch intent.status {
        case "succeeded":
            return .succeeded(gatewayReference: intent.latestCharge?.id ?? intent.id, payment: nil)
        case "requires_capture":
            return .notFound
        case "processing":
            return .pending(gatewayReference: intent.id)
        default:
            return .failed(
                Decline(
                    code: .invalidState, gatewayCode: intent.status,
                    message: "PaymentIntent \(intent.id) is \(intent.status); it was not captured", gatewayReference: intent.id))
        }
    }

    private func voidStatus(_ intent: StripePaymentIntent) -> StatusReport {
        switch intent.status {
        case "canceled":
            return .succeeded(gatewayReference: intent.id, payment: nil)
        case "requires_capture", "requires_action", "requires_confirmation", "requires_payment_method":
            return .notFound
        default:
            return .failed(
                Decline(
                    code: .invalidState, gatewayCode: intent.status,
                    message: "PaymentIntent \(intent.id) is \(intent.status); it was not canceled", gatewayReference: intent.id))
        }
    }

    /// Pages through the intent's refunds (newest first) until one carries `transactionID`.
    private func refundStatus(intentID: String, transactionID: String) async -> GatewayOutcome<StatusReport> {
        var cursor: String?
        for _ in 0..<20 {
            var query = [("payment_intent", intentID), ("limit", "100")]
            if let cursor { query.append(("starting_after", cursor)) }
            let reply = await send(.GET, "/v1/refunds", query: query)
            let list: StripeList<StripeRefund>
            switch StripeClassification.classify(reply, as: StripeList<StripeRefund>.self) {
            case .succeeded(let value): list = value
            case .declined(let decline): return .declined(decline)
            case .notProcessed(let failure): return .notProcessed(failure)
            case .unknown(let failure): return .unknown(failure)
            }
            if let refund = list.data.first(where: { $0.metadata?[MetadataKey.transaction] == transactionID }) {
                switch refund.status {
                case "succeeded": return .succeeded(.succeeded(gatewayReference: refund.id, payment: nil))
                case "failed", "canceled":
                    return .succeeded(
                        .failed(
                            Decline(
                                code: .processingError, gatewayCode: refund.status ?? "failed",
                                gatewayDeclineCode: refund.failureReason,
                                message: "refund \(refund.id) \(refund.status ?? "failed"): \(refund.failureReason ?? "no reason given")",
                                gatewayReference: refund.id)))
                default: return .succeeded(.pending(gatewayReference: refund.id))
                }
            }
            guard list.hasMore, let last = list.data.last?.id else { return .succeeded(.notFound) }
            cursor = last
        }
        return .unknown(GatewayFailure(message: "too many refunds on \(intentID) to search"))
    }
}
