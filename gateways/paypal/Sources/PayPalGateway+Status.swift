import Foundation
import TillCore
import TillGateway
import TillHTTP

extension PayPalGateway {
    /// Finds one of our transactions at PayPal by our own reference.
    ///
    /// PayPal has no search by metadata, so the order is the way in: its purchase unit lists
    /// every authorization, capture and refund with the `custom_id`/`invoice_id` Till sent
    /// (our transaction id).
    ///
    /// An authorization whose answer was lost has no order id yet. Then the create is
    /// repeated with the same `PayPal-Request-Id` and the same body minus the card (which
    /// Till no longer holds). This is a lookup, never a second charge:
    /// - if the first create took effect, PayPal answers with that order (the request id is
    ///   taken), and nothing new happens;
    /// - if it never arrived, the repeat creates an order *without a payment source*, which
    ///   charges nothing and is reported as ``StatusReport/notFound``. Should the engine retry
    ///   the authorization under the same key, ``authorize(_:)`` completes that order with the
    ///   card instead of creating a second one.
    public func status(_ lookup: StatusLookup) async -> GatewayOutcome<StatusReport> {
        switch lookup.kind {
        case .authorize:
            guard let orderID = lookup.gatewayPaymentReference else { return await findLostAuthorization(lookup) }
            return await readOrder(orderID) { order in Self.authorizationStatus(order, lookup: lookup) }
        case .capture, .refund:
            guard let orderID = await orderID(for: lookup) else {
                return .declined(Self.invalidLookup("a PayPal \(lookup.kind) lookup needs the order or authorization id"))
            }
            switch orderID {
            case .failure(let failure): return failure.outcome()
            case .success(nil): return .succeeded(.notFound)
            case .success(let id?):
                return await readOrder(id) { order in
                    lookup.kind == .capture ? Self.captureStatus(order, lookup: lookup) : Self.refundStatus(order, lookup: lookup)
                }
            }
        case .void:
            guard let authorization = lookup.gatewayAuthorizationReference else {
                return .declined(Self.invalidLookup("a PayPal void lookup needs the authorization id"))
            }
            switch await send(.GET, "/v2/payments/authorizations/\(Self.path(authorization))") {
            case .failure(let failure):
                if case .declined(let decline) = failure, Self.isNotFound(decline) { return .succeeded(.notFound) }
                return failure.outcome()
            case .success(let response):
                guard let auth = Wire.decode(Wire.Payment.self, from: response.body) else {
                    return .unknown(GatewayFailure(httpStatus: response.status, message: "PayPal's authorization does not parse"))
                }
                return .succeeded(auth.status == "VOIDED" ? .succeeded(gatewayReference: authorization, payment: nil) : .notFound)
            }
        case .chargeback, .chargebackReversal:
            return .declined(
                Decline(code: .unsupported, gatewayCode: "unsupported", message: "chargebacks come from PayPal; there is nothing to look up"))
        }
    }

    private func findLostAuthorization(_ lookup: StatusLookup) async -> GatewayOutcome<StatusReport> {
        let body = Self.orderBody(reference: lookup.reference, amount: lookup.amount, paymentSource: nil)
        let repeated = await send(.POST, "/v2/checkout/orders", body: body, requestID: lookup.reference.idempotencyKey)
        switch repeated {
        case .failure(.declined(let decline)) where OutcomeTable.cardIssues.contains(decline.gatewayCode):
            // The first create was processed and declined; PayPal replays its answer.
            return .succeeded(.failed(decline))
        case .failure(let failure):
            return failure.outcome()
        case .success(let response):
            guard let order = Wire.decode(Wire.Order.self, from: response.body), let orderID = order.id else {
                return .unknown(GatewayFailure(httpStatus: response.status, message: "PayPal's order answer does not parse"))
            }
            // The replay is the order as it was then; read it as it is now.
            return await readOrder(orderID) { order in Self.authorizationStatus(order, lookup: lookup) }
        }
    }

    private func readOrder(
        _ orderID: String, _ report: (Wire.Order) -> GatewayOutcome<StatusReport>
    ) async -> GatewayOutcome<StatusReport> {
        switch await send(.GET, "/v2/checkout/orders/\(Self.path(orderID))") {
        case .failure(let failure):
            if case .declined(let decline) = failure, Self.isNotFound(decline) { return .succeeded(.notFound) }
            return failure.outcome()
        case .success(let response):
            guard let order = Wire.decode(Wire.Order.self, from: response.body) else {
                return .unknown(GatewayFailure(httpStatus: response.status, message: "PayPal's order does not parse"))
            }
            return report(order)
        }
    }

