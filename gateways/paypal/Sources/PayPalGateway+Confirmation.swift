import Foundation
import TillCore
import TillGateway
import TillHTTP

extension PayPalGateway {
    /// Reads the resource a verified event names from PayPal's API and rebuilds the event
    /// from it. PayPal's signature covers only a CRC32 of the body, which anyone can match
    /// with another body, so the body's amounts, statuses and payment are never trusted:
    ///
    /// - authorizations: the order, then its authorization (`/v2/payments/authorizations`);
    /// - captures and refunds: `/v2/payments/captures/{id}`, `/v2/payments/refunds/{id}`;
    /// - disputes: `/v1/customer/disputes/{id}`, which must name the capture the event claims.
    ///
    /// A resource PayPal does not have, one in another state than the event type says, or one
    /// of another payment refutes the event; a transport failure, 429 or 5xx leaves it
    /// unavailable, so PayPal delivers it again.
    public func confirm(_ event: GatewayEvent) async -> WebhookConfirmation {
        let path: String
        var expected: Set<String>?
        switch event.kind {
        case .ignored:
            return .confirmed(event)
        case .authorizationSucceeded, .authorizationVoided, .authorizationExpired:
            guard let order = event.payment.gatewayPaymentReference else {
                return .refuted("\(event.type) names no order")
            }
            let wanted: Set<String> =
                event.type == "PAYMENT.AUTHORIZATION.VOIDED" ? ["VOIDED"] : ["CREATED", "CAPTURED", "PARTIALLY_CAPTURED"]
            switch await authorizationID(order: order, statuses: wanted) {
            case .refuted(let reason): return .refuted(reason)
            case .unavailable(let reason): return .unavailable(reason)
            case .confirmed(let id): path = "/v2/payments/authorizations/\(Self.path(id))"
            }
            expected = wanted
        case .authorizationFailed(let decline):
            guard let capture = decline.gatewayReference else { return .refuted("\(event.type) names no capture") }
            path = "/v2/payments/captures/\(Self.path(capture))"
            expected = ["DENIED", "DECLINED"]
        case .captureSucceeded(let capture, _):
            path = "/v2/payments/captures/\(Self.path(capture))"
            expected = ["COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"]
        case .refundSucceeded(let refund, _), .refundPending(let refund, _), .refundFailed(let refund, _):
            // The refund's status as PayPal has it now decides the kind, not the body's.
            path = "/v2/payments/refunds/\(Self.path(refund))"
        case .disputeOpened(let info), .disputeUpdated(let info), .disputeClosed(let info):
            path = "/v1/customer/disputes/\(Self.path(info.disputeReference))"
        }

        let resource: [UInt8]
        switch await read(path) {
        case .refuted(let reason): return .refuted(reason)
        case .unavailable(let reason): return .unavailable(reason)
        case .confirmed(let bytes): resource = bytes
        }
        if let expected {
            let status = Wire.decode(Wire.Payment.self, from: resource)?.status ?? "none"
            guard expected.contains(status) else {
                return .refuted("\(event.type), but PayPal reports \(path) as \(status)")
            }
        }

        var rebuilt: GatewayEvent
        do {
            rebuilt = try Self.event(from: Self.syntheticEvent(event, resource: resource))
        } catch {
            return .refuted("PayPal's \(path) does not read as \(event.type): \(error.message)")
        }
        rebuilt.deliveryID = event.deliveryID

        if case .disputeOpened = event.kind {
            // The forgery this guards against names somebody else's capture in a dispute event.
            guard let claimed = event.payment.transactionID, claimed == rebuilt.payment.transactionID else {
                return .refuted("PayPal's dispute does not name the capture \(event.type) claims")
            }
        } else if case .disputeUpdated = event.kind, event.payment.transactionID != rebuilt.payment.transactionID {
            return .refuted("PayPal's dispute does not name the capture \(event.type) claims")
        } else if case .disputeClosed = event.kind, event.payment.transactionID != rebuilt.payment.transactionID {
            return .refuted("PayPal's dispute does not name the capture \(event.type) claims")
        }
        for (claimed, actual) in [
            (event.payment.gatewayPaymentReference, rebuilt.payment.gatewayPaymentReference),
            (event.payment.transactionID, rebuilt.payment.transactionID),
        ] {
            if let claimed, let actual, claimed != actual {
                return .refuted("\(event.type) names \(claimed) but PayPal's resource belongs to \(actual)")
            }
        }
        return .confirmed(rebuilt)
    }

    /// One GET: the body, or why the event cannot be confirmed with it.
    private func read(_ path: String) async -> Confirmed<[UInt8]> {
        switch await send(.GET, path) {
        case .success(let response):
            return .confirmed(response.body)
        case .failure(.declined(let decline)):
            // PayPal validated the request and refused it: 404 RESOURCE_NOT_FOUND and kin.
            return .refuted("PayPal has no \(path): \(decline.gatewayCode)")
        case .failure(.notProcessed(let failure)), .failure(.unknown(let failure)):
            return .unavailable("PayPal could not be asked for \(path): \(failure.message)")
        }
    }

    /// The order's authorization in one of `statuses`.
    private func authorizationID(order: String, statuses: Set<String>) async -> Confirmed<String> {
        switch await read("/v2/checkout/orders/\(Self.path(order))") {
        case .refuted(let reason): return .refuted(reason)
        case .unavailable(let reason): return .unavailable(reason)
        case .confirmed(let body):
            guard let order = Wire.decode(Wire.Order.self, from: body) else {
                return .unavailable("PayPal's order \(order) does not parse")
            }
            let authorizations = order.unit?.payments?.authorizations ?? []
            guard let id = authorizations.first(where: { statuses.contains($0.status ?? "") })?.id else {
                return .refuted("order \(order.id ?? "") has no authorization in \(statuses.sorted())")
            }
            return .confirmed(id)
        }
    }

    private enum Confirmed<Value: Sendable>: Sendable {
        case confirmed(Value)
        case refuted(String)
        case unavailable(String)
    }

    /// An event envelope around the API's resource, so the one mapping reads both.
    private static func syntheticEvent(_ event: GatewayEvent, resource: [UInt8]) -> [UInt8] {
        let time = event.occurredAt.formatted(Date.ISO8601FormatStyle())
        var body = Array("{\"id\":".utf8) + JSONString.quoted(event.id)
        body += Array(",\"event_type\":".utf8) + JSONString.quoted(event.type)
        body += Array(",\"create_time\":".utf8) + JSONString.quoted(time) + Array(",\"resource\":".utf8)
        body += resource
        body += Array("}".utf8)
        return body
    }
}
