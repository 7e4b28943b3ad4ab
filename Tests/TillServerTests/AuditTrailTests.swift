import Foundation
import TillAudit
import TillHTTP
import TillServer
import TillTesting
import Testing

@Suite("The daemon's audit trail")
struct AuditTrailTests {
    @Test("payments, detokenizations, key and API-key creation, authentication and webhook failures are logged; the log verifies offline")
    func wired() async throws {
        let harness = try await DaemonHarness.start()
        do {
            let token = try await harness.tokenize()
            let created = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 1500, "currency": "usd", "token": "\#(token)", "capture": "manual"}"#)
            let id = try #require(created.json["id"] as? String)
            _ = try await harness.call(.POST, "/v1/payments/\(id)/capture", json: "{}")
            let refused = try await harness.call(.GET, "/v1/payments", key: "sk_test_not_a_real_key")
            #expect(refused.status == 401)
            let forged = try await harness.call(
                .POST, "/v1/gateways/stripe/webhooks", json: #"{"id": "evt_forged"}"#, key: "",
                headers: ["Stripe-Signature": "t=1,v1=00"])
            #expect(forged.status == 400)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.daemon.stop()

        let directory = harness.dataDirectory + "/audit"
        let report = try AuditVerifier.verify(
            log: directory + "/audit.jsonl", checkpoints: directory + "/audit.checkpoints",
            keyring: directory + "/audit-keyring.json")
        #expect(report.status == .intact, "\(String(describing: report.problem))")
        let text = try String(contentsOfFile: directory + "/audit.jsonl", encoding: .utf8)
        let entries = try text.split(separator: "\n").map { try AuditEntry(line: Array($0.utf8)) }
        let actions = Set(entries.map(\.event.action))
        for action: AuditAction in [
            .logStart, .logStop, .keyCreation, .apiKeyCreation, .detokenization, .paymentTransition,
            .authenticationFailure, .webhookVerificationFailure,
        ] {
            #expect(actions.contains(action), "no \(action.rawValue) entry")
        }
        let transitions = entries.filter { $0.event.action == .paymentTransition }.map { $0.event.details["to"] ?? "" }
        #expect(transitions.contains("authorized") && transitions.contains("captured"), "\(transitions)")
        #expect(!text.contains("4242424242424242"))
        await harness.stop()
    }
}
