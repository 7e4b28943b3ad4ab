import Foundation
import StripeSandbox
import Testing
import TillHTTP
import TillTesting

@Suite("Stripe sandbox: wire protocol, errors, idempotency, events and webhooks")
struct ProtocolTests {
    @Test func nestedIndexedAndEscapedFormParameters() async throws {
        try await StripeHarness.withSandbox { stripe in
            let body =
                "amount=100&currency=usd&metadata[order+id]=A%26B+c&metadata%5Bnote%5D=caf%C3%A9&description=two+words"
                + "&expand[]=latest_charge&payment_method=pm_card_visa&confirm=true"
            let reply = try await stripe.call(.POST, "/v1/payment_intents", rawBody: body)
            #expect(reply.status == 200)
            #expect(reply.json.object("metadata").string("order id") == "A&B c")
            #expect(reply.json.object("metadata").string("note") == "café")
            #expect(reply["description"] as? String == "two words")
            #expect(reply.json.object("latest_charge").string("object") == "charge")
            let query = try await stripe.call(.GET, "/v1/payment_intents/\(reply.id)?expand%5B0%5D=latest_charge")
            #expect(query.json.object("latest_charge").string("id") != nil)
        }
    }

    @Test func apiKeysRequestIDsAndVersions() async throws {
        try await StripeHarness.withSandbox { stripe in
            let none = try await stripe.call(.GET, "/v1/payment_intents", key: nil)
            #expect(none.status == 401)
            #expect(none.error.string("type") == "invalid_request_error")
            let live = try await stripe.call(.GET, "/v1/payment_intents", key: "sk_live_abcdef123456")
            #expect(live.status == 401)
            #expect(live.error.string("message")?.contains("abcdef123456") == false)
            let ok = try await stripe.call(
                .GET, "/v1/payment_intents", headers: [("Stripe-Version", "2099-01-01.preview")])
            #expect(ok.status == 200)
            let unknownURL = try await stripe.get("/v1/nothing_here")
            #expect(unknownURL.status == 404)
            #expect(unknownURL.error.string("type") == "invalid_request_error")
            var ids = Set<String>()
            for reply in [none, live, ok, unknownURL] {
                let id = try #require(reply.headers.first(name: "Request-Id"))
                #expect(id.hasPrefix("req_"))
                ids.insert(id)
            }
            #expect(ids.count == 4)
        }
    }

