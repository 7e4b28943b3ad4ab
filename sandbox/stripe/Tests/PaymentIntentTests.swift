import Foundation
import StripeSandbox
import Testing
import TillHTTP
import TillTesting

@Suite("Stripe sandbox: PaymentIntents, charges and cards")
struct PaymentIntentTests {
    @Test func automaticCaptureSucceedsAndRecordsTheLedger() async throws {
        try await StripeHarness.withSandbox { stripe in
            let intent = try await stripe.pay("pm_card_visa", amount: 1234)
            #expect(intent.status == 200)
            #expect(intent["object"] as? String == "payment_intent")
            #expect(intent["status"] as? String == "succeeded")
            #expect(intent["amount_received"] as? Int == 1234)
            #expect(intent["amount_capturable"] as? Int == 0)
            let chargeID = try #require(intent["latest_charge"] as? String)
            let charge = try await stripe.get("/v1/charges/\(chargeID)")
            #expect(charge["captured"] as? Bool == true)
            #expect(charge["amount_captured"] as? Int == 1234)
            #expect(charge["payment_intent"] as? String == intent.id)
            #expect(charge.json.object("payment_method_details").object("card").string("last4") == "4242")
            let kinds = try await stripe.ledger().compactMap { $0.string("kind") }
            #expect(kinds == ["authorization", "capture"])
        }
    }

    @Test func manualCaptureIsPartialAndExpandsTheLatestCharge() async throws {
        try await StripeHarness.withSandbox { stripe in
            let intent = try await stripe.pay("pm_card_mastercard", amount: 5000, manual: true)
            #expect(intent["status"] as? String == "requires_capture")
            #expect(intent["amount_capturable"] as? Int == 5000)
            let captured = try await stripe.post(
                "/v1/payment_intents/\(intent.id)/capture", [("amount_to_capture", "3000"), ("expand[0]", "latest_charge")])
            #expect(captured["status"] as? String == "succeeded")
            #expect(captured["amount_received"] as? Int == 3000)
            let charge = captured.json.object("latest_charge")
            #expect(charge.string("object") == "charge")
            #expect(charge.int("amount_captured") == 3000)
            let again = try await stripe.post("/v1/payment_intents/\(intent.id)/capture")
            #expect(again.status == 400)
            #expect(again.error.string("code") == "payment_intent_unexpected_state")
            let ledger = try await stripe.ledger()
            #expect(ledger.last?.string("kind") == "capture")
            #expect(ledger.last?.int("amount") == 3000)
        }
    }

    @Test func captureBeyondTheAuthorizationIsRefused() async throws {
        try await StripeHarness.withSandbox { stripe in
            let intent = try await stripe.pay("pm_card_visa", amount: 500, manual: true)
            let over = try await stripe.post("/v1/payment_intents/\(intent.id)/capture", [("amount_to_capture", "501")])
            #expect(over.status == 400)
            #expect(over.error.string("code") == "amount_too_large")
            #expect(over.error.string("param") == "amount_to_capture")
        }
    }

    @Test func cancelReleasesTheAuthorization() async throws {
        try await StripeHarness.withSandbox { stripe in
            let intent = try await stripe.pay("pm_card_visa", amount: 700, manual: true)
            let canceled = try await stripe.post(
                "/v1/payment_intents/\(intent.id)/cancel", [("cancellation_reason", "abandoned")])
            #expect(canceled["status"] as? String == "canceled")
            #expect(canceled["cancellation_reason"] as? String == "abandoned")
            #expect(canceled["canceled_at"] as? Int != nil)
            let kinds = try await stripe.ledger().compactMap { $0.string("kind") }
            #expect(kinds == ["authorization", "void"])
            let twice = try await stripe.post("/v1/payment_intents/\(intent.id)/cancel")
            #expect(twice.status == 400)
        }
    }

