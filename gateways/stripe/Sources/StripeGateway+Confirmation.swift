public import TillGateway
import Foundation
import TillCore
import TillHTTP

extension StripeGateway {
    /// Reads the object a verified event names from Stripe's API and rebuilds the event from
    /// it. A leaked webhook secret signs any body, so nothing the body says about amounts,
    /// statuses or the payment survives: only the event's id, type and object id are taken
    /// from it, and the object's id only to ask for it.
    ///
    /// - `payment_intent.*`: the PaymentIntent, which must be in the state the type claims;
    /// - `charge.captured`: the charge;
    /// - refunds (`charge.refunded`, `refund.*`): the refund, as Stripe has it now;
    /// - `charge.dispute.*`: the dispute.
    ///
    /// An object Stripe does not have, or one of another payment, refutes the event;
    /// a transport failure, 429 or 5xx leaves it unconfirmed for a redelivery.
    public func confirm(_ event: GatewayEvent) async -> WebhookConfirmation {
        let path: String
        var mappedType = event.type
        switch event.kind {
        case .ignored:
            return .confirmed(event)
        case .authorizationSucceeded, .authorizationFailed, .authorizationVoided, .authorizationExpired:
            guard let intent = event.payment.gatewayPaymentReference else {
                return .refuted("\(event.type) names no PaymentIntent")
            }
            path = "/v1/payment_intents/\(Self.pathSegment(intent))"
        case .captureSucceeded(let charge, _):
            if event.type == "charge.captured" {
                path = "/v1/charges/\(Self.pathSegment(charge))"
            } else {
                guard let intent = event.payment.gatewayPaymentReference else {
                    return .refuted("\(event.type) names no PaymentIntent")
                }
                path = "/v1/payment_intents/\(Self.pathSegment(intent))"
            }
        case .refundSucceeded(let refund, _), .refundPending(let refund, _), .refundFailed(let refund, _):
            path = "/v1/refunds/\(Self.pathSegment(refund))"
            // The refund's own status decides, not the type of the event that mentioned it.
            mappedType = "refund.updated"
        case .disputeOpened(let info), .disputeUpdated(let info), .disputeClosed(let info):
            path = "/v1/disputes/\(Self.pathSegment(info.disputeReference))"
        }

        let object: [UInt8]
        switch await send(.GET, path) {
        case .failure(let error):
            return .unavailable("Stripe could not be reached to confirm \(event.id): \(error.message)")
        case .success(let response):
            switch response.status {
            case 200..<300: object = response.body
            case 400, 404: return .refuted("Stripe has no object at \(path) for \(event.type) (HTTP \(response.status))")
            default: return .unavailable("Stripe answered HTTP \(response.status) to \(path) while confirming \(event.id)")
            }
        }

        var rebuilt: GatewayEvent
        do {
            rebuilt = try StripeWebhook.event(
                from: Self.syntheticEvent(id: event.id, type: mappedType, occurredAt: event.occurredAt, object: object),
                gateway: self)
        } catch {
            return .refuted("Stripe's \(path) does not read as \(event.type): \(error.message)")
        }
        rebuilt.type = event.type
        rebuilt.deliveryID = event.deliveryID

        if let claimed = event.payment.gatewayPaymentReference, let actual = rebuilt.payment.gatewayPaymentReference,
            claimed != actual
        {
            return .refuted("\(event.type) names \(claimed) but Stripe's object belongs to \(actual)")
        }
        if event.payment.gatewayPaymentReference != nil, rebuilt.payment.gatewayPaymentReference == nil {
            return .refuted("\(event.type) names a PaymentIntent but Stripe's object belongs to none")
        }
        if let refusal = Self.stateRefusal(event.type, object: object) { return .refuted(refusal) }
        return .confirmed(rebuilt)
    }

    /// The PaymentIntent must be where the event type says it went: a signed
    /// `payment_intent.succeeded` for an intent still awaiting capture captures nothing.
    private static func stateRefusal(_ type: String, object: [UInt8]) -> String? {
        guard type.hasPrefix("payment_intent."),
            let intent = try? JSONDecoder().decode(StripePaymentIntent.self, from: Data(object))
        else { return nil }
        let accepted: Bool =
            switch type {
            case "payment_intent.amount_capturable_updated": ["requires_capture", "succeeded"].contains(intent.status)
            case "payment_intent.succeeded": intent.status == "succeeded"
            case "payment_intent.payment_failed": intent.lastPaymentError != nil
            case "payment_intent.canceled": intent.status == "canceled"
            default: true
            }
        return accepted ? nil : "\(type) for \(intent.id), which Stripe reports as \(intent.status)"
    }

    /// An event envelope around the API's object, so the one mapping reads both.
    private static func syntheticEvent(id: String, type: String, occurredAt: Date, object: [UInt8]) -> [UInt8] {
        var body = Array("{\"id\":".utf8) + JSONString.quoted(id) + Array(",\"type\":".utf8) + JSONString.quoted(type)
        body += Array(",\"created\":\(Int64(occurredAt.timeIntervalSince1970)),\"data\":{\"object\":".utf8)
        body += object
        body += Array("}}".utf8)
        return body
    }
}
