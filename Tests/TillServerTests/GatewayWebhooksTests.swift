import Foundation
import SandboxSupport
import StripeSandbox
import TillHTTP
import TillServer
import TillStore
import TillCrypto
import TillTesting
import Testing

@Suite("Gateway webhooks in")
struct GatewayWebhooksTests {
    @Test("a refund that settles later ends succeeded through the gateway's webhook")
    func pendingRefundSettles() async throws {
        try await DaemonHarness.with { harness in
            let token = try await harness.tokenize("4000000000007726")
            let created = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 3000, "currency": "usd", "token": "\#(token)"}"#)
            #expect(created.status == 201, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            let refund = try await harness.call(.POST, "/v1/payments/\(id)/refunds", json: #"{"amount": 1000}"#)
            #expect(refund.status == 201, "\(refund.text)")
            #expect(refund.json["status"] as? String == "pending")
            let refundID = try #require(refund.json["id"] as? String)

            let settled = try await eventually {
                let payment = try await harness.call(.GET, "/v1/payments/\(id)")
                let transactions = payment.json["transactions"] as? [[String: Any]] ?? []
                let status = transactions.first { $0["id"] as? String == refundID }?["status"] as? String
                return status == "succeeded" ? payment : nil
            }
            #expect(settled.json["status"] as? String == "partially_refunded")
            #expect(settled.json["amount_refunded"] as? Int == 1000)
            let ledger = try await harness.stripeAdmin.ledger()
            #expect(ledger.filter { $0.kind == .refund }.map(\.amount) == [1000])
        }
    }

    @Test("a bad or missing signature is a 400 naming the reason, and changes nothing")
    func badSignature() async throws {
        try await DaemonHarness.with { harness in
            let (id, before) = try await capturedPayment(harness)
            let body = refundEvent(eventID: "evt_forged", refundID: "re_forged", paymentID: id, amount: 700)
            let forged = try await harness.call(
                .POST, "/v1/gateways/stripe/webhooks", json: body, key: "",
                headers: ["Stripe-Signature": signature(body, secret: "whsec_not_the_secret")])
            #expect(forged.status == 400, "\(forged.text)")
            #expect(forged.errorCode == "signature_mismatch")
            let unsigned = try await harness.call(.POST, "/v1/gateways/stripe/webhooks", json: body, key: "")
            #expect(unsigned.status == 400)
            #expect(unsigned.errorCode == "missing_signature")
            let stale = try await harness.call(
                .POST, "/v1/gateways/stripe/webhooks", json: body, key: "",
                headers: ["Stripe-Signature": signature(body, secret: harness.stripe.webhookSecret, at: Date().addingTimeInterval(-3600))])
            #expect(stale.status == 400)
            #expect(stale.errorCode == "timestamp_outside_tolerance")
            let unknownGateway = try await harness.call(.POST, "/v1/gateways/nope/webhooks", json: body, key: "")
            #expect(unknownGateway.status == 404)

            let after = try await harness.call(.GET, "/v1/payments/\(id)")
            #expect(after.json["amount_refunded"] as? Int == 0)
            #expect((after.json["transactions"] as? [Any])?.count == (before.json["transactions"] as? [Any])?.count)
            #expect(try await harness.daemon.server.store.hasGatewayEvent(gateway: "stripe", eventID: "evt_forged") == false)
        }
    }

    @Test("a replayed event changes nothing; the same refund under a new event id is recognised too")
    func replayedEvent() async throws {
        try await DaemonHarness.with { harness in
            let (id, created) = try await capturedPayment(harness)
            let secret = harness.stripe.webhookSecret
            // Confirmation reads the refund from the gateway, so it must exist there: made
            // outside Till, straight at the sandbox's API.
            let intent = try #require(created.json["gateway_payment_reference"] as? String)
            let outside = try await outsideRefund(harness, intent: intent, paymentID: id, amount: 500)
            let body = refundEvent(eventID: "evt_outside_1", refundID: outside, paymentID: id, amount: 500)
            func deliver(_ body: String) async throws -> DaemonHarness.Answer {
                try await harness.call(
                    .POST, "/v1/gateways/stripe/webhooks", json: body, key: "",
                    headers: ["Stripe-Signature": signature(body, secret: secret)])
            }
            let first = try await deliver(body)
            #expect(first.status == 200, "\(first.text)")
            // The sandbox's own refund webhook may have applied it first.
            #expect(["applied", "unchanged"].contains(first.json["result"] as? String))
            let replay = try await deliver(body)
            #expect(replay.status == 200)
            #expect(replay.json["result"] as? String == "duplicate")
            let again = try await deliver(refundEvent(eventID: "evt_outside_2", refundID: outside, paymentID: id, amount: 500))
            #expect(again.status == 200)
            #expect(again.json["result"] as? String == "unchanged")

            let payment = try await harness.call(.GET, "/v1/payments/\(id)")
            #expect(payment.json["amount_refunded"] as? Int == 500)
            #expect(payment.json["status"] as? String == "partially_refunded")
            let refunds = (payment.json["transactions"] as? [[String: Any]] ?? []).filter { $0["type"] as? String == "refund" }
            #expect(refunds.count == 1)
            #expect(refunds.first?["origin"] as? String == "gateway")

            let unknown = try await deliver(refundEvent(eventID: "evt_other", refundID: "re_other", paymentID: "pay_nobody", amount: 1))
            #expect(unknown.status == 200)
            // The gateway has no such refund: nothing to apply, whoever it names.
            #expect(unknown.json["result"] as? String == "unconfirmed")
            let garbage = "{\"id\": \"evt_x\"}"
            let malformed = try await deliver(garbage)
            #expect(malformed.status == 400)
            #expect(malformed.errorCode == "malformed_payload")
        }
    }

    @Test("an event signed with the real secret applies the gateway's amount, and a dispute the gateway lacks is unconfirmed")
    func leakedSecret() async throws {
        try await DaemonHarness.with { harness in
            let (id, created) = try await capturedPayment(harness)
            let secret = harness.stripe.webhookSecret
            func deliver(_ body: String) async throws -> DaemonHarness.Answer {
                try await harness.call(
                    .POST, "/v1/gateways/stripe/webhooks", json: body, key: "",
                    headers: ["Stripe-Signature": signature(body, secret: secret)])
            }
            let intent = try #require(created.json["gateway_payment_reference"] as? String)
            let outside = try await outsideRefund(harness, intent: intent, paymentID: id, amount: 300)
            // The body claims the whole payment was refunded; the gateway says 300.
            let inflated = try await deliver(refundEvent(eventID: "evt_inflated", refundID: outside, paymentID: id, amount: 2000))
            #expect(inflated.status == 200, "\(inflated.text)")
            let settled = try await eventually {
                let payment = try await harness.call(.GET, "/v1/payments/\(id)")
                return payment.json["amount_refunded"] as? Int == 300 ? payment : nil
            }
            #expect(settled.json["status"] as? String == "partially_refunded")

            let sentAt = Int(Date().timeIntervalSince1970)
            let dispute = """
                {"id": "evt_forged_dispute", "object": "event", "type": "charge.dispute.created", "created": \(sentAt), \
                "data": {"object": {"id": "du_nonexistent", "object": "dispute", "amount": 2000, "currency": "usd", \
                "status": "needs_response", "reason": "fraudulent", "payment_intent": "\(intent)"}}}
                """
            let forged = try await deliver(dispute)
            #expect(forged.status == 200, "\(forged.text)")
            #expect(forged.json["result"] as? String == "unconfirmed")
            let after = try await harness.call(.GET, "/v1/payments/\(id)")
            #expect(after.json["status"] as? String == "partially_refunded")
            #expect(after.json["amount_refunded"] as? Int == 300)
            #expect(try await harness.daemon.server.store.hasGatewayEvent(gateway: "stripe", eventID: "evt_forged_dispute") == false)
        }
    }

    @Test("while the gateway cannot confirm an event the daemon answers 503 and records nothing; a redelivery applies it")
    func gatewayDownDuringConfirmation() async throws {
        try await DaemonHarness.with { harness in
            let (id, created) = try await capturedPayment(harness)
            let intent = try #require(created.json["gateway_payment_reference"] as? String)
            let outside = try await outsideRefund(harness, intent: intent, paymentID: id, amount: 500)
            try await harness.stripeAdmin.inject(FaultRule(kind: .error, status: 503, method: "GET"))
            let body = refundEvent(eventID: "evt_while_down", refundID: outside, paymentID: id, amount: 500)
            func deliver() async throws -> DaemonHarness.Answer {
                try await harness.call(
                    .POST, "/v1/gateways/stripe/webhooks", json: body, key: "",
                    headers: ["Stripe-Signature": signature(body, secret: harness.stripe.webhookSecret)])
            }
            let down = try await deliver()
            #expect(down.status == 503, "\(down.text)")
            #expect(down.headers.first(name: "Retry-After") != nil)
            #expect(try await harness.daemon.server.store.hasGatewayEvent(gateway: "stripe", eventID: "evt_while_down") == false)

            try await harness.stripeAdmin.clearFaults()
            let redelivered = try await deliver()
            #expect(redelivered.status == 200, "\(redelivered.text)")
            // The sandbox's own refund webhook, retried once the gateway answers, may come first.
            #expect(["applied", "unchanged"].contains(redelivered.json["result"] as? String), "\(redelivered.text)")
            let settled = try await eventually {
                let payment = try await harness.call(.GET, "/v1/payments/\(id)")
                return payment.json["amount_refunded"] as? Int == 500 ? payment : nil
            }
            #expect(settled.json["status"] as? String == "partially_refunded")
        }
    }
}

