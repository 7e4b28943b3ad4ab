import TillCore
import Foundation
import TillPayments
import HTTPTypes
import Hummingbird
import TillAudit
import Logging
import TillGateway
import TillStore

extension TillServer {
    /// `POST /v1/gateways/{name}/webhooks`: a gateway's webhook, authenticated by the
    /// plugin's signature check rather than an API key (this group sits outside the `/v1`
    /// authentication middleware).
    ///
    /// A rejected signature is a 400 naming the reason; a signature that cannot be checked
    /// right now (the gateway's certificate endpoint or verification API is down) is a 503
    /// with `Retry-After`; everything verified is acknowledged
    /// with a 200, even an event for a payment Till does not know, so the gateway stops
    /// retrying. Only a failure of Till itself is a 5xx, and then the gateway retries.
    ///
    /// A verified webhook is still only a hint: a signature over a CRC32 can be moved to
    /// another body, and a leaked secret signs anything. So a delivery id seen before is a
    /// `duplicate` and nothing else, and every other event is confirmed with the gateway's
    /// API before it is applied: what the API refutes is acknowledged as `unconfirmed` and
    /// audited; when the API cannot be asked the answer is a 503, so the gateway delivers
    /// again; what it confirms is applied as the API has it, not as the body said.
    func addGatewayWebhookRoutes(to group: RouterGroup<TillRequestContext>) {
        group.post(":name/webhooks") { request, context in
            let name = try context.parameters.require("name")
            guard let gateway = self.gateways[name] else { throw APIError.notFound("gateway", id: name) }
            let bytes = try await Self.body(request, context)
            var headers: [String: String] = [:]
            for field in request.headers {
                let key = field.name.canonicalName
                headers[key] = headers[key].map { "\($0), \(field.value)" } ?? field.value
            }
            let event: GatewayEvent
            do {
                event = try await gateway.parseWebhook(WebhookRequest(headers: headers, body: bytes, receivedAt: self.now()))
            } catch let error as WebhookError where error.reason == .verificationUnavailable {
                // Not a rejection: the signature could not be checked (the gateway's
                // certificate endpoint or verification API is down), so ask for redelivery.
                context.logger.notice(
                    "gateway webhook not verified: verification is unavailable",
                    metadata: ["gateway": "\(name)", "reason": "\(error.message)"])
                return Self.redeliverLater("the webhook's signature could not be checked now; deliver it again later")
            } catch let error as WebhookError {
                // Never the body: it may be forged, and is none of the log's business.
                context.logger.notice(
                    "gateway webhook rejected",
                    metadata: ["gateway": "\(name)", "reason": "\(error.reason.rawValue)", "bytes": "\(bytes.count)"])
                await self.audit.record(
                    actor: "gateway:\(name)", action: .webhookVerificationFailure, subject: "/v1/gateways/\(name)/webhooks",
                    result: .denied, origin: "webhook", details: ["reason": error.reason.rawValue])
                throw APIError(
                    .badRequest, .invalidRequest, code: error.reason.rawValue, "the webhook was rejected: \(error.message)")
            }
            func acknowledge(_ result: String) -> Response {
                context.logger.info(
                    "gateway webhook",
                    metadata: [
                        "gateway": "\(name)", "event": "\(event.id)", "type": "\(event.type)", "result": "\(result)",
                        "delivery": "\(event.deliveryID ?? "-")",
                    ])
                return JSONValue.object(["received": .bool(true), "result": .string(result)]).response(status: .ok)
            }
            if let delivery = event.deliveryID,
                try await self.store.hasGatewayDelivery(gateway: name, deliveryID: delivery)
            {
                return acknowledge(PaymentEngine.EventDisposition.duplicate.rawValue)
            }
            // A redelivery of an event already applied needs no second look at the gateway.
            if try await self.store.hasGatewayEvent(gateway: name, eventID: event.id) {
                try await self.recordDelivery(event, gateway: name)
                return acknowledge(PaymentEngine.EventDisposition.duplicate.rawValue)
            }
            let confirmed: GatewayEvent
            if case .ignored = event.kind {
                confirmed = event
            } else {
                switch await gateway.confirm(event) {
                case .confirmed(let rebuilt):
                    confirmed = rebuilt
                case .refuted(let reason):
                    context.logger.warning(
                        "gateway webhook refuted by the gateway's API",
                        metadata: [
                            "gateway": "\(name)", "event": "\(event.id)", "type": "\(event.type)", "reason": "\(reason)",
                            "delivery": "\(event.deliveryID ?? "-")",
                        ])
                    await self.audit.record(
                        actor: "gateway:\(name)", action: .webhookUnconfirmed, subject: "/v1/gateways/\(name)/webhooks",
                        result: .denied, origin: "webhook",
                        details: ["event": event.id, "type": event.type, "reason": reason])
                    try await self.recordDelivery(event, gateway: name)
                    return acknowledge("unconfirmed")
                case .unavailable(let reason):
                    // Nothing recorded: the redelivery must be confirmed afresh.
                    context.logger.notice(
                        "gateway webhook not confirmed: the gateway's API is unavailable",
                        metadata: ["gateway": "\(name)", "event": "\(event.id)", "reason": "\(reason)"])
                    return Self.redeliverLater("the event could not be confirmed with the gateway; deliver it again later")
                }
            }
            let disposition = try await self.engine.receive(confirmed, gateway: name)
            try await self.recordDelivery(event, gateway: name)
            return acknowledge(disposition.rawValue)
        }
    }

    /// Seconds a gateway is asked to wait before delivering an unconfirmable event again.
    static let confirmationRetryAfter = 60

    /// A 503 with `Retry-After`: nothing was recorded, and the gateway should try again.
    private static func redeliverLater(_ message: String) -> Response {
        var response = APIError(.serviceUnavailable, .gateway, code: "gateway_unavailable", message).response()
        response.headers[.retryAfter] = String(confirmationRetryAfter)
        return response
    }

    /// How long a delivery id is remembered: signatures are accepted within minutes of
    /// their time, so a week outlasts any replay of signed headers by far.
    public static let deliveryRetention: TimeInterval = 7 * 24 * 3600

    private func recordDelivery(_ event: GatewayEvent, gateway: String) async throws {
        guard let delivery = event.deliveryID else { return }
        try await store.recordGatewayDelivery(gateway: gateway, deliveryID: delivery, at: now())
    }
}
