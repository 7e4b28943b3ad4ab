import Foundation
import SandboxSupport
import StripeGateway
import Testing
import TillCore
import TillGateway
import TillTesting

@Suite("StripeGateway operations over HTTP")
struct StripeOperationTests {
    @Test("a manual authorization holds the funds and tags the intent with Till's references")
    func manualApproval() async throws {
        try await StripeGatewayHarness.with { h in
            let request = Fixtures.authorize()
            let result = try #require(await h.gateway.authorize(request).value)
            #expect(result.state == .authorized)
            #expect(result.amount == Fixtures.money(5_000))
            #expect(result.gatewayPaymentReference.hasPrefix("pi_"))
            let entries = h.ledger
            #expect(entries.map(\.kind) == [.authorization])
            #expect(entries.first?.idempotencyKey == request.reference.idempotencyKey)
            // The same key again is a replay, not a second authorization.
            let again = try #require(await h.gateway.authorize(request).value)
            #expect(again.gatewayPaymentReference == result.gatewayPaymentReference)
            #expect(h.ledger.count == 1)
        }
    }

    @Test("an automatic authorization is captured at once")
    func automaticApproval() async throws {
        try await StripeGatewayHarness.with { h in
            let result = try #require(await h.gateway.authorize(Fixtures.authorize(mode: .automatic)).value)
            guard case .captured(let charge) = result.state else {
                Issue.record("expected a captured authorization, got \(result.state)")
                return
            }
            #expect(charge.hasPrefix("ch_"))
            #expect(h.ledger.map(\.kind) == [.authorization, .capture])
        }
    }

    @Test(
        "each decline card maps into the taxonomy, keeping Stripe's codes and the intent",
        arguments: [
            ("4000000000000002", DeclineCode.cardDeclined, "card_declined", "generic_decline"),
            ("4000000000009995", .insufficientFunds, "card_declined", "insufficient_funds"),
            ("4000000000009987", .lostOrStolen, "card_declined", "lost_card"),
            ("4000000000009979", .lostOrStolen, "card_declined", "stolen_card"),
            ("4000000000000069", .expiredCard, "expired_card", "expired_card"),
            ("4000000000000127", .incorrectCVC, "incorrect_cvc", "incorrect_cvc"),
            ("4000000000000119", .processingError, "processing_error", "processing_error"),
        ])
    func declines(number: String, code: DeclineCode, gatewayCode: String, declineCode: String) async throws {
        try await StripeGatewayHarness.with { h in
            let decline = try #require(await h.gateway.authorize(Fixtures.authorize(number)).decline)
            #expect(decline.code == code)
            #expect(decline.gatewayCode == gatewayCode)
            #expect(decline.gatewayDeclineCode == declineCode)
            #expect(!decline.message.isEmpty)
            #expect(decline.gatewayReference?.hasPrefix("pi_") == true)
            #expect(h.ledger.isEmpty)
        }
    }

    @Test("a card that needs 3-D Secure asks for a redirect")
    func threeDSecure() async throws {
        try await StripeGatewayHarness.with { h in
            let result = try #require(await h.gateway.authorize(Fixtures.authorize("4000002760003184")).value)
            guard case .requiresAction(let url) = result.state else {
                Issue.record("expected requiresAction, got \(result.state)")
                return
            }
            #expect(url?.contains("/_sandbox/3ds/\(result.gatewayPaymentReference)") == true)
            #expect(h.ledger.isEmpty)
        }
    }