    @Test func badInputGetsStripeErrorsNeverA500() async throws {
        try await StripeHarness.withSandbox { stripe in
            let cases: [(String, String, String?)] = [
                ("amount=0&currency=usd", "amount", "amount_too_small"),
                ("amount=-5&currency=usd", "amount", "amount_too_small"),
                ("amount=10.50&currency=usd", "amount", "parameter_invalid_integer"),
                ("amount=abc&currency=usd", "amount", "parameter_invalid_integer"),
                ("amount=100&currency=xyz", "currency", "parameter_invalid_string"),
                ("amount=100&currency=xau", "currency", "parameter_invalid_string"),
                ("amount=100", "currency", "parameter_missing"),
                ("amount=100&currency=usd&bogus=1", "bogus", "parameter_unknown"),
                ("amount=100&currency=usd&metadata=x&metadata[a]=b", "", nil),
                ("amount=100&currency=usd&capture_method=later", "capture_method", "parameter_invalid_string"),
                ("amount=%ZZ&currency=usd", "", nil),
                ("amount[a]]=1", "", nil),
                ("{\"amount\": 100}", "", nil),
            ]
            for (body, param, code) in cases {
                let reply = try await stripe.call(.POST, "/v1/payment_intents", rawBody: body)
                #expect(reply.status == 400, "\(body)")
                #expect(reply.error.string("type") == "invalid_request_error", "\(body)")
                if let code { #expect(reply.error.string("code") == code, "\(body)") }
                if !param.isEmpty { #expect(reply.error.string("param") == param, "\(body)") }
            }
            let huge = String(repeating: "a", count: 300_000)
            let oversized = try await stripe.call(.POST, "/v1/payment_intents", rawBody: "description=" + huge)
            #expect(oversized.status == 413)
            #expect(oversized.error.string("type") == "invalid_request_error")
            let missing = try await stripe.post("/v1/payment_intents/pi_nope/confirm")
            #expect(missing.status == 404)
            #expect(missing.error.string("code") == "resource_missing")
            #expect(try await stripe.pay("pm_nope").status == 400)
            #expect(try await stripe.ledger().isEmpty)
        }
    }

    @Test func idempotentReplayIsByteForByte() async throws {
        try await StripeHarness.withSandbox { stripe in
            let form = [("amount", "1500"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")]
            let first = try await stripe.post("/v1/payment_intents", form, headers: [("Idempotency-Key", "key-1")])
            let again = try await stripe.post("/v1/payment_intents", form, headers: [("Idempotency-Key", "key-1")])
            #expect(again.status == first.status)
            #expect(again.body == first.body)
            // TillHTTP may keep the line end on the last header it parsed: compare trimmed.
            #expect(again.headers.first(name: "Idempotent-Replayed")?.trimmingCharacters(in: .whitespacesAndNewlines) == "true")
            #expect(first.headers.first(name: "Idempotent-Replayed") == nil)
            #expect(again.headers.first(name: "Request-Id") == first.headers.first(name: "Request-Id"))
            let listed = try await stripe.get("/v1/payment_intents")
            #expect(listed.json.list().count == 1)
            #expect(try await stripe.ledger().count == 2)

            let different = try await stripe.post(
                "/v1/payment_intents", [("amount", "1"), ("currency", "usd")], headers: [("Idempotency-Key", "key-1")])
            #expect(different.status == 400)
            #expect(different.error.string("type") == "idempotency_error")

            let declined = try await stripe.post(
                "/v1/payment_intents",
                [("amount", "10"), ("currency", "usd"), ("payment_method", "pm_card_visa_chargeDeclined"), ("confirm", "true")],
                headers: [("Idempotency-Key", "key-2")])
            let declinedAgain = try await stripe.post(
                "/v1/payment_intents",
                [("amount", "10"), ("currency", "usd"), ("payment_method", "pm_card_visa_chargeDeclined"), ("confirm", "true")],
                headers: [("Idempotency-Key", "key-2")])
            #expect(declined.status == 402)
            #expect(declinedAgain.body == declined.body)
        }
    }

    @Test func everyStateChangeIsASignedEvent() async throws {
        try await StripeHarness.withSandbox { stripe in
            let intent = try await stripe.pay("pm_card_visa", amount: 900, manual: true)
            _ = try await stripe.post("/v1/payment_intents/\(intent.id)/capture", [("amount_to_capture", "400")])
            _ = try await stripe.post("/v1/refunds", [("payment_intent", intent.id), ("amount", "100")])
            let expected = [
                "payment_intent.created", "charge.succeeded", "payment_intent.amount_capturable_updated",
                "charge.captured", "payment_intent.succeeded", "refund.created", "charge.refunded",
            ]
            let received = try await stripe.receiver.wait(count: expected.count)
            let types = Set(received.compactMap { $0.json?["type"] as? String })
            #expect(types == Set(expected))
            for request in received {
                let header = try #require(request.headers["stripe-signature"])
                #expect(header.hasPrefix("t="))
                #expect(StripeWebhookSignature.isValid(header: header, payload: request.body, secret: StripeHarness.secret))
                #expect(!StripeWebhookSignature.isValid(header: header, payload: request.body, secret: "whsec_other"))
                // Recompute independently of the sandbox's helper: HMAC-SHA256 of "<t>.<body>".
                let parts = Dictionary(
                    uniqueKeysWithValues: header.split(separator: ",").map {
                        let pair = $0.split(separator: "=", maxSplits: 1)
                        return (String(pair[0]), String(pair[1]))
                    })
                let t = try #require(parts["t"].flatMap { Int64($0) })
                #expect(
                    parts["v1"] == StripeWebhookSignature.signature(payload: request.body, secret: StripeHarness.secret, timestamp: t))
            }
            let events = try await stripe.get("/v1/events", [("limit", "100")])
            #expect(events.json.list().count == expected.count)
            #expect(events.json.list().first?.string("type") == "refund.created" || events.json.list().first?.string("type") == "charge.refunded")
            let one = try #require(received.first?.json?["id"] as? String)
            let fetched = try await stripe.get("/v1/events/\(one)")
            #expect(fetched.body == received.first?.body)
            let filtered = try await stripe.get("/v1/events", [("type", "charge.*")])
            #expect(filtered.json.list().allSatisfy { $0.string("type")?.hasPrefix("charge.") == true })
            #expect(filtered.json.list().count == 3)
        }
    }

    @Test func webhooksAreRetriedAfterFailures() async throws {
        try await StripeHarness.withSandbox { stripe in
            stripe.receiver.failNext(2)
            _ = try await stripe.post("/v1/payment_intents", [("amount", "100"), ("currency", "usd")])
            let received = try await stripe.receiver.wait(count: 3)
            #expect(received.allSatisfy { $0.json?["type"] as? String == "payment_intent.created" })
            try await stripe.eventually("the delivery to be recorded") {
                let deliveries = try await stripe.adminGet("/_sandbox/webhooks").json.list()
                return deliveries.first?["delivered"] as? Bool == true && deliveries.first?.int("attempts") == 3
            }
        }
    }

    @Test func injectedFaultsUseStripesErrorShape() async throws {
        try await StripeHarness.withSandbox { stripe in
            let rule = try await stripe.admin("/_sandbox/faults", json: #"{"kind": "error", "status": 503, "count": 1}"#)
            #expect(rule.status == 201)
            let failed = try await stripe.post("/v1/payment_intents", [("amount", "100"), ("currency", "usd")])
            #expect(failed.status == 503)
            #expect(failed.error.string("type") == "api_error")
            #expect(failed.headers.first(name: "Request-Id") != nil)
            let next = try await stripe.post("/v1/payment_intents", [("amount", "100"), ("currency", "usd")])
            #expect(next.status == 200)

            _ = try await stripe.admin("/_sandbox/faults", json: #"{"kind": "drop_after_commit", "count": 1}"#)
            // A fresh client: libcurl silently resends a request whose reused connection
            // closed before any answer, which would hide the lost response.
            let fresh = try HTTPClient()
            await #expect(throws: HTTPClientError.self) {
                _ = try await fresh.execute(
                    HTTPRequest(
                        method: .POST, url: stripe.sandbox.baseURL + "/v1/payment_intents",
                        headers: ["Authorization": "Bearer \(StripeHarness.key)"],
                        body: Array("amount=4321&currency=usd&payment_method=pm_card_visa&confirm=true".utf8)))
            }
            await fresh.shutdown()
            let ledger = try await stripe.ledger()
            #expect(ledger.contains { $0.int("amount") == 4321 && $0.string("kind") == "capture" })
        }
    }

    @Test func resetForgetsEverything() async throws {
        try await StripeHarness.withSandbox { stripe in
            let intent = try await stripe.pay("pm_card_visa")
            #expect(try await stripe.admin("/_sandbox/reset").status == 200)
            #expect(try await stripe.get("/v1/payment_intents/\(intent.id)").status == 404)
            #expect(try await stripe.ledger().isEmpty)
            #expect(try await stripe.get("/v1/events").json.list().isEmpty)
        }
    }

    @Test func concurrentCreationsAreAllKept() async throws {
        try await StripeHarness.withSandbox { stripe in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        try await stripe.pay("pm_card_visa", amount: 100 + index).status
                    }
                }
                for try await status in group { #expect(status == 200) }
            }
            let listed = try await stripe.get("/v1/payment_intents", [("limit", "100")])
            #expect(listed.json.list().count == 40)
            #expect(try await stripe.ledger().count == 80)
        }
    }
}