/// A captured 2000 USD payment through Stripe: its id and its answer.
private func capturedPayment(_ harness: DaemonHarness) async throws -> (String, DaemonHarness.Answer) {
    let token = try await harness.tokenize()
    let created = try await harness.call(.POST, "/v1/payments", json: #"{"amount": 2000, "currency": "usd", "token": "\#(token)"}"#)
    guard created.status == 201, let id = created.json["id"] as? String else {
        throw TestFailure(description: "payment failed: \(created.text)")
    }
    return (id, created)
}

/// A refund made at the Stripe sandbox without Till; its id.
private func outsideRefund(_ harness: DaemonHarness, intent: String, paymentID: String, amount: Int) async throws -> String {
    let form = "payment_intent=\(intent)&amount=\(amount)&metadata[till_payment]=\(paymentID)"
    let response = try await harness.http.execute(
        HTTPRequest(
            method: .POST, url: harness.stripe.baseURL + "/v1/refunds",
            headers: ["Authorization": "Bearer sk_test_till_sandbox", "Content-Type": "application/x-www-form-urlencoded"],
            body: Array(form.utf8)))
    let json = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
    guard response.status == 200, let id = json?["id"] as? String else {
        throw TestFailure(description: "outside refund failed: \(String(decoding: response.body, as: UTF8.self))")
    }
    return id
}

/// A Stripe `refund.updated` event for a refund that succeeded, naming Till's payment in
/// the metadata as the plugin does.
private func refundEvent(eventID: String, refundID: String, paymentID: String, amount: Int) -> String {
    let created = Int(Date().timeIntervalSince1970)
    return """
        {"id": "\(eventID)", "object": "event", "type": "refund.updated", "created": \(created), "data": {"object": \
        {"id": "\(refundID)", "object": "refund", "amount": \(amount), "currency": "usd", "status": "succeeded", \
        "metadata": {"till_payment": "\(paymentID)"}}}}
        """
}

/// `Stripe-Signature` for `body`.
private func signature(_ body: String, secret: String, at date: Date = Date()) -> String {
    let timestamp = Int(date.timeIntervalSince1970)
    let code = HMACSHA256.authenticationCode(for: Array("\(timestamp).\(body)".utf8), key: Array(secret.utf8))
    return "t=\(timestamp),v1=\(Hex.encode(code.bytes))"
}

/// Polls until `check` returns a value (at most about ten seconds, then fails).
