import TillCore
import Foundation
import Hummingbird
import TillStore

extension TillServer {
    /// `GET /v1/events` (newest first; `limit`, `starting_after`, `type`, `payment`) and
    /// `GET /v1/events/{id}`, which adds the event's `deliveries` with every attempt.
    func addEventRoutes(to v1: RouterGroup<TillRequestContext>) {
        v1.get("events") { request, context in
            let caller = try context.requireSecretKey()
            let query = request.uri.queryParameters
            let limit = try Self.limit(query)
            let type = try Self.eventQueryValue(query, "type")
            let payment = try Self.eventQueryValue(query, "payment")
            let page = try await self.store.events(
                merchantID: caller.merchantID, type: type, paymentID: payment,
                startingAfter: try Self.eventQueryValue(query, "starting_after"), limit: limit)
            let items = try page.items.map { JSONValue.object(try Self.eventBody($0)) }
            return Self.list(items, hasMore: page.hasMore, lastID: page.items.last?.id).response(status: .ok)
        }
        v1.get("events/:id") { _, context in
            let caller = try context.requireSecretKey()
            let id = try context.parameters.require("id")
            guard let event = try await self.store.event(id: id, merchantID: caller.merchantID) else {
                throw APIError.notFound("event", id: id)
            }
            var body = try Self.eventBody(event)
            let deliveries = try await self.store.deliveries(eventID: event.id, merchantID: caller.merchantID)
            body["deliveries"] = .array(deliveries.map { Self.deliveryJSON($0.0, attempts: $0.1) })
            return JSONValue.object(body).response(status: .ok)
        }
    }

    /// A query filter: absent, or a non-empty value of sensible length.
    static func eventQueryValue(_ query: Hummingbird.Parameters, _ name: String) throws(APIError) -> String? {
        guard let value = query.get(name) else { return nil }
        guard !value.isEmpty, value.utf8.count <= 255 else {
            throw APIError.invalid("\(name) must be 1 to 255 bytes of UTF-8", param: name)
        }
        return value
    }

    /// The event exactly as it was delivered.
    static func eventBody(_ event: EventRecord) throws(APIError) -> JSONObject {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: event.body), case .object(let object) = value else {
            throw APIError(.internalServerError, .api, code: "internal_error", "event \(event.id) could not be read")
        }
        return object
    }

    /// One endpoint's delivery of an event: where it stands and each attempt.
    static func deliveryJSON(_ outbox: OutboxRecord, attempts: [DeliveryAttemptRecord]) -> JSONValue {
        var object: JSONObject = [
            "object": .string("webhook_delivery"),
            "endpoint": .string(outbox.endpointId),
            "status": .string(outbox.status.rawValue),
            "attempt_count": .int(Int64(outbox.attempts)),
            "next_attempt_at": outbox.status == .pending ? .date(outbox.nextAttemptAt) : .null,
            "delivered_at": outbox.deliveredAt.map { .date($0) } ?? .null,
            "last_status_code": outbox.lastStatusCode.map { .int(Int64($0)) } ?? .null,
            "last_error": .string(DeliveryFailure.shown(outbox.lastError)),
        ]
        object["attempts"] = .array(
            attempts.map { attempt in
                .object([
                    "attempted_at": .date(attempt.attemptedAt),
                    "status_code": attempt.statusCode.map { .int(Int64($0)) } ?? .null,
                    "error": .string(DeliveryFailure.shown(attempt.error)),
                    "duration_ms": .int(Int64(attempt.durationMilliseconds)),
                ])
            })
        return .object(object)
    }
}
