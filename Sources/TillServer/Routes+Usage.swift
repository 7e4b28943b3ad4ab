import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TillBilling
import TillBillingEngine
import TillCore
import TillMail

// Usage: billable metrics, usage events (one or a batch), and a subscription's usage and
// upcoming invoice. Events are idempotent on their own ids, so their route skips the
// Idempotency-Key layer (and its extra write) that other creates go through.
extension TillServer {
    /// Lago's and Stripe's batch ceiling.
    static let maxUsageBatch = 100

    func addUsageRoutes(to v1: RouterGroup<TillRequestContext>) {
        billingPost("billable_metrics", on: v1, status: .created) { bytes, merchant, _ in
            let body = try RequestBody(bytes, allowed: ["code", "name", "aggregation", "property", "filters"])
            guard let aggregation = try Self.enumValue(body, "aggregation", UsageAggregation.self) else {
                throw APIError.missing("aggregation")
            }
            var filters: [UsageFilter] = []
            if let value = body.fields["filters"] {
                guard case .array(let items) = value, items.count <= 10 else {
                    throw APIError.invalid("filters is an array of up to 10 {key, values}", param: "filters")
                }
                for (index, item) in items.enumerated() {
                    guard case .object(let fields) = item else { throw APIError.invalid("filters[\(index)] must be an object", param: "filters") }
                    let filter = try RequestBody(fields: fields, allowed: ["key", "values"], prefix: "filters[\(index)]")
                    guard case .array(let values)? = filter.fields["values"] else {
                        throw APIError.invalid("filters[\(index)].values is an array of strings", param: "filters")
                    }
                    let strings = try values.map { value throws(APIError) -> String in
                        guard case .string(let text) = value else {
                            throw APIError.invalid("filters[\(index)].values is an array of strings", param: "filters")
                        }
                        return text
                    }
                    filters.append(try UsageFilter(key: try filter.requiredString("key"), values: strings))
                }
            }
            let metric = try await self.billing.createMetric(
                code: try body.requiredString("code"), name: try body.requiredString("name", maxBytes: 200),
                aggregation: aggregation, property: try body.string("property"), filters: filters, merchantID: merchant)
            return BillingViews.metric(metric)
        }
        billingGet("billable_metrics", on: v1) { request, merchant, _ in
            let query = request.uri.queryParameters
            let page = try await self.billing.metrics(
                merchantID: merchant, startingAfter: try Self.eventQueryValue(query, "starting_after"), limit: try Self.limit(query))
            return try Self.billingList(page, id: \.id, BillingViews.metric)
        }
        billingGet("billable_metrics/:id", on: v1) { _, merchant, context in
            BillingViews.metric(try await self.billing.metric(id: try context.parameters.require("id"), merchantID: merchant))
        }

        v1.post("usage_events") { request, context in
            let caller = try context.requireSecretKey()
            let bytes = try await Self.body(request, context)
            let body = try RequestBody(bytes, allowed: ["events", "event_id", "customer", "code", "timestamp", "properties"])
            if let batch = body.fields["events"] {
                guard body.fields.count == 1 else {
                    throw APIError.invalid("send either one event's fields or \"events\", not both", param: "events")
                }
                guard case .array(let items) = batch, (1...Self.maxUsageBatch).contains(items.count) else {
                    throw APIError.invalid("events is an array of 1 to \(Self.maxUsageBatch) events", param: "events")
                }
                let parsed = items.enumerated().map { index, item in Self.usageEvent(item, prefix: "events[\(index)]") }
                let results = try await self.ingest(parsed, merchantID: caller.merchantID)
                var counts: [String: Int64] = ["accepted": 0, "duplicate": 0, "rejected": 0]
                for result in results { counts[result.status, default: 0] += 1 }
                return JSONValue.object([
                    "object": .string("usage_event_batch"), "data": .array(results.map(\.view)),
                    "accepted": .int(counts["accepted"] ?? 0), "duplicates": .int(counts["duplicate"] ?? 0),
                    "rejected": .int(counts["rejected"] ?? 0),
                ]).response(status: .ok)
            }
            // One event: a refusal is the request's error; a resend says it was a duplicate.
            let results = try await self.ingest([Self.usageEvent(.object(body.fields), prefix: nil)], merchantID: caller.merchantID)
            guard let result = results.first else {
                throw APIError(.internalServerError, .api, code: "internal_error", "the event's outcome was lost")
            }
            if let error = result.error { throw error }
            return result.view.response(status: result.status == "accepted" ? .created : .ok)
        }

        billingGet("subscriptions/:id/usage", on: v1) { _, merchant, context in
            let id = try context.parameters.require("id")
            return BillingViews.usage(try await self.billing.currentUsage(subscriptionID: id, merchantID: merchant), subscriptionID: id)
        }
        billingGet("subscriptions/:id/upcoming_invoice", on: v1) { _, merchant, context in
            try BillingViews.invoice(
                try await self.billing.upcomingInvoice(subscriptionID: try context.parameters.require("id"), merchantID: merchant))
        }
    }
}