    @Test func createThenConfirmWithACreatedPaymentMethod() async throws {
        try await StripeHarness.withSandbox { stripe in
            let intent = try await stripe.post("/v1/payment_intents", [("amount", "999"), ("currency", "EUR")])
            #expect(intent["status"] as? String == "requires_payment_method")
            #expect(intent["currency"] as? String == "eur")
            let method = try await stripe.post(
                "/v1/payment_methods",
                [
                    ("type", "card"), ("card[number]", "4242424242424242"), ("card[exp_month]", "12"),
                    ("card[exp_year]", "2045"), ("card[cvc]", "123"), ("billing_details[name]", "Jenny Rosen"),
                ])
            #expect(method.status == 200)
            #expect(method["object"] as? String == "payment_method")
            #expect(method.json.object("card").string("brand") == "visa")
            #expect(!method.bodyText.contains("4242424242424242"))
            let fetched = try await stripe.get("/v1/payment_methods/\(method.id)")
            #expect(fetched.id == method.id)
            let confirmed = try await stripe.post(
                "/v1/payment_intents/\(intent.id)/confirm", [("payment_method", method.id)])
            #expect(confirmed["status"] as? String == "succeeded")
            #expect(confirmed["payment_method"] as? String == method.id)
            let retrieved = try await stripe.get("/v1/payment_intents/\(intent.id)", [("expand[]", "payment_method")])
            #expect(retrieved.json.object("payment_method").string("id") == method.id)
        }
    }

    @Test func rawCardDataInline() async throws {
        try await StripeHarness.withSandbox { stripe in
            let intent = try await stripe.post(
                "/v1/payment_intents",
                [
                    ("amount", "100"), ("currency", "usd"), ("confirm", "true"),
                    ("payment_method_data[type]", "card"), ("payment_method_data[card][number]", "5555555555554444"),
                    ("payment_method_data[card][exp_month]", "3"), ("payment_method_data[card][exp_year]", "2044"),
                ])
            #expect(intent["status"] as? String == "succeeded")
            let bad = try await stripe.post(
                "/v1/payment_methods",
                [("type", "card"), ("card[number]", "4242424242424241"), ("card[exp_month]", "3"), ("card[exp_year]", "2044")])
            #expect(bad.status == 402)
            #expect(bad.error.string("code") == "incorrect_number")
            let expired = try await stripe.post(
                "/v1/payment_methods",
                [("type", "card"), ("card[number]", "4242424242424242"), ("card[exp_month]", "3"), ("card[exp_year]", "2001")])
            #expect(expired.status == 402)
            #expect(expired.error.string("code") == "invalid_expiry_year")
        }
    }

