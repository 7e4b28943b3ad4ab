import Foundation
import SandboxSupport
import TillHTTP
import TillServer
import TillStore
import TillTesting
import Testing

@Suite("Fault tolerance")
struct FaultToleranceTests {
    @Test("with responses dropped after commit, every payment reconciles to the gateways' truth and none is charged twice")
    func droppedResponses() async throws {
        try await DaemonHarness.with { harness in
            let token = try await harness.tokenize()
            // One payment certainly loses its answer (twice over, so curl's own re-send on a
            // reused connection is lost too)...
            try await harness.stripeAdmin.inject(
                FaultRule(kind: .dropAfterCommit, count: 2, path: "/v1/payment_intents", method: "POST"))
            let lost = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 999, "currency": "usd", "token": "\#(token)", "gateway": "stripe"}"#)
            #expect(lost.status == 202, "\(lost.text)")
            let lostID = try #require(lost.json["id"] as? String)
            try await harness.stripeAdmin.clearFaults()
            // ...then a third of all API calls lose their answer after the gateway committed them.
            for admin in [harness.stripeAdmin, harness.paypalAdmin] {
                try await admin.inject(FaultRule(kind: .dropAfterCommit, share: 0.3, method: "POST"))
            }
            let (ids, refusals) = try await withThrowingTaskGroup(of: Result<String, Refusal>.self) { group in
                for index in 0..<24 {
                    group.addTask {
                        let gateway = index % 2 == 0 ? "stripe" : "paypal"
                        let capture = index % 3 == 0 ? "automatic" : "manual"
                        let created = try await harness.call(
                            .POST, "/v1/payments",
                            json: #"{"amount": \#(1_000 + index), "currency": "usd", "token": "\#(token)", "capture": "\#(capture)", "gateway": "\#(gateway)"}"#,
                            headers: ["Idempotency-Key": "fault-\(index)"])
                        guard let id = created.json["id"] as? String else {
                            return .failure(Refusal(description: "\(index): \(created.status) \(created.text)"))
                        }
                        // Follow-up operations may themselves lose their answers or be refused
                        // while an earlier outcome is unknown; that is part of the test.
                        if capture == "manual" {
                            _ = try await harness.call(.POST, "/v1/payments/\(id)/capture", json: #"{"amount": 600}"#)
                        }
                        _ = try await harness.call(.POST, "/v1/payments/\(id)/refunds", json: #"{"amount": 100}"#)
                        return .success(id)
                    }
                }
                var ids: [String] = []
                var refusals: [String] = []
                for try await result in group {
                    switch result {
                    case .success(let id): ids.append(id)
                    case .failure(let refusal): refusals.append(refusal.description)
                    }
                }
                return (ids, refusals)
            }
            #expect(ids.count == 24, "answers without a payment: \(refusals)")
            let all = ids + [lostID]
            for admin in [harness.stripeAdmin, harness.paypalAdmin] { try await admin.clearFaults() }

            // Reconcile until nothing is in flight (pending transactions wait out a grace
            // period first, so a few rounds may be needed in a slow run).
            var rounds = 0
            while try await !harness.daemon.server.store.inFlightPayments(limit: 100).isEmpty, rounds < 10 {
                _ = await harness.daemon.server.reconcileNow()
                rounds += 1
            }
            let ledger = PaymentTotals.byPayment(try await harness.stripeAdmin.ledger() + harness.paypalAdmin.ledger())
            for id in all {
                let record = try #require(try await harness.daemon.server.store.payment(id: id))
                #expect(record.inFlight == false, "\(id) still in flight after \(rounds) rounds")
                let payment = try await harness.call(.GET, "/v1/payments/\(id)")
                let till = PaymentTotals(payment: payment.json)
                let gateway = record.gatewayPaymentReference.flatMap { ledger[$0] } ?? PaymentTotals()
                #expect(till == gateway, "\(id) (\(record.gateway)): Till says \(till), the gateway \(gateway)")
                #expect(gateway.authorizations <= 1, "\(id) authorized more than once")
            }
        }
    }
}

private struct Refusal: Error, CustomStringConvertible {
    let description: String
}