/// One event's outcome, as the API answers it.
struct UsageResult: Sendable {
    var eventID: String?
    var status: String
    var error: APIError?

    var view: JSONValue {
        var object: JSONObject = ["object": .string("usage_event"), "event_id": .string(eventID), "status": .string(status)]
        if status == "duplicate" { object["message"] = .string("an event with this id was already received for the customer; it counts once") }
        if let error, case .object(let body)? = error.body["error"] { object["error"] = .object(body) }
        return .object(object)
    }
}

extension TillServer {
    /// Reads one event's fields; a malformed event is refused on its own.
    static func usageEvent(_ value: JSONValue, prefix: String?) -> (id: String?, event: Result<UsageEvent, APIError>) {
        guard case .object(let fields) = value else {
            return (nil, .failure(APIError.invalid("\(prefix ?? "the event") must be an object", param: prefix)))
        }
        let id: String? = if case .string(let text)? = fields["event_id"] { text } else { nil }
        do throws(APIError) {
            let body = try RequestBody(
                fields: fields, allowed: ["event_id", "customer", "code", "timestamp", "properties"], prefix: prefix ?? "")
            var properties: [String: String] = [:]
            if let object = try body.object("properties") {
                for (key, value) in object {
                    switch value {
                    case .string(let text): properties[key] = text
                    case .int(let number): properties[key] = String(number)
                    case .bool(let flag): properties[key] = flag ? "true" : "false"
                    default:
                        throw APIError.invalid(
                            "properties.\(key) is a string, an integer or a boolean (send decimals as strings: \"1.5\")",
                            param: "properties.\(key)")
                    }
                }
            }
            let timestamp: Date? = body.fields["timestamp"] == nil || body.fields["timestamp"] == .null ? nil : try time(body, "timestamp")
            let eventID = try body.requiredString("event_id", maxBytes: 128)
            let customer = try body.requiredString("customer")
            let code = try body.requiredString("code", maxBytes: 64)
            do {
                return (id, .success(try UsageEvent(id: eventID, customerID: customer, metricCode: code, timestamp: timestamp, properties: properties)))
            } catch {
                throw APIError(error)
            }
        } catch {
            return (id, .failure(error))
        }
    }

    func ingest(_ parsed: [(id: String?, event: Result<UsageEvent, APIError>)], merchantID: String) async throws -> [UsageResult] {
        var valid: [UsageEvent] = []
        var slots: [Int] = []
        var results = parsed.map { item in
            switch item.event {
            case .success: UsageResult(eventID: item.id, status: "accepted")
            case .failure(let error): UsageResult(eventID: item.id, status: "rejected", error: error)
            }
        }
        for (index, item) in parsed.enumerated() {
            if case .success(let event) = item.event {
                valid.append(event)
                slots.append(index)
            }
        }
        guard !valid.isEmpty else { return results }
        let outcomes = try await billing.ingestUsage(valid, merchantID: merchantID)
        for (slot, outcome) in zip(slots, outcomes) {
            switch outcome {
            case .accepted: results[slot].status = "accepted"
            case .duplicate: results[slot].status = "duplicate"
            case .rejected(let error):
                results[slot].status = "rejected"
                results[slot].error = APIError(error)
            }
        }
        return results
    }
}