    @Test(arguments: [
        ("pm_card_visa_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_visa_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_visa_chargeDeclinedLostCard", "card_declined", "lost_card"),
        ("pm_card_visa_chargeDeclinedStolenCard", "card_declined", "stolen_card"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"),
        ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", "incorrect_cvc"),
        ("pm_card_chargeDeclinedProcessingError", "processing_error", "processing_error"),
    ])
    func declinesAre402WithTheIntent(method: String, code: String, declineCode: String) async throws {
        try await StripeHarness.withSandbox { stripe in
            let reply = try await stripe.pay(method)
            #expect(reply.status == 402)
            let error = reply.error
            #expect(error.string("type") == "card_error")
            #expect(error.string("code") == code)
            #expect(error.string("decline_code") == declineCode)
            let intent = error.object("payment_intent")
            #expect(intent.string("status") == "requires_payment_method")
            #expect(intent.object("last_payment_error").string("decline_code") == declineCode)
            let id = try #require(intent.string("id"))
            let stored = try await stripe.get("/v1/payment_intents/\(id)")
            #expect(stored["status"] as? String == "requires_payment_method")
            let charge = try await stripe.get("/v1/charges/\(try #require(error.string("charge")))")
            #expect(charge["status"] as? String == "failed")
            #expect(charge["failure_code"] as? String == code)
            #expect(try await stripe.ledger().isEmpty)
        }
    }

    @Test func declinesByRawNumberMatchTheAliases() async throws {
        try await StripeHarness.withSandbox { stripe in
            for (number, decline) in [
                ("4000000000000002", "generic_decline"), ("4000000000009995", "insufficient_funds"),
                ("4000000000009987", "lost_card"), ("4000000000009979", "stolen_card"),
                ("4000000000000069", "expired_card"), ("4000000000000127", "incorrect_cvc"),
                ("4000000000000119", "processing_error"),
            ] {
                let reply = try await stripe.post(
                    "/v1/payment_intents",
                    [
                        ("amount", "100"), ("currency", "usd"), ("confirm", "true"),
                        ("payment_method_data[type]", "card"), ("payment_method_data[card][number]", number),
                        ("payment_method_data[card][exp_month]", "3"), ("payment_method_data[card][exp_year]", "2044"),
                    ])
                #expect(reply.status == 402)
                #expect(reply.error.string("decline_code") == decline)
            }
        }
    }

    @Test func threeDSecureThroughTheSandboxPage() async throws {
        try await StripeHarness.withSandbox { stripe in
            let intent = try await stripe.pay("pm_card_authenticationRequired", manual: true)
            #expect(intent["status"] as? String == "requires_action")
            let next = intent.json.object("next_action")
            #expect(next.string("type") == "redirect_to_url")
            let url = try #require(next.object("redirect_to_url").string("url"))
            #expect(url.hasPrefix(stripe.sandbox.baseURL + "/_sandbox/3ds/"))
            let page = try await stripe.http.execute(HTTPRequest(url: url))
            #expect(page.status == 200)
            #expect(String(decoding: page.body, as: UTF8.self).contains("Complete authentication"))
            let done = try await stripe.http.execute(
                HTTPRequest(
                    method: .POST, url: url + "/complete",
                    headers: ["Content-Type": "application/x-www-form-urlencoded"], body: Array("result=succeed".utf8)))
            #expect(done.status == 200)
            let after = try await stripe.get("/v1/payment_intents/\(intent.id)")
            #expect(after["status"] as? String == "requires_capture")
            #expect(after["amount_capturable"] as? Int == 1000)
        }
    }

    @Test func failedThreeDSecureLeavesTheIntentWithoutAPaymentMethod() async throws {
        try await StripeHarness.withSandbox { stripe in
            let intent = try await stripe.post(
                "/v1/payment_intents",
                [
                    ("amount", "100"), ("currency", "usd"), ("confirm", "true"), ("payment_method_data[type]", "card"),
                    ("payment_method_data[card][number]", "4000002760003184"),
                    ("payment_method_data[card][exp_month]", "3"), ("payment_method_data[card][exp_year]", "2044"),
                ])
            #expect(intent["status"] as? String == "requires_action")
            let failed = try await stripe.admin("/_sandbox/3ds/\(intent.id)/complete?result=fail")
            #expect(failed.status == 200)
            #expect(failed["status"] as? String == "requires_payment_method")
            #expect(failed.json.object("last_payment_error").string("code") == "payment_intent_authentication_failure")
        }
    }

    @Test func listsPaginateNewestFirstWithCursors() async throws {
        try await StripeHarness.withSandbox { stripe in
            var ids: [String] = []
            for amount in 1...5 {
                ids.append(try await stripe.post("/v1/payment_intents", [("amount", "\(amount)"), ("currency", "usd")]).id)
            }
            let first = try await stripe.get("/v1/payment_intents", [("limit", "2")])
            #expect(first["object"] as? String == "list")
            #expect(first["url"] as? String == "/v1/payment_intents")
            #expect(first.json.list().compactMap { $0.string("id") } == [ids[4], ids[3]])
            #expect(first["has_more"] as? Bool == true)
            let second = try await stripe.get("/v1/payment_intents", [("limit", "2"), ("starting_after", ids[3])])
            #expect(second.json.list().compactMap { $0.string("id") } == [ids[2], ids[1]])
            let last = try await stripe.get("/v1/payment_intents", [("limit", "2"), ("starting_after", ids[1])])
            #expect(last.json.list().compactMap { $0.string("id") } == [ids[0]])
            #expect(last["has_more"] as? Bool == false)
            let back = try await stripe.get("/v1/payment_intents", [("limit", "2"), ("ending_before", ids[1])])
            #expect(back.json.list().compactMap { $0.string("id") } == [ids[3], ids[2]])
            let tooMany = try await stripe.get("/v1/payment_intents", [("limit", "101")])
            #expect(tooMany.status == 400)
        }
    }
}

extension StripeHarness.Reply {
    var bodyText: String { String(decoding: body, as: UTF8.self) }
}