    @Test("a partial capture is final: a second capture is refused in the intent's state")
    func partialCapture() async throws {
        try await StripeGatewayHarness.with { h in
            let auth = try #require(await h.gateway.authorize(Fixtures.authorize()).value)
            let payment = auth.gatewayPaymentReference
            let capture = try #require(
                await h.gateway.capture(
                    CaptureRequest(reference: Fixtures.reference("capture"), gatewayPaymentReference: payment, amount: Fixtures.money(3_000))
                ).value)
            #expect(capture.amount == Fixtures.money(3_000))
            #expect(capture.captureReference.hasPrefix("ch_"))
            let second = try #require(
                await h.gateway.capture(
                    CaptureRequest(reference: Fixtures.reference("capture"), gatewayPaymentReference: payment, amount: Fixtures.money(1_000))
                ).decline)
            #expect(second.code == .invalidState)
            #expect(second.gatewayCode == "payment_intent_unexpected_state")
            #expect(!h.gateway.capabilities.multipleCaptures)
            #expect(h.ledger.map(\.amount) == [5_000, 3_000])
        }
    }

    @Test("several partial refunds, then an over-refund is declined as an invalid request")
    func refunds() async throws {
        try await StripeGatewayHarness.with { h in
            let auth = try #require(await h.gateway.authorize(Fixtures.authorize(mode: .automatic)).value)
            let payment = auth.gatewayPaymentReference
            for amount: Int64 in [1_000, 1_500] {
                let refund = try #require(
                    await h.gateway.refund(
                        RefundRequest(reference: Fixtures.reference("refund"), gatewayPaymentReference: payment, amount: Fixtures.money(amount))
                    ).value)
                #expect(refund.state == .succeeded)
                #expect(refund.amount == Fixtures.money(amount))
            }
            let over = try #require(
                await h.gateway.refund(
                    RefundRequest(reference: Fixtures.reference("refund"), gatewayPaymentReference: payment, amount: Fixtures.money(2_501))
                ).decline)
            #expect(over.code == .invalidRequest)
            #expect(over.gatewayCode == "amount_too_large")
            #expect(h.ledger.filter { $0.kind == .refund }.map(\.amount) == [1_000, 1_500])
        }
    }

    @Test("a void cancels the intent; voiding again is refused in its state")
    func void() async throws {
        try await StripeGatewayHarness.with { h in
            let auth = try #require(await h.gateway.authorize(Fixtures.authorize()).value)
            let voided = try #require(
                await h.gateway.void(
                    VoidRequest(reference: Fixtures.reference("void"), gatewayPaymentReference: auth.gatewayPaymentReference)
                ).value)
            #expect(voided.gatewayReference == auth.gatewayPaymentReference)
            #expect(h.ledger.map(\.kind) == [.authorization, .void])
            let again = try #require(
                await h.gateway.void(
                    VoidRequest(reference: Fixtures.reference("void"), gatewayPaymentReference: auth.gatewayPaymentReference)
                ).decline)
            #expect(again.code == .invalidState)
        }
    }

    @Test("status finds captures, voids and refunds by Till's references")
    func statusLookups() async throws {
        try await StripeGatewayHarness.with { h in
            let auth = try #require(await h.gateway.authorize(Fixtures.authorize()).value)
            let payment = auth.gatewayPaymentReference
            let captureRef = Fixtures.reference("capture")
            let before = await h.gateway.status(
                StatusLookup(reference: captureRef, kind: .capture, amount: Fixtures.money(5_000), gatewayPaymentReference: payment))
            #expect(before.value == .notFound)
            _ = await h.gateway.capture(CaptureRequest(reference: captureRef, gatewayPaymentReference: payment, amount: Fixtures.money(5_000)))
            let after = try #require(
                await h.gateway.status(
                    StatusLookup(reference: captureRef, kind: .capture, amount: Fixtures.money(5_000), gatewayPaymentReference: payment)
                ).value)
            guard case .succeeded(let charge, _) = after else {
                Issue.record("expected the capture to be found, got \(after)")
                return
            }
            #expect(charge.hasPrefix("ch_"))

            let refundRef = Fixtures.reference("refund")
            let missing = await h.gateway.status(
                StatusLookup(reference: refundRef, kind: .refund, amount: Fixtures.money(100), gatewayPaymentReference: payment))
            #expect(missing.value == .notFound)
            let refund = try #require(
                await h.gateway.refund(RefundRequest(reference: refundRef, gatewayPaymentReference: payment, amount: Fixtures.money(100))).value)
            let found = await h.gateway.status(
                StatusLookup(reference: refundRef, kind: .refund, amount: Fixtures.money(100), gatewayPaymentReference: payment))
            #expect(found.value == .succeeded(gatewayReference: refund.refundReference, payment: nil))

            let unknownTxn = await h.gateway.status(
                StatusLookup(reference: Fixtures.reference(), kind: .authorize, amount: Fixtures.money(5_000)))
            #expect(unknownTxn.value == .notFound)
        }
    }

    @Test("dispute evidence is submitted and a dispute can be accepted")
    func disputes() async throws {
        try await StripeGatewayHarness.with { h in
            var disputes: [String] = []
            for _ in 0..<2 {
                let auth = try #require(await h.gateway.authorize(Fixtures.authorize("4000000000000259", mode: .automatic)).value)
                let payment = auth.gatewayPaymentReference
                let received = try await h.receiver.wait { received in
                    received.json?["type"] as? String == "charge.dispute.created"
                        && ((received.json?["data"] as? [String: Any])?["object"] as? [String: Any])?["payment_intent"] as? String == payment
                }
                let object = try #require((received.json?["data"] as? [String: Any])?["object"] as? [String: Any])
                disputes.append(try #require(object["id"] as? String))
            }
            let submitted = try #require(
                await h.gateway.submitDisputeEvidence(
                    DisputeEvidenceRequest(
                        disputeReference: disputes[0],
                        evidence: DisputeEvidence(productDescription: "Shoes", uncategorizedText: "delivered, signed"),
                        idempotencyKey: "dp-evidence-1")
                ).value)
            #expect(submitted == DisputeResult(disputeReference: disputes[0], status: .underReview))
            let accepted = try #require(
                await h.gateway.acceptDispute(DisputeAcceptRequest(disputeReference: disputes[1], idempotencyKey: "dp-accept-1")).value)
            #expect(accepted == DisputeResult(disputeReference: disputes[1], status: .accepted))
        }
    }
}
