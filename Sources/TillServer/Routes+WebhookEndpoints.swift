import TillCore
import Foundation
import TillPayments
import HTTPTypes
import Hummingbird
import TillStore

extension TillServer {
    /// The most live endpoints a merchant may have: each event is delivered to every one.
    static let maxWebhookEndpoints = 16

    /// `/v1/webhook_endpoints`: create, list, retrieve, delete, rotate the secret. Secret keys
    /// only. The signing secret is shown when the endpoint is created and when it is rotated,
    /// never in a list or a retrieve.
    func addWebhookEndpointRoutes(to v1: RouterGroup<TillRequestContext>) {
        v1.post("webhook_endpoints") { request, context in
            let caller = try context.requireSecretKey()
            let bytes = try await Self.body(request, context)
            return try await self.idempotency.run(request: request, body: bytes, caller: caller) {
                let body = try RequestBody(bytes, allowed: ["url"])
                // Bounded here only loosely: webhookURL enforces its own 2048 bytes as url_invalid.
                let url = try self.webhookURL(try body.requiredString("url", maxBytes: 4096))
                let existing = try await self.store.endpoints(merchantID: caller.merchantID)
                guard existing.count < Self.maxWebhookEndpoints else {
                    throw APIError.invalid(
                        "this merchant already has \(Self.maxWebhookEndpoints) webhook endpoints; delete one first",
                        code: "too_many_webhook_endpoints")
                }
                let endpoint = WebhookEndpointRecord(
                    id: Identifiers.make("we"), merchantId: caller.merchantID, url: url, secret: Self.newWebhookSecret(),
                    createdAt: self.now())
                try await self.store.insert(endpoint: endpoint)
                return APIResponse(
                    .created, Self.endpointJSON(endpoint, showingSecret: true), replay: Self.endpointReplayJSON(endpoint))
            }
        }
        v1.get("webhook_endpoints") { _, context in
            let caller = try context.requireSecretKey()
            let endpoints = try await self.store.endpoints(merchantID: caller.merchantID)
            // Newest first, like every other list.
            let items = endpoints.reversed().map { Self.endpointJSON($0, showingSecret: false) }
            return Self.list(items, hasMore: false, lastID: nil).response(status: .ok)
        }
        v1.get("webhook_endpoints/:id") { _, context in
            let caller = try context.requireSecretKey()
            let id = try context.parameters.require("id")
            guard let endpoint = try await self.store.endpoints(merchantID: caller.merchantID).first(where: { $0.id == id })
            else { throw APIError.notFound("webhook endpoint", id: id) }
            return Self.endpointJSON(endpoint, showingSecret: false).response(status: .ok)
        }
        v1.delete("webhook_endpoints/:id") { _, context in
            let caller = try context.requireSecretKey()
            let id = try context.parameters.require("id")
            guard try await self.store.deleteEndpoint(id: id, merchantID: caller.merchantID, at: self.now()) else {
                throw APIError.notFound("webhook endpoint", id: id)
            }
            return JSONValue.object(["id": .string(id), "object": .string("webhook_endpoint"), "deleted": .bool(true)])
                .response(status: .ok)
        }
        v1.post("webhook_endpoints/:id/rotate_secret") { request, context in
            let caller = try context.requireSecretKey()
            let id = try context.parameters.require("id")
            let bytes = try await Self.body(request, context)
            return try await self.idempotency.run(request: request, body: bytes, caller: caller) {
                _ = try RequestBody(bytes, allowed: [])
                guard let endpoint = try await self.store.rotateEndpointSecret(
                    id: id, merchantID: caller.merchantID, secret: Self.newWebhookSecret())
                else { throw APIError.notFound("webhook endpoint", id: id) }
                return APIResponse(.ok, Self.endpointJSON(endpoint, showingSecret: true), replay: Self.endpointReplayJSON(endpoint))
            }
        }
    }

    /// `whsec_` and 256 random bits.
    static func newWebhookSecret() -> String { Identifiers.make("whsec", bytes: 32) }

    /// What an idempotent replay of a create or a rotation answers: the endpoint, with
    /// `"secret": null` and `"secret_shown": "once"`. The stored answer is kept without the
    /// secret, so the database's idempotency records never hold it and a replay, by whoever
    /// holds the key and the request, cannot fetch it again; a caller who lost the first
    /// answer rotates the secret.
    static func endpointReplayJSON(_ endpoint: WebhookEndpointRecord) -> JSONValue {
        guard case .object(var object) = endpointJSON(endpoint, showingSecret: false) else { return .null }
        object["secret"] = .null
        object["secret_shown"] = .string("once")
        return .object(object)
    }

    static func endpointJSON(_ endpoint: WebhookEndpointRecord, showingSecret: Bool) -> JSONValue {
        var object: JSONObject = [
            "id": .string(endpoint.id), "object": .string("webhook_endpoint"), "url": .string(endpoint.url),
            "created_at": .date(endpoint.createdAt),
        ]
        if showingSecret { object["secret"] = .string(endpoint.secret) }
        return .object(object)
    }

    /// `text` in its stored form, if ``WebhookURLPolicy`` accepts it now: `url_invalid` when
    /// it cannot be read, `url_not_allowed` when it points where webhooks may not go. Either
    /// names the rule, never an address. A host name is judged again by its addresses at
    /// every delivery.
    func webhookURL(_ text: String) throws(APIError) -> String {
        do {
            return try webhookDestinations.policy.check(url: text).url
        } catch {
            switch error.kind {
            case .invalid: throw APIError.invalid("url \(error.reason)", param: "url", code: "url_invalid")
            case .notAllowed: throw APIError.invalid("url \(error.reason)", param: "url", code: "url_not_allowed")
            }
        }
    }
}
