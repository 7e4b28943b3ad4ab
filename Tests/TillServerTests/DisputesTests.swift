import Foundation
import SandboxSupport
import TillHTTP
import TillServer
import TillStore
import TillTesting
import Testing

@Suite("Disputes over HTTP")
struct DisputesTests {
    @Test("a dispute card's chargeback shows up; winning evidence reverses it exactly")
    func winWithEvidence() async throws {
        try await DaemonHarness.with { harness in
            let token = try await harness.tokenize("4000000000000259")
            let created = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 5000, "currency": "usd", "token": "\#(token)"}"#)
            #expect(created.status == 201, "\(created.text)")
            let id = try #require(created.json["id"] as? String)

            let opened = try await eventually {
                let list = try await harness.call(.GET, "/v1/disputes?payment=\(id)")
                let dispute = (list.json["data"] as? [[String: Any]])?.first
                return dispute?["amount_charged_back"] as? Int == 5000 ? dispute : nil
            }
            let disputeID = try #require(opened["id"] as? String)
            #expect(disputeID.hasPrefix("dp_"))
            #expect(opened["status"] as? String == "needs_response")
            #expect(opened["stage"] as? String == "chargeback")
            #expect(opened["reason"] as? String == "fraudulent")
            #expect((opened["gateway_reference"] as? String)?.hasPrefix("dp_") == true)
            let all = try await harness.call(.GET, "/v1/disputes")
            #expect((all.json["data"] as? [[String: Any]])?.map { $0["id"] as? String } == [disputeID])
            let disputed = try await harness.call(.GET, "/v1/payments/\(id)")
            #expect(disputed.json["status"] as? String == "disputed")

            let submitted = try await harness.call(
                .POST, "/v1/disputes/\(disputeID)/evidence",
                json: #"{"product_description": "a lamp", "uncategorized_text": "winning_evidence: signed delivery"}"#)
            #expect(submitted.status == 200, "\(submitted.text)")
            #expect(submitted.json["status"] as? String == "under_review")
            let twice = try await harness.call(
                .POST, "/v1/disputes/\(disputeID)/evidence", json: #"{"uncategorized_text": "more"}"#)
            #expect(twice.status == 409, "\(twice.text)")

            let won = try await eventually {
                let dispute = try await harness.call(.GET, "/v1/disputes/\(disputeID)")
                return dispute.json["status"] as? String == "won" ? dispute : nil
            }
            #expect(won.json["amount_charged_back"] as? Int == 0)
            let moved = (won.json["transactions"] as? [[String: Any]] ?? []).map { ($0["type"] as? String ?? "", $0["amount"] as? Int ?? 0) }
            #expect(moved.map(\.0) == ["chargeback", "chargeback_reversal"])
            #expect(moved.map(\.1) == [5000, 5000])
            let payment = try await harness.call(.GET, "/v1/payments/\(id)")
            #expect(payment.json["status"] as? String == "captured")
            #expect(payment.json["amount_disputed"] as? Int == 0)
            let ledger = try await harness.stripeAdmin.ledger()
            #expect(ledger.map(\.kind) == [.authorization, .capture, .chargeback, .chargebackReversal])

            let store = harness.daemon.server.store
            let types = try await store.events(merchantID: harness.merchantID, paymentID: id, limit: 100).items.map(\.type)
            #expect(types.contains("dispute.created"))
            #expect(types.contains("dispute.updated"))
            #expect(types.contains("dispute.closed"))
        }
    }

    @Test("accepting a dispute opened through the sandbox charges it back for good")
    func accept() async throws {
        try await DaemonHarness.with { harness in
            let token = try await harness.tokenize()
            let created = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 4200, "currency": "usd", "token": "\#(token)"}"#)
            #expect(created.status == 201, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            let capture = (created.json["transactions"] as? [[String: Any]] ?? []).first { $0["type"] as? String == "capture" }
            let charge = try #require(capture?["gateway_reference"] as? String)
            _ = try await harness.stripeAdmin.openDispute(payment: charge, reason: "product_not_received")

            let opened = try await eventually {
                let list = try await harness.call(.GET, "/v1/disputes?payment=\(id)")
                return (list.json["data"] as? [[String: Any]])?.first
            }
            let disputeID = try #require(opened["id"] as? String)
            let accepted = try await harness.call(.POST, "/v1/disputes/\(disputeID)/accept")
            #expect(accepted.status == 200, "\(accepted.text)")
            #expect(accepted.json["status"] as? String == "accepted")
            #expect(accepted.json["amount_charged_back"] as? Int == 4200)
            let again = try await harness.call(.POST, "/v1/disputes/\(disputeID)/accept")
            #expect(again.status == 409)

            let settled = try await eventually {
                let payment = try await harness.call(.GET, "/v1/payments/\(id)")
                return payment.json["status"] as? String == "charged_back" ? payment : nil
            }
            #expect(settled.json["amount_disputed"] as? Int == 4200)
            // The gateway's later "closed" webhook is a late report: nothing moves twice.
            try await Task.sleep(for: .milliseconds(300))
            let dispute = try await harness.call(.GET, "/v1/disputes/\(disputeID)")
            #expect(dispute.json["status"] as? String == "accepted")
            #expect((dispute.json["transactions"] as? [Any])?.count == 1)
        }
    }

    @Test("unknown, foreign and malformed dispute requests are clear 4xx answers")
    func refusals() async throws {
        try await DaemonHarness.with { harness in
            let missing = try await harness.call(.GET, "/v1/disputes/dp_nothing")
            #expect(missing.status == 404)
            #expect(missing.errorCode == "resource_missing")
            let unknownPayment = try await harness.call(.GET, "/v1/disputes?payment=pay_nothing")
            #expect(unknownPayment.status == 404)
            let noEvidence = try await harness.call(.POST, "/v1/disputes/dp_nothing/evidence", json: "{}")
            #expect(noEvidence.status == 400)
            let unknownField = try await harness.call(.POST, "/v1/disputes/dp_nothing/evidence", json: #"{"winning": "yes"}"#)
            #expect(unknownField.status == 400)
            #expect(unknownField.errorCode == "parameter_unknown")
            let noKey = try await harness.call(.GET, "/v1/disputes", key: "")
            #expect(noKey.status == 401)
            let empty = try await harness.call(.GET, "/v1/disputes")
            #expect(empty.status == 200)
            #expect((empty.json["data"] as? [Any])?.isEmpty == true)
        }
    }
}

/// Polls until `check` returns a value (at most about ten seconds, then fails).