extension TillServer {
    /// A price's `usage` object: the metric and the model that prices it.
    static func meteredPricing(_ body: RequestBody) throws(APIError) -> MeteredPricing? {
        guard let object = try body.object("usage") else { return nil }
        let usage = try RequestBody(
            fields: object,
            allowed: ["billable_metric", "usage_model", "unit_amount_decimal", "package_size", "package_amount", "free_units", "tiers"],
            prefix: "usage")
        func decimal(_ value: JSONValue?, _ param: String) throws(APIError) -> UsageDecimal {
            do {
                switch value {
                case .string(let text)?: return try UsageDecimal(parsing: text)
                case .int(let number)?: return UsageDecimal(number)
                case nil, .null?: throw APIError.missing(param)
                default: throw APIError.invalid("\(param) is a decimal string such as \"0.06\"", param: param)
                }
            } catch let error as BillingError {
                throw APIError.invalid("\(param): \(error.message)", param: param)
            } catch let error as APIError {
                throw error
            } catch {
                throw APIError.invalid("\(param) is a decimal string", param: param)
            }
        }
        let model: UsageModel
        switch try usage.requiredString("usage_model") {
        case "per_unit":
            model = .perUnit(unitAmount: try decimal(usage.fields["unit_amount_decimal"], "usage.unit_amount_decimal"))
        case "package":
            guard let size = try usage.integer("package_size") else { throw APIError.missing("usage.package_size") }
            guard let amount = try usage.integer("package_amount") else { throw APIError.missing("usage.package_amount") }
            model = .package(size: size, amount: amount, freeUnits: try usage.integer("free_units") ?? 0)
        case let name where name == "graduated" || name == "volume":
            guard case .array(let items)? = usage.fields["tiers"] else {
                throw APIError.invalid("usage.tiers is an array of {up_to, unit_amount_decimal, flat_amount}", param: "usage.tiers")
            }
            var tiers: [UsageTier] = []
            for (index, item) in items.enumerated() {
                let param = "usage.tiers[\(index)]"
                guard case .object(let fields) = item else { throw APIError.invalid("\(param) must be an object", param: param) }
                let tier = try RequestBody(fields: fields, allowed: ["up_to", "unit_amount_decimal", "flat_amount"], prefix: param)
                let upTo: UsageDecimal? =
                    tier.fields["up_to"] == .string("inf") ? nil : try decimal(tier.fields["up_to"], param + ".up_to")
                let unit = tier.fields["unit_amount_decimal"] == nil ? .zero : try decimal(tier.fields["unit_amount_decimal"], param + ".unit_amount_decimal")
                tiers.append(UsageTier(upTo: upTo, unitAmount: unit, flatAmount: try tier.integer("flat_amount") ?? 0))
            }
            model = name == "graduated" ? .graduated(tiers) : .volume(tiers)
        default:
            throw APIError.invalid("usage.usage_model is per_unit, package, graduated or volume", param: "usage.usage_model")
        }
        do {
            return try MeteredPricing(metricID: try usage.requiredString("billable_metric"), model: model)
        } catch let error as BillingError {
            throw APIError(error)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.invalid("usage is invalid", param: "usage")
        }
    }
}

extension TillServer {
    /// The email outbox: what billing sent (or will send) to customers, and how it went.
    func addEmailRoutes(to v1: RouterGroup<TillRequestContext>) {
        billingGet("emails", on: v1) { request, merchant, _ in
            let query = request.uri.queryParameters
            let page = try await self.billing.emails(
                merchantID: merchant, customerID: try Self.eventQueryValue(query, "customer"),
                invoiceID: try Self.eventQueryValue(query, "invoice"),
                startingAfter: try Self.eventQueryValue(query, "starting_after"), limit: try Self.limit(query))
            return try Self.billingList(page, id: \.id, BillingViews.email)
        }
        // The message as it was sent, for a developer on the sandbox (its in-memory
        // mailbox); a daemon that sends through SMTP keeps no copies.
        v1.get("emails/:id/message") { _, context in
            let caller = try context.requireSecretKey()
            let email = try await self.billing.email(id: try context.parameters.require("id"), merchantID: caller.merchantID)
            guard let mailbox = self.mailbox else {
                throw APIError(
                    .notFound, .notFound, code: "message_not_kept",
                    "only a sandbox daemon keeps sent messages; this one sends through SMTP")
            }
            let marker = Array("Message-ID: <\(email.id)@till>".utf8)
            guard let delivery = await mailbox.messages.last(where: { Array($0.message).firstRange(of: marker) != nil }) else {
                throw APIError(.notFound, .notFound, code: "message_not_kept", "email \(email.id) is not in the sandbox mailbox (not sent yet, or rotated out)")
            }
            var headers = HTTPFields()
            headers[.contentType] = "message/rfc822"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: delivery.message)))
        }
        billingGet("emails/:id", on: v1) { _, merchant, context in
            BillingViews.email(try await self.billing.email(id: try context.parameters.require("id"), merchantID: merchant))
        }
    }
}
