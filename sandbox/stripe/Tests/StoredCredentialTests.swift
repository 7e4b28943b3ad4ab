import Foundation
import StripeSandbox
import Testing
import TillHTTP
import TillTesting

@Suite("Stripe sandbox: off_session and setup_future_usage")
struct StoredCredentialTests {
    static func confirm(_ method: String, _ extra: [(String, String)]) -> [(String, String)] {
        [("amount", "1000"), ("currency", "usd"), ("payment_method", method), ("confirm", "true"), ("capture_method", "manual")]
            + extra
    }

    @Test func theFlagsAreRecordedOnTheIntentAndTheLedger() async throws {
        try await StripeHarness.withSandbox { stripe in
            let saving = try await stripe.post(
                "/v1/payment_intents", Self.confirm("pm_card_visa", [("setup_future_usage", "off_session")]))
            #expect(saving.status == 200)
            #expect(saving["setup_future_usage"] as? String == "off_session")
            let renewal = try await stripe.post("/v1/payment_intents", Self.confirm("pm_card_visa", [("off_session", "true")]))
            #expect(renewal.status == 200)
            #expect(renewal["status"] as? String == "requires_capture")
            let oneOff = try await stripe.post("/v1/payment_intents", Self.confirm("pm_card_visa", [("off_session", "one_off")]))
            #expect(oneOff.status == 200)
            let plain = try await stripe.post("/v1/payment_intents", Self.confirm("pm_card_visa", []))
            #expect(plain["setup_future_usage"] is NSNull)
            let initiators = try await stripe.ledger().map { $0.string("initiator") }
            #expect(initiators == ["customer_saving_card", "merchant", "merchant", "customer"])
        }
    }

    @Test func anOffSessionChargeOnACardThatNeedsAuthenticationDeclines() async throws {
        try await StripeHarness.withSandbox { stripe in
            let present = try await stripe.post("/v1/payment_intents", Self.confirm("pm_card_authenticationRequired", []))
            #expect(present["status"] as? String == "requires_action")
            let absent = try await stripe.post(
                "/v1/payment_intents", Self.confirm("pm_card_authenticationRequired", [("off_session", "true")]))
            #expect(absent.status == 402)
            #expect(absent.error.string("type") == "card_error")
            #expect(absent.error.string("code") == "authentication_required")
            #expect(absent.error.string("decline_code") == "authentication_required")
            let intent = absent.error.object("payment_intent")
            #expect(intent.string("status") == "requires_payment_method")
            #expect(try await stripe.ledger().isEmpty)
        }
    }

    @Test func unknownValuesAreRefused() async throws {
        try await StripeHarness.withSandbox { stripe in
            let usage = try await stripe.post(
                "/v1/payment_intents", Self.confirm("pm_card_visa", [("setup_future_usage", "forever")]))
            #expect(usage.status == 400)
            #expect(usage.error.string("param") == "setup_future_usage")
            let off = try await stripe.post("/v1/payment_intents", Self.confirm("pm_card_visa", [("off_session", "maybe")]))
            #expect(off.status == 400)
            #expect(off.error.string("param") == "off_session")
            // Off-session means confirming now, without the customer.
            let unconfirmed = try await stripe.post(
                "/v1/payment_intents", [("amount", "1000"), ("currency", "usd"), ("off_session", "true")])
            #expect(unconfirmed.status == 400)
            #expect(unconfirmed.error.string("param") == "off_session")
            #expect(try await stripe.ledger().isEmpty)
        }
    }
}
