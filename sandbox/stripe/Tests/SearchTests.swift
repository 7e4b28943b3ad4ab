import Foundation
import Testing

@Suite("Stripe sandbox: PaymentIntent search")
struct SearchTests {
    @Test("search finds intents by metadata, status and currency, and refuses what it cannot parse")
    func search() async throws {
        try await StripeHarness.withSandbox { stripe in
            for (tag, manual) in [("a'1", true), ("b", false)] {
                _ = try await stripe.post(
                    "/v1/payment_intents",
                    [
                        ("amount", "1000"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
                        ("capture_method", manual ? "manual" : "automatic"), ("metadata[tag]", tag),
                    ])
            }
            let byTag = try await stripe.get("/v1/payment_intents/search", [("query", #"metadata['tag']:'a\'1'"#)])
            #expect(byTag.status == 200)
            #expect(byTag["object"] as? String == "search_result")
            #expect(byTag.json.list().map { $0.object("metadata").string("tag") } == ["a'1"])
            let either = try await stripe.get(
                "/v1/payment_intents/search", [("query", "status:'succeeded' OR status:'requires_capture'"), ("limit", "1")])
            #expect(either.json.list().count == 1)
            #expect(either["has_more"] as? Bool == true)
            let next = try await stripe.get(
                "/v1/payment_intents/search",
                [("query", "status:'succeeded' OR status:'requires_capture'"), ("page", either["next_page"] as? String ?? "")])
            #expect(next.json.list().count == 1)
            let negated = try await stripe.get("/v1/payment_intents/search", [("query", "-status:'succeeded' AND currency:'USD'")])
            #expect(negated.json.list().map { $0.string("status") } == ["requires_capture"])
            for bad in ["", "customer:'x'", "status>'a'", "status:'a' AND amount:1 OR currency:'usd'", "metadata:'x'"] {
                let reply = try await stripe.get("/v1/payment_intents/search", [("query", bad)])
                #expect(reply.status == 400, "query \(bad)")
                #expect(reply.error.string("param") == "query" || bad.isEmpty)
            }
        }
    }
}
