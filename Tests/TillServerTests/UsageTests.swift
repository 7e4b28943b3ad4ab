import Foundation
import TillCore
import TillTesting
import Testing

/// Usage-based billing over HTTP: metrics, events (one and in batches), usage billed in
/// arrears at the period end, and late events corrected on the next invoice.
@Suite("Usage billing over HTTP")
struct UsageTests {
    /// Lago's volume table (0.10¢, 0.08¢, 0.06¢, 0.04¢ a unit, $10 a tier), as tiers.
    static let lagoTiers = """
        [{"up_to": 10000, "unit_amount_decimal": "0.1", "flat_amount": 1000},
         {"up_to": 50000, "unit_amount_decimal": "0.08", "flat_amount": 1000},
         {"up_to": 100000, "unit_amount_decimal": "0.06", "flat_amount": 1000},
         {"up_to": "inf", "unit_amount_decimal": "0.04", "flat_amount": 1000}]
        """

    static func meteredPrice(_ harness: DaemonHarness, metric: String, model: String) async throws -> String {
        let product = try #require(try await harness.post("/v1/products", #"{"name": "API calls"}"#, expect: 201)["id"].string)
        let body = #"{"product": "\#(product)", "currency": "usd", "recurring": {"interval": "month"}, "usage": {"billable_metric": "\#(metric)", "usage_model": "\#(model)", "tiers": \#(lagoTiers)}}"#
        let price = try await harness.post("/v1/prices", body, expect: 201)
        #expect(price["usage_type"].string == "metered")
        return try #require(price["id"].string)
    }

    static func event(_ id: String, _ customer: String, _ code: String = "api_calls", calls: String = "1", at time: String) -> String {
        #"{"event_id": "\#(id)", "customer": "\#(customer)", "code": "\#(code)", "timestamp": "\#(time)", "properties": {"calls": "\#(calls)"}}"#
    }

    @Test("a month of usage is billed at the period end (graduated $81, volume $49 on 65,000 calls); a late event is corrected on the next invoice")
    func usageInArrears() async throws {
        try await DaemonHarness.with { harness in
            let clock = try await harness.clock("2024-04-01T00:00:00Z")
            let metric = try await harness.post(
                "/v1/billable_metrics", #"{"code": "api_calls", "name": "API calls", "aggregation": "sum", "property": "calls"}"#,
                expect: 201)
            let metricID = try #require(metric["id"].string)
            let duplicate = try await harness.error(
                "/v1/billable_metrics", #"{"code": "api_calls", "name": "again", "aggregation": "count"}"#)
            #expect(duplicate.status == 409)
            let graduated = try await Self.meteredPrice(harness, metric: metricID, model: "graduated")
            let volume = try await Self.meteredPrice(harness, metric: metricID, model: "volume")
            let base = try await harness.price(1500, "usd")
            let customer = try await harness.customer(clock: clock)
            let subscription = try await harness.post(
                "/v1/subscriptions",
                #"{"customer": "\#(customer)", "items": [{"price": "\#(base)"}, {"price": "\#(graduated)"}, {"price": "\#(volume)"}]}"#,
                expect: 201)
            let subscriptionID = try #require(subscription["id"].string)
            #expect(try await harness.invoices(customer).map { $0["total"].int } == [1500])

            try await harness.advance(clock, to: "2024-04-19T12:00:00Z")
            let batch = [
                Self.event("e1", customer, calls: "30000", at: "2024-04-17T10:00:00Z"),
                Self.event("e2", customer, calls: "35000", at: "2024-04-19T00:00:00Z"),
                Self.event("e1", customer, calls: "30000", at: "2024-04-17T10:00:00Z"),
                Self.event("e3", customer, "no_such_metric", at: "2024-04-19T00:00:00Z"),
                Self.event("e4", "cus_missing", at: "2024-04-19T00:00:00Z"),
                Self.event("e5", customer, at: "2024-04-20T12:00:00Z"),
                Self.event("e6", customer, calls: "many", at: "2024-04-19T00:00:00Z"),
                Self.event("e7", customer, at: "2024-04-01T00:00:00Z"),
                #"{"customer": "\#(customer)", "code": "api_calls"}"#,
            ]
            let answer = try await harness.post("/v1/usage_events", #"{"events": [\#(batch.joined(separator: ","))]}"#)
            let results = answer["data"].array
            #expect(results.map { $0["status"].string } == [
                "accepted", "accepted", "duplicate", "rejected", "rejected", "rejected", "rejected", "rejected", "rejected",
            ])
            #expect(results.map { $0["error"]["code"].string } == [
                nil, nil, nil, "unknown_metric", "resource_missing", "timestamp_in_future", "property_not_numeric",
                "timestamp_too_old", "parameter_missing",
            ])
            #expect(answer["accepted"].int == 2)
            #expect(answer["duplicates"].int == 1)
            #expect(answer["rejected"].int == 6)

            let usage = try await harness.get("/v1/subscriptions/\(subscriptionID)/usage")
            #expect(usage["data"].array.map { $0["quantity"].string } == ["65000", "65000"])
            #expect(usage["data"].array.map { $0["amount"].int } == [8100, 4900])
            let upcoming = try await harness.get("/v1/subscriptions/\(subscriptionID)/upcoming_invoice")
            #expect(upcoming["total"].int == 1500 + 8100 + 4900)
            #expect(try await harness.invoices(customer).count == 1, "a preview writes nothing")

            try await harness.advance(clock, to: "2024-05-01T00:00:00Z")
            var invoices = try await harness.invoices(customer)
            #expect(invoices.map { $0["total"].int } == [1500, 14500])
            #expect(invoices.map { $0["status"].string } == ["paid", "paid"])
            let april = BillingTests.lines(invoices[1]).filter { $0["usage_quantity"].string != nil }
            #expect(april.map { $0["amount"].int } == [8100, 4900])
            #expect(april.map { $0["period"]["start"].string } == ["2024-04-01T00:00:00Z", "2024-04-01T00:00:00Z"])

            // An hour late, for April, after April's invoice is final.
            let late = try await harness.post(
                "/v1/usage_events", Self.event("late-1", customer, calls: "1000", at: "2024-04-30T23:00:00Z"), expect: 201)
            #expect(late["status"].string == "accepted")
            let again = try await harness.post(
                "/v1/usage_events", Self.event("late-1", customer, calls: "1000", at: "2024-04-30T23:00:00Z"), expect: 200)
            #expect(again["status"].string == "duplicate")
            let refused = try await harness.error("/v1/usage_events", Self.event("x", customer, calls: "1.5.0", at: "2024-04-30T23:00:00Z"))
            #expect(refused.status == 400)
            #expect(refused.code == "property_not_numeric")

            try await harness.advance(clock, to: "2024-06-01T00:00:00Z")
            invoices = try await harness.invoices(customer)
            #expect(invoices.count == 3)
            #expect(invoices[1]["total"].int == 14500, "April's invoice is never changed")
            let june = BillingTests.lines(invoices[2])
            let corrections = june.filter { $0["description"].string?.contains("late usage correction") == true }
            // 66,000 calls: graduated 8,160 (+60), volume 66,000 × 0.06 + 1,000 = 4,960 (+60).
            #expect(corrections.map { $0["amount"].int } == [60, 60])
            #expect(corrections.map { $0["usage_quantity"].string } == ["1000", "1000"])
            #expect(invoices[2]["total"].int == 1500 + 0 + 0 + 60 + 60)
        }
    }
}
