import Foundation
import SandboxSupport
import TillHTTP
import TillTesting
import Testing

@Suite("Payments over HTTP")
struct PaymentFlowTests {
    @Test("tokenize, authorize, partially capture and refund, with the sandbox's ledger agreeing")
    func happyPath() async throws {
        try await DaemonHarness.with { harness in
            let token = try await harness.tokenize()
            let created = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 5000, "currency": "usd", "token": "\#(token)", "capture": "manual"}"#)
            #expect(created.status == 201, "\(created.text)")
            #expect(created.json["status"] as? String == "authorized")
            #expect(created.json["gateway"] as? String == "stripe")
            let id = try #require(created.json["id"] as? String)

            let captured = try await harness.call(.POST, "/v1/payments/\(id)/capture", json: #"{"amount": 3000}"#)
            #expect(captured.status == 200, "\(captured.text)")
            #expect(captured.json["status"] as? String == "captured")
            #expect(captured.json["amount_captured"] as? Int == 3000)

            let refunded = try await harness.call(.POST, "/v1/payments/\(id)/refunds", json: #"{"amount": 1000}"#)
            #expect(refunded.status == 201, "\(refunded.text)")
            let payment = try await harness.call(.GET, "/v1/payments/\(id)")
            #expect(payment.json["status"] as? String == "partially_refunded")
            #expect(payment.json["amount_refunded"] as? Int == 1000)

            let ledger = try await harness.stripeAdmin.ledger()
            #expect(ledger.map(\.kind) == [.authorization, .capture, .refund])
            #expect(ledger.map(\.amount) == [5000, 3000, 1000])
        }
    }

    @Test("a decline is a 402 with the taxonomy code and the gateway's raw words")
    func decline() async throws {
        try await DaemonHarness.with { harness in
            let token = try await harness.tokenize("4000000000009995")
            let answer = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 700, "currency": "usd", "token": "\#(token)"}"#)
            #expect(answer.status == 402, "\(answer.text)")
            let error = try #require(answer.json["error"] as? [String: Any])
            #expect(error["type"] as? String == "card_error")
            #expect(error["decline_code"] as? String == "insufficient_funds")
            #expect((error["gateway"] as? [String: Any])?["name"] as? String == "stripe")
            #expect((error["payment"] as? [String: Any])?["status"] as? String == "declined")
        }
    }

    @Test("initiator reaches the gateway; merchant-initiated on a 3-D Secure card is a 402 authentication_required")
    func initiator() async throws {
        try await DaemonHarness.with { harness in
            let token = try await harness.tokenize()
            let renewal = try await harness.call(
                .POST, "/v1/payments",
                json: #"{"amount": 700, "currency": "usd", "token": "\#(token)", "capture": "manual", "initiator": "merchant"}"#)
            #expect(renewal.status == 201, "\(renewal.text)")
            #expect(try await harness.stripeAdmin.ledger().map(\.initiator) == ["merchant"])

            let challenged = try await harness.tokenize("4000002760003184")
            let absent = try await harness.call(
                .POST, "/v1/payments",
                json: #"{"amount": 700, "currency": "usd", "token": "\#(challenged)", "initiator": "merchant"}"#)
            #expect(absent.status == 402, "\(absent.text)")
            let error = try #require(absent.json["error"] as? [String: Any])
            #expect(error["decline_code"] as? String == "authentication_required")
        }
    }

    @Test("an idempotent replay returns the first answer; a different body under the key is a 409")
    func idempotency() async throws {
        try await DaemonHarness.with { harness in
            let token = try await harness.tokenize()
            let body = #"{"amount": 1200, "currency": "eur", "token": "\#(token)"}"#
            let first = try await harness.call(.POST, "/v1/payments", json: body, headers: ["Idempotency-Key": "order-1"])
            let replay = try await harness.call(.POST, "/v1/payments", json: body, headers: ["Idempotency-Key": "order-1"])
            #expect(first.status == 201)
            #expect(replay.status == 201)
            #expect(replay.body == first.body)
            #expect(replay.headers.first(name: "Idempotent-Replayed") == "true")
            let other = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 1300, "currency": "eur", "token": "\#(token)"}"#,
                headers: ["Idempotency-Key": "order-1"])
            #expect(other.status == 409)
            #expect(other.errorCode == "idempotency_key_reused")
            #expect(try await harness.stripeAdmin.ledger().filter { $0.kind == .authorization }.count == 1)
        }
    }

    @Test("a duplicate sent while the first request waits on the gateway is a 409 and charges nothing")
    func concurrentDuplicate() async throws {
        try await DaemonHarness.with { harness in
            let token = try await harness.tokenize()
            // Hold the first authorization at the gateway long enough for the duplicate to arrive.
            try await harness.stripeAdmin.inject(
                FaultRule(kind: .latency, latencyMilliseconds: 3_000, count: 1, path: "/v1/payment_intents", method: "POST"))
            let body = #"{"amount": 1400, "currency": "eur", "token": "\#(token)"}"#
            async let first = harness.call(.POST, "/v1/payments", json: body, headers: ["Idempotency-Key": "order-dup"])
            // The first request has written its payment and now waits at the gateway.
            _ = try await eventually {
                let list = try await harness.call(.GET, "/v1/payments")
                return (list.json["data"] as? [Any])?.isEmpty == false ? true : nil
            }
            let duplicate = try await harness.call(.POST, "/v1/payments", json: body, headers: ["Idempotency-Key": "order-dup"])
            #expect(duplicate.status == 409)
            #expect(duplicate.errorCode == "idempotency_key_in_use")
            let answered = try await first
            #expect(answered.status == 201, "\(answered.text)")
            let replay = try await harness.call(.POST, "/v1/payments", json: body, headers: ["Idempotency-Key": "order-dup"])
            #expect(replay.body == answered.body)
            #expect(try await harness.stripeAdmin.ledger().filter { $0.kind == .authorization }.count == 1)
        }
    }
}
