import Foundation
import StripeSandbox
import Testing
import TillHTTP
import TillTesting

@Suite("Stripe sandbox: refunds and disputes")
struct RefundDisputeTests {
    @Test func partialAndRepeatedRefundsUntilFullyRefunded() async throws {
        try await StripeHarness.withSandbox { stripe in
            let intent = try await stripe.pay("pm_card_visa", amount: 1000)
            let first = try await stripe.post("/v1/refunds", [("payment_intent", intent.id), ("amount", "300")])
            #expect(first.status == 200)
            #expect(first["object"] as? String == "refund")
            #expect(first["status"] as? String == "succeeded")
            let chargeID = try #require(intent["latest_charge"] as? String)
            let second = try await stripe.post("/v1/refunds", [("charge", chargeID), ("amount", "200")])
            #expect(second["charge"] as? String == chargeID)
            let over = try await stripe.post("/v1/refunds", [("payment_intent", intent.id), ("amount", "501")])
            #expect(over.status == 400)
            #expect(over.error.string("code") == "amount_too_large")
            let rest = try await stripe.post("/v1/refunds", [("payment_intent", intent.id)])
            #expect(rest["amount"] as? Int == 500)
            let done = try await stripe.post("/v1/refunds", [("payment_intent", intent.id)])
            #expect(done.status == 400)
            #expect(done.error.string("code") == "charge_already_refunded")
            let charge = try await stripe.get("/v1/charges/\(chargeID)")
            #expect(charge["amount_refunded"] as? Int == 1000)
            #expect(charge["refunded"] as? Bool == true)
            let listed = try await stripe.get("/v1/refunds", [("payment_intent", intent.id)])
            #expect(listed.json.list().compactMap { $0.string("id") } == [rest.id, second.id, first.id])
            #expect(try await stripe.get("/v1/refunds/\(first.id)")["amount"] as? Int == 300)
            let refunds = try await stripe.ledger().filter { $0.string("kind") == "refund" }
            #expect(refunds.compactMap { $0.int("amount") } == [300, 200, 500])
        }
    }

    @Test func refundOfAnUncapturedIntentIsRefused() async throws {
        try await StripeHarness.withSandbox { stripe in
            let intent = try await stripe.pay("pm_card_visa", manual: true)
            let refused = try await stripe.post("/v1/refunds", [("payment_intent", intent.id)])
            #expect(refused.status == 400)
            let missing = try await stripe.post("/v1/refunds", [("amount", "5")])
            #expect(missing.status == 400)
        }
    }

    @Test func pendingRefundThenSucceeds() async throws {
        try await StripeHarness.withSandbox { stripe in
            let intent = try await stripe.pay("pm_card_pendingRefund")
            let refund = try await stripe.post("/v1/refunds", [("payment_intent", intent.id)])
            #expect(refund["status"] as? String == "pending")
            try await stripe.eventually("the refund to succeed") {
                try await stripe.get("/v1/refunds/\(refund.id)")["status"] as? String == "succeeded"
            }
            let kinds = try await stripe.ledger().compactMap { $0.string("kind") }
            #expect(kinds == ["authorization", "capture", "refund"])
            _ = try await stripe.receiver.wait { $0.json?["type"] as? String == "refund.updated" }
        }
    }

    @Test func refundSucceedsThenFails() async throws {
        try await StripeHarness.withSandbox { stripe in
            let intent = try await stripe.pay("pm_card_refundFail", amount: 800)
            let refund = try await stripe.post("/v1/refunds", [("payment_intent", intent.id), ("amount", "800")])
            #expect(refund["status"] as? String == "succeeded")
            try await stripe.eventually("the refund to fail") {
                try await stripe.get("/v1/refunds/\(refund.id)")["status"] as? String == "failed"
            }
            let failed = try await stripe.get("/v1/refunds/\(refund.id)")
            #expect(failed["failure_reason"] as? String != nil)
            let charge = try await stripe.get("/v1/charges/\(try #require(intent["latest_charge"] as? String))")
            #expect(charge["amount_refunded"] as? Int == 0)
            let kinds = try await stripe.ledger().compactMap { $0.string("kind") }
            #expect(kinds == ["authorization", "capture", "refund", "refund_failure"])
            _ = try await stripe.receiver.wait { $0.json?["type"] as? String == "refund.failed" }
        }
    }

