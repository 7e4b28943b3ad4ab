import Foundation
import TillTesting
import Testing

@Suite("Load (the built binary)", .serialized)
struct LoadTests {
    /// A short `till load`: the same run as the soak, bounded to a few seconds of clients.
    /// It asserts what must hold however fast the machine is: every payment settles and
    /// agrees with both sandboxes' ledgers, nothing is charged twice or unknown to Till.
    /// Memory growth is reported but not asserted, since a few seconds show no trend.
    @Test(
        "a short mixed load with injected faults leaves every payment settled and equal to the gateways' ledgers",
        .enabled(if: TillProcess.binary != nil, "the till executable is built by `swift build --build-tests`"),
        .timeLimit(.minutes(3)))
    func shortLoad() async throws {
        let run = try TillProcess([
            "load", "--duration", "12", "--concurrency", "6", "--fault-share", "0.1", "--settle-timeout", "60",
            "--memory-tolerance", "1000000", "--reconcile-interval", "1", "--json",
        ])
        let status = try await run.waitForExit(within: .seconds(150))
        let line = try #require(
            run.output.split(separator: "\n").last { $0.hasPrefix("{") }, "no summary; stderr: \(run.errorOutput)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let ledger = try #require(summary["ledger"] as? [String: Any])

        #expect((summary["payments"] as? Int ?? 0) > 0, "the run made payments: \(line)")
        #expect(summary["unsettled"] as? Int == 0, "payments left in flight: \(line)")
        #expect(ledger["disagreeing"] as? Int == 0, "Till and the ledgers disagree: \(ledger["examples"] ?? [])")
        #expect(ledger["double_charged"] as? Int == 0, "charged twice: \(ledger["examples"] ?? [])")
        #expect(ledger["orphans"] as? Int == 0, "gateway payments unknown to Till: \(ledger["examples"] ?? [])")
        let outcomes = summary["outcomes"] as? [String: Int] ?? [:]
        #expect(outcomes.keys.contains { $0.hasPrefix("5") || $0.hasPrefix("202") }, "the faults showed: \(outcomes)")
        #expect(status == 0, "till load exited \(status): \(run.errorOutput)")
    }
}
