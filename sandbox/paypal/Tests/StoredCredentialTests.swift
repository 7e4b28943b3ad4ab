import Foundation
import PayPalSandbox
import TillHTTP
import TillTesting
import Testing

@Suite("PayPal-like sandbox: payment_source.card.stored_credential")
struct StoredCredentialTests {
    static func order(card: String = PayPalHarness.visa, stored: [String: Any]?) -> [String: Any] {
        var order = PayPalHarness.order(card: nil)
        var source: [String: Any] = ["number": card, "expiry": "2035-12", "security_code": "123"]
        if let stored { source["stored_credential"] = stored }
        order["payment_source"] = ["card": source]
        return order
    }

    static var saving: [String: Any] { ["payment_initiator": "CUSTOMER", "payment_type": "UNSCHEDULED", "usage": "FIRST"] }
    static var renewal: [String: Any] { ["payment_initiator": "MERCHANT", "payment_type": "RECURRING", "usage": "SUBSEQUENT"] }

    @Test func theInitiatorIsRecordedInTheLedger() async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        for stored in [Self.saving, Self.renewal, nil] {
            let created = try await harness.call(.POST, "/v2/checkout/orders", json: Self.order(stored: stored))
            #expect(created.status == 201)
            #expect(created.json["status"] as? String == "COMPLETED")
        }
        let initiators = try await harness.ledger().map { $0["initiator"] as? String }
        #expect(initiators == ["customer_saving_card", "merchant", "customer"])
    }

    @Test func aMerchantInitiatedChargeOnACardThatNeedsAuthenticationIsDeclined() async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        let threeDS = "4000002760003184"
        let present = try await harness.call(.POST, "/v2/checkout/orders", json: Self.order(card: threeDS, stored: Self.saving))
        #expect(present.json["status"] as? String == "PAYER_ACTION_REQUIRED")
        let absent = try await harness.call(.POST, "/v2/checkout/orders", json: Self.order(card: threeDS, stored: Self.renewal))
        #expect(absent.status == 422)
        #expect(absent.issue == "INSTRUMENT_DECLINED")
        #expect((absent.json["details"] as? [[String: Any]])?.first?["value"] as? String == "5650")
        #expect(try await harness.ledger().isEmpty)
    }

    @Test func unknownValuesAndIncompatibleOnesAreRefused() async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        let unknown = try await harness.call(
            .POST, "/v2/checkout/orders",
            json: Self.order(stored: ["payment_initiator": "ROBOT", "payment_type": "RECURRING"]))
        #expect(unknown.status == 400)
        #expect(unknown.issue == "INVALID_PARAMETER_VALUE")
        let type = try await harness.call(
            .POST, "/v2/checkout/orders", json: Self.order(stored: ["payment_initiator": "CUSTOMER", "payment_type": "WEEKLY"]))
        #expect(type.status == 400)
        let usage = try await harness.call(
            .POST, "/v2/checkout/orders",
            json: Self.order(stored: ["payment_initiator": "CUSTOMER", "payment_type": "RECURRING", "usage": "LAST"]))
        #expect(usage.status == 400)
        let missing = try await harness.call(.POST, "/v2/checkout/orders", json: Self.order(stored: ["payment_type": "RECURRING"]))
        #expect(missing.status == 400)
        #expect(missing.issue == "MISSING_REQUIRED_PARAMETER")
        let extra = try await harness.call(
            .POST, "/v2/checkout/orders",
            json: Self.order(stored: ["payment_initiator": "CUSTOMER", "payment_type": "RECURRING", "mood": "good"]))
        #expect(extra.status == 400)
        #expect(extra.issue == "UNKNOWN_FIELD")
        let firstByMerchant = try await harness.call(
            .POST, "/v2/checkout/orders",
            json: Self.order(stored: ["payment_initiator": "MERCHANT", "payment_type": "RECURRING", "usage": "FIRST"]))
        #expect(firstByMerchant.status == 422)
        #expect(firstByMerchant.issue == "INCOMPATIBLE_PARAMETER_VALUE")
        #expect(try await harness.ledger().isEmpty)
    }
}