    @Test(arguments: [
        ("pm_card_createDispute", "fraudulent", "needs_response"),
        ("pm_card_createDisputeProductNotReceived", "product_not_received", "needs_response"),
        ("pm_card_createDisputeInquiry", "general", "warning_needs_response"),
    ])
    func disputeCardsAreDisputedAfterCapture(method: String, reason: String, status: String) async throws {
        try await StripeHarness.withSandbox { stripe in
            let intent = try await stripe.pay(method, amount: 2500, manual: true)
            _ = try await stripe.post("/v1/payment_intents/\(intent.id)/capture")
            var dispute: [String: Any] = [:]
            try await stripe.eventually("the dispute") {
                dispute = try await stripe.get("/v1/disputes", [("payment_intent", intent.id)]).json.list().first ?? [:]
                return !dispute.isEmpty
            }
            #expect(dispute.string("reason") == reason)
            #expect(dispute.string("status") == status)
            #expect(dispute.int("amount") == 2500)
            let chargebacks = try await stripe.ledger().filter { $0.string("kind") == "chargeback" }
            #expect(chargebacks.count == (status == "needs_response" ? 1 : 0))
            let byCharge = try await stripe.get("/v1/disputes", [("charge", try #require(intent["latest_charge"] as? String))])
            #expect(byCharge.json.list().count == 1)
            #expect(try await stripe.get("/v1/disputes", [("charge", "ch_other")]).json.list().isEmpty)
        }
    }

    @Test func winningEvidenceWinsAndReversesTheChargeback() async throws {
        try await StripeHarness.withSandbox { stripe in
            let intent = try await stripe.pay("pm_card_visa", amount: 4000)
            let opened = try await stripe.admin(
                "/_sandbox/disputes", json: #"{"payment": "\#(intent.id)", "reason": "fraudulent", "stage": "chargeback"}"#)
            #expect(opened.status == 201)
            let updated = try await stripe.post(
                "/v1/disputes/\(opened.id)", [("evidence[uncategorized_text]", "winning_evidence"), ("metadata[case]", "1")])
            #expect(updated["status"] as? String == "under_review")
            #expect(updated.json.object("evidence").string("uncategorized_text") == "winning_evidence")
            try await stripe.eventually("the dispute to be won") {
                try await stripe.get("/v1/disputes/\(opened.id)")["status"] as? String == "won"
            }
            let kinds = try await stripe.ledger().compactMap { $0.string("kind") }
            #expect(kinds == ["authorization", "capture", "chargeback", "chargeback_reversal"])
            _ = try await stripe.receiver.wait { $0.json?["type"] as? String == "charge.dispute.funds_reinstated" }
        }
    }

    @Test func losingEvidenceLoses() async throws {
        try await StripeHarness.withSandbox { stripe in
            let intent = try await stripe.pay("pm_card_visa", amount: 4000)
            let opened = try await stripe.admin("/_sandbox/disputes", json: #"{"payment": "\#(intent.id)"}"#)
            _ = try await stripe.post("/v1/disputes/\(opened.id)", [("evidence[product_description]", "losing_evidence")])
            try await stripe.eventually("the dispute to be lost") {
                try await stripe.get("/v1/disputes/\(opened.id)")["status"] as? String == "lost"
            }
            let kinds = try await stripe.ledger().compactMap { $0.string("kind") }
            #expect(kinds == ["authorization", "capture", "chargeback"])
            let refund = try await stripe.post("/v1/refunds", [("payment_intent", intent.id)])
            #expect(refund.status == 400)
            #expect(refund.error.string("code") == "charge_disputed")
        }
    }

    @Test func adminWinLoseAndCloseAndInquiries() async throws {
        try await StripeHarness.withSandbox { stripe in
            let first = try await stripe.pay("pm_card_visa", amount: 1000)
            let inquiry = try await stripe.admin(
                "/_sandbox/disputes", json: #"{"payment": "\#(first.id)", "reason": "general", "stage": "inquiry"}"#)
            #expect(inquiry["status"] as? String == "warning_needs_response")
            let won = try await stripe.admin("/_sandbox/disputes/\(inquiry.id)/win")
            #expect(won["status"] as? String == "warning_closed")
            #expect(try await stripe.admin("/_sandbox/disputes/\(inquiry.id)/lose").status == 400)

            let second = try await stripe.pay("pm_card_visa", amount: 600)
            let chargeback = try await stripe.admin("/_sandbox/disputes", json: #"{"payment": "\#(second.id)"}"#)
            let lost = try await stripe.admin("/_sandbox/disputes/\(chargeback.id)/lose")
            #expect(lost["status"] as? String == "lost")

            let third = try await stripe.pay("pm_card_visa", amount: 300)
            let accepted = try await stripe.admin("/_sandbox/disputes", json: #"{"payment": "\#(third.id)"}"#)
            let closed = try await stripe.post("/v1/disputes/\(accepted.id)/close")
            #expect(closed["status"] as? String == "lost")
            #expect(try await stripe.post("/v1/disputes/\(accepted.id)", [("evidence[receipt]", "x")]).status == 400)

            let all = try await stripe.get("/v1/disputes")
            #expect(all.json.list().count == 3)
            let chargebacks = try await stripe.ledger().filter { $0.string("kind") == "chargeback" }
            #expect(chargebacks.compactMap { $0.int("amount") } == [600, 300])
            #expect(try await stripe.admin("/_sandbox/disputes", json: #"{"payment": "pi_missing"}"#).status == 404)
            #expect(try await stripe.admin("/_sandbox/disputes", json: "not json").status == 400)
            #expect(try await stripe.admin("/_sandbox/disputes/dp_missing/win").status == 404)
        }
    }
}
