import Foundation
import TillHTTP
import TillTesting
import Testing

@Suite("Operations: health, readiness, metrics")
struct OperationsTests {
    @Test("/healthz answers without a key")
    func health() async throws {
        try await DaemonHarness.with { harness in
            let answer = try await harness.call(.GET, "/healthz", key: "")
            #expect(answer.status == 200)
            #expect(answer.json["status"] as? String == "ok")
            #expect(answer.headers["Request-Id"].first?.hasPrefix("req_") == true)
        }
    }

    @Test("/readyz reports the database and each configured gateway, without calling them")
    func readiness() async throws {
        try await DaemonHarness.with { harness in
            let before = try await harness.stripeAdmin.ledger().count
            let answer = try await harness.call(.GET, "/readyz", key: "")
            #expect(answer.status == 200, "\(answer.text)")
            #expect(answer.json["status"] as? String == "ready")
            let checks = try #require(answer.json["checks"] as? [String: Any])
            #expect(checks["database"] as? String == "ok")
            let gateways = try #require(checks["gateways"] as? [String: String])
            #expect(gateways == ["stripe": "configured", "paypal": "configured"])
            #expect(try await harness.stripeAdmin.ledger().count == before)
        }
    }

    @Test("/metrics counts requests by route and status, gateway calls by outcome, and shows the gauges")
    func metrics() async throws {
        try await DaemonHarness.with { harness in
            let token = try await harness.tokenize()
            let paid = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 1200, "currency": "usd", "token": "\#(token)"}"#)
            #expect(paid.status == 201, "\(paid.text)")
            let declinedToken = try await harness.tokenize("4000000000009995")
            let declined = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 1200, "currency": "usd", "token": "\#(declinedToken)"}"#)
            #expect(declined.status == 402)
            let id = try #require(paid.json["id"] as? String)
            _ = try await harness.call(.GET, "/v1/payments/\(id)")
            _ = try await harness.call(.GET, "/v1/payments/pay_doesnotexist")
            _ = try await harness.call(.GET, "/no/such/route", key: "")

            let answer = try await harness.call(.GET, "/metrics", key: "")
            #expect(answer.status == 200)
            #expect(answer.headers["Content-Type"].first?.hasPrefix("text/plain") == true)
            let text = answer.text
            func has(_ name: String, _ labels: [String]) -> Bool {
                text.split(separator: "\n").contains { line in
                    line.hasPrefix(name + "{") && labels.allSatisfy { line.contains($0) }
                }
            }
            #expect(has("till_http_requests_total", [#"method="POST""#, #"route="/v1/payments""#, #"status="201""#]), "\(text)")
            #expect(has("till_http_requests_total", [#"route="/v1/payments""#, #"status="402""#]))
            // Ids never become labels: the template does.
            #expect(has("till_http_requests_total", [#"route="/v1/payments/{id}""#, #"status="200""#]))
            #expect(has("till_http_requests_total", [#"route="/v1/payments/{id}""#, #"status="404""#]))
            #expect(has("till_http_requests_total", [#"route="unmatched""#, #"status="404""#]), "\(text)")
            #expect(!text.contains(id))
            #expect(has("till_http_request_duration_seconds_bucket", [#"route="/v1/tokens""#, #"status="201""#]))
            #expect(has("till_gateway_calls_total", [#"gateway="stripe""#, #"operation="authorize""#, #"outcome="succeeded""#]))
            #expect(has("till_gateway_calls_total", [#"gateway="stripe""#, #"operation="authorize""#, #"outcome="declined""#]))
            #expect(has("till_gateway_call_duration_seconds_count", [#"gateway="stripe""#, #"operation="capture""#]))
            #expect(text.contains("\ntill_outbox_depth ") || text.hasPrefix("till_outbox_depth "))
            #expect(text.contains("till_payments_in_flight 0"))
            // Nothing secret reaches the scrape.
            #expect(!text.contains(harness.secretKey) && !text.contains(harness.publishableKey))
            #expect(!text.contains("4242424242424242") && !text.contains(token))
        }
    }

    @Test("/openapi.json is served without a key")
    func openAPIServed() async throws {
        try await DaemonHarness.with { harness in
            let answer = try await harness.call(.GET, "/openapi.json", key: "")
            #expect(answer.status == 200)
            #expect(answer.json["openapi"] as? String == "3.1.0")
        }
    }
}