    /// The order a capture or refund lookup belongs to: given, or found from the authorization.
    private func orderID(for lookup: StatusLookup) async -> Result<String?, CallFailure>? {
        if let order = lookup.gatewayPaymentReference { return .success(order) }
        guard let authorization = lookup.gatewayAuthorizationReference else { return nil }
        switch await send(.GET, "/v2/payments/authorizations/\(Self.path(authorization))") {
        case .failure(let failure):
            if case .declined(let decline) = failure, Self.isNotFound(decline) { return .success(nil) }
            return .failure(failure)
        case .success(let response):
            guard let orderID = Wire.decode(Wire.Payment.self, from: response.body)?.supplementaryData?.relatedIds?.orderId
            else { return .failure(.unknown("PayPal's authorization names no order")) }
            return .success(orderID)
        }
    }

    static func isNotFound(_ decline: Decline) -> Bool {
        ["INVALID_RESOURCE_ID", "RESOURCE_NOT_FOUND"].contains(decline.gatewayCode)
    }

    static func invalidLookup(_ message: String) -> Decline {
        Decline(code: .invalidRequest, gatewayCode: "till_invalid_request", message: message)
    }

    static func authorizationStatus(_ order: Wire.Order, lookup: StatusLookup) -> GatewayOutcome<StatusReport> {
        guard let orderID = order.id else { return .unknown(GatewayFailure(message: "PayPal's order has no id")) }
        let authorizations = order.unit?.payments?.authorizations ?? []
        guard let auth = authorizations.last(where: { $0.customId == lookup.reference.transactionID }) ?? authorizations.last
        else {
            switch order.status {
            // Waiting for the payer's 3-D Secure challenge, or for the authorize call after it.
            case "PAYER_ACTION_REQUIRED", "APPROVED": return .succeeded(.pending(gatewayReference: orderID))
            // Created without a card: nothing was charged.
            case "CREATED", "VOIDED": return .succeeded(.notFound)
            default: return .unknown(GatewayFailure(message: "PayPal's order \(orderID) is \(order.status ?? "?") with no authorization"))
            }
        }
        switch auth.status {
        case "DENIED":
            return .succeeded(.failed(denied(auth, what: "authorization")))
        case "PENDING":
            return .succeeded(.pending(gatewayReference: auth.id))
        default:
            switch authorization(from: order, reference: lookup.reference, requested: lookup.amount) {
            case .succeeded(let result):
                return .succeeded(.succeeded(gatewayReference: result.gatewayAuthorizationReference ?? orderID, payment: result))
            case .declined(let decline): return .succeeded(.failed(decline))
            case .notProcessed(let failure), .unknown(let failure):
                // VOIDED, EXPIRED: it took effect and was released later.
                guard let authID = auth.id, let amount = auth.amount?.money() else { return .unknown(failure) }
                return .succeeded(
                    .succeeded(
                        gatewayReference: authID,
                        payment: AuthorizationResult(
                            gatewayPaymentReference: orderID, gatewayAuthorizationReference: authID, state: .authorized,
                            amount: amount)))
            }
        }
    }

    static func captureStatus(_ order: Wire.Order, lookup: StatusLookup) -> GatewayOutcome<StatusReport> {
        guard let capture = (order.unit?.payments?.captures ?? []).last(where: { $0.invoiceId == lookup.reference.transactionID }),
            let id = capture.id
        else { return .succeeded(.notFound) }
        switch capture.status {
        case "COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED": return .succeeded(.succeeded(gatewayReference: id, payment: nil))
        case "PENDING": return .succeeded(.pending(gatewayReference: id))
        case "DECLINED", "FAILED": return .succeeded(.failed(denied(capture, what: "capture")))
        default: return .unknown(GatewayFailure(message: "PayPal's capture \(id) is \(capture.status ?? "?")"))
        }
    }

    static func refundStatus(_ order: Wire.Order, lookup: StatusLookup) -> GatewayOutcome<StatusReport> {
        guard let refund = (order.unit?.payments?.refunds ?? []).last(where: { $0.invoiceId == lookup.reference.transactionID })
        else { return .succeeded(.notFound) }
        switch refundOutcome(refund, requested: lookup.amount) {
        case .succeeded(let result):
            return .succeeded(
                result.state == .pending
                    ? .pending(gatewayReference: result.refundReference)
                    : .succeeded(gatewayReference: result.refundReference, payment: nil))
        case .declined(let decline): return .succeeded(.failed(decline))
        case .notProcessed(let failure), .unknown(let failure): return .unknown(failure)
        }
    }
}
