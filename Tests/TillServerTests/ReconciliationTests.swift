import Foundation
import GRDB
import SandboxSupport
import TillHTTP
import TillServer
import TillStore
import TillTesting
import Testing

@Suite("Reconciliation")
struct ReconciliationTests {
    @Test("an authorization whose answer was dropped after commit is resolved to the sandbox's truth, charged once")
    func droppedAuthorization() async throws {
        try await DaemonHarness.with { harness in
            try await harness.stripeAdmin.inject(
                FaultRule(kind: .dropAfterCommit, count: 1, path: "/v1/payment_intents", method: "POST"))
            let token = try await harness.tokenize()
            let created = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 2500, "currency": "usd", "token": "\#(token)"}"#)
            #expect(created.status == 202, "\(created.text)")
            #expect(created.json["status"] as? String == "processing")
            let id = try #require(created.json["id"] as? String)

            _ = await harness.daemon.server.reconcileNow()
            let settled = try await eventually {
                let payment = try await harness.call(.GET, "/v1/payments/\(id)")
                return payment.json["status"] as? String == "captured" ? payment : nil
            }
            #expect(settled.json["amount_captured"] as? Int == 2500)
            let transactions = settled.json["transactions"] as? [[String: Any]] ?? []
            #expect(transactions.map { $0["status"] as? String } == ["succeeded", "succeeded"])
            let ledger = try await harness.stripeAdmin.ledger()
            #expect(ledger.filter { $0.kind == .authorization }.count == 1)
            #expect(ledger.filter { $0.kind == .capture }.map(\.amount) == [2500])
            let record = try await harness.daemon.server.store.payment(id: id)
            #expect(record?.inFlight == false)
            #expect(record?.gatewayPaymentReference == ledger.first?.payment)
        }
    }

    @Test("a capture the gateway has no record of yet is not failed at once: its request may still be on its way")
    func notFoundIsNotConclusiveAtOnce() async throws {
        try await DaemonHarness.with { harness in
            let token = try await harness.tokenize()
            let created = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 2600, "currency": "usd", "token": "\#(token)", "capture": "manual"}"#)
            let id = try #require(created.json["id"] as? String)
            // Stripe's 5xx leaves the outcome unknown; this one was never processed.
            try await harness.stripeAdmin.inject(FaultRule(kind: .error, status: 503, count: 1, path: "/v1/payment_intents", method: "POST"))
            let capture = try await harness.call(.POST, "/v1/payments/\(id)/capture", json: "{}")
            #expect(capture.status == 200, "\(capture.text)")

            // The lookup finds nothing, which is no proof yet: the capture stays unknown
            // instead of being failed while a late request could still capture the money.
            _ = await harness.daemon.server.reconcileNow()
            let payment = try await harness.call(.GET, "/v1/payments/\(id)")
            let transactions = payment.json["transactions"] as? [[String: Any]] ?? []
            let captureStatus = transactions.first { $0["type"] as? String == "capture" }?["status"] as? String
            #expect(captureStatus == "unknown", "\(payment.text)")
        }
    }

    @Test("an automatic-capture payment left authorized by a crash before its capture is captured by reconciliation")
    func owedCapture() async throws {
        try await DaemonHarness.with { harness in
            let token = try await harness.tokenize()
            let created = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 1800, "currency": "usd", "token": "\#(token)", "capture": "manual"}"#)
            let id = try #require(created.json["id"] as? String)
            // What a crash between the authorization's commit and the capture's leaves: an
            // automatic payment, authorized, with no capture written.
            try await harness.daemon.server.store.database.pool.write { db in
                try db.execute(sql: "UPDATE payments SET capture_mode = 'automatic', in_flight = 1 WHERE id = ?", arguments: [id])
            }
            _ = await harness.daemon.server.reconcileNow()
            let payment = try await harness.call(.GET, "/v1/payments/\(id)")
            #expect(payment.json["status"] as? String == "captured", "\(payment.text)")
            let ledger = try await harness.stripeAdmin.ledger()
            #expect(ledger.filter { $0.kind == .capture }.map(\.amount) == [1800])
            #expect(try await harness.daemon.server.store.payment(id: id)?.inFlight == false)
            // A second round has nothing left to do.
            _ = await harness.daemon.server.reconcileNow()
            #expect(try await harness.stripeAdmin.ledger().filter { $0.kind == .capture }.count == 1)
        }
    }

    @Test("the reconciler service resolves a dropped manual authorization on its own")
    func serviceRuns() async throws {
        try await DaemonHarness.with(reconcileInterval: .milliseconds(100)) { harness in
            try await harness.stripeAdmin.inject(
                FaultRule(kind: .dropAfterCommit, count: 1, path: "/v1/payment_intents", method: "POST"))
            let token = try await harness.tokenize()
            let created = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 900, "currency": "eur", "token": "\#(token)", "capture": "manual"}"#)
            #expect(created.status == 202, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            let settled = try await eventually {
                let payment = try await harness.call(.GET, "/v1/payments/\(id)")
                return payment.json["status"] as? String == "authorized" ? payment : nil
            }
            #expect(settled.json["amount_authorized"] as? Int == 900)
            let capture = try await harness.call(.POST, "/v1/payments/\(id)/capture")
            #expect(capture.status == 200, "\(capture.text)")
            let ledger = try await harness.stripeAdmin.ledger()
            #expect(ledger.map(\.kind) == [.authorization, .capture])
        }
    }
}

/// Polls until `check` returns a value (at most about ten seconds, then fails).
