import Foundation
import HTTPTypes
import Hummingbird
import TillAudit
import Logging
import TillGateway

extension TillServer {
    /// `POST /v1/gateways/{name}/webhooks`: a gateway's webhook, authenticated by the
    /// plugin's signature check rather than an API key (this group sits outside the `/v1`
    /// authentication middleware).
    ///
    /// A rejected signature is a 400 naming the reason; everything verified is acknowledged
    /// with a 200, even an event for a payment Till does not know, so the gateway stops
    /// retrying. Only a failure of Till itself is a 5xx, and then the gateway retries.
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
            let disposition = try await self.engine.receive(event, gateway: name)
            context.logger.info(
                "gateway webhook",
                metadata: [
                    "gateway": "\(name)", "event": "\(event.id)", "type": "\(event.type)",
                    "result": "\(disposition.rawValue)",
                ])
            return JSONValue.object(["received": .bool(true), "result": .string(disposition.rawValue)]).response(status: .ok)
        }
    }
}
