import Foundation
import TillAudit
import TillHTTP
import TillServer
import TillTesting
import Testing

/// Every refused request is in the audit log, whatever it carried, and guessing is slowed.
@Suite("Authentication failures: audited, masked, throttled")
struct AuthenticationAuditTests {
    /// Stops the daemon (so the log is closed and checkpointed), reads and verifies its
    /// audit log, then stops the rest of the harness, which removes the data directory.
    private static func stopAndRead(
        _ harness: DaemonHarness
    ) async throws -> (entries: [AuditEntry], text: String, report: AuditVerificationReport) {
        await harness.daemon.stop()
        let directory = harness.dataDirectory + "/audit"
        let read = Result { () throws -> ([AuditEntry], String, AuditVerificationReport) in
            let text = try String(contentsOfFile: directory + "/audit.jsonl", encoding: .utf8)
            let entries = try text.split(separator: "\n").map { try AuditEntry(line: Array($0.utf8)) }
            let report = try AuditVerifier.verify(
                log: directory + "/audit.jsonl", checkpoints: directory + "/audit.checkpoints",
                keyring: directory + "/audit-keyring.json")
            return (entries, text, report)
        }
        await harness.stop()
        return try read.get()
    }

    @Test("every 401 and every publishable-key 403 is audited, with card numbers and keys in paths masked")
    func everyFailureAudited() async throws {
        let harness = try await DaemonHarness.start()
        let leakedKey = "sk_live_" + String(repeating: "a1", count: 20)
        var sent = 0
        do {
            let attempts: [(HTTPMethod, String, String, [String: String])] = [
                (.GET, "/v1/payments", "", [:]),  // no Authorization at all
                (.GET, "/v1/payments", "", ["Authorization": "Basic dXNlcjpwYXNz"]),
                (.GET, "/v1/payments", "", ["Authorization": "Bearer"]),
                (.GET, "/v1/payments", "sk_test_not_a_real_key", [:]),
                (.GET, "/v1/payments/4242424242424242", "", [:]),
                (.GET, "/v1/payments/4242%204242%204242%204242", "sk_test_nope", [:]),
                (.GET, "/v1/payments/\(leakedKey)", "", [:]),
                (.GET, "/v1/payments/\(leakedKey)/refunds", "pk_test_nope", [:]),
                (.GET, "/v1/payments", harness.publishableKey, [:]),
                (.POST, "/v1/payments", harness.publishableKey, [:]),
            ]
            for (method, path, key, headers) in attempts {
                let answer = try await harness.call(
                    method, path, json: method == .POST ? "{}" : nil, key: key, headers: headers)
                #expect([401, 403].contains(answer.status), "\(method) \(path): \(answer.status) \(answer.text)")
                sent += 1
            }
            // A good key is not a failure.
            #expect(try await harness.call(.GET, "/v1/payments").status == 200)
        } catch {
            await harness.stop()
            throw error
        }
        let (entries, text, report) = try await Self.stopAndRead(harness)
        let failures = entries.filter { $0.event.action == .authenticationFailure }
        #expect(failures.count == sent, "\(failures.count) audited of \(sent) refused: \(failures.map(\.event))")
        let reasons = failures.map { $0.event.details["reason"] ?? "" }
        #expect(reasons.filter { $0 == "secret_key_required" }.count == 2)
        #expect(reasons.contains("missing_credentials") && reasons.contains("malformed_authorization"))
        #expect(reasons.contains("unknown_or_revoked_key"))
        #expect(failures.allSatisfy { $0.event.result == .denied && $0.event.details["peer"] == "127.0.0.1" })
        #expect(!text.contains("4242424242424242") && !text.contains("4242%204242%204242%204242"))
        #expect(!text.contains(leakedKey) && !text.contains("sk_live_"))
        let masked = failures.filter { $0.event.details["redacted"] != nil }
        #expect(masked.count == 4, "the two card paths and the two key paths are masked: \(masked.map(\.event.subject))")
        #expect(masked.contains { $0.event.subject == "/v1/payments/************4242" })
        #expect(report.status == .intact)
    }

    @Test("repeated failures from one address get 429 with Retry-After, even with a valid key, and each is audited")
    func throttled() async throws {
        let harness = try await DaemonHarness.start(
            authFailureLimit: AuthenticationThrottle.Limit(burst: 3, refillPerMinute: 0.01))
        var statuses: [Int] = []
        do {
            for _ in 0..<5 {
                statuses.append(try await harness.call(.GET, "/v1/payments", key: "sk_test_guess").status)
            }
            let valid = try await harness.call(.GET, "/v1/payments")
            #expect(valid.status == 429, "a throttled address is refused before its key is looked at")
            #expect(valid.errorCode == "rate_limited")
            let retryAfter = try #require(valid.headers.first(name: "Retry-After"))
            #expect((Int(retryAfter) ?? 0) >= 1)
        } catch {
            await harness.stop()
            throw error
        }
        let entries = try await Self.stopAndRead(harness).entries
        #expect(statuses == [401, 401, 401, 429, 429])
        let failures = entries.filter { $0.event.action == .authenticationFailure }
        #expect(failures.count == 6)
        #expect(failures.filter { $0.event.details["reason"] == "rate_limited" }.count == 3)
    }
}
