import Foundation
import Testing
@testable import TillAudit

#if canImport(Glibc)
import Glibc
#endif

/// Kills a real writer process (`till audit append-load`, writing each batch in 7-byte
/// pieces so kills land mid-line) at random moments, then checks that every entry it
/// acknowledged is still there and that the log recovers and verifies.
@Suite("Crash recovery")
struct CrashTests {
    @Test("SIGKILL during appends loses no acknowledged entry", .timeLimit(.minutes(3)))
    func killDuringAppends() async throws {
        let till = try #require(tillExecutable, "build the till executable first (swift build --build-tests)")
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let configuration = AuditLog.Configuration(directory: directory.path, origin: "crash.till.local/audit")
        var generator = SystemRandomNumberGenerator()
        var acknowledgedTotal = 0
        var tornSeen = 0
        for round in 0..<12 {
            let killAfter = Int.random(in: 1...150, using: &generator)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: till)
            process.arguments = [
                "audit", "append-load", "--dir", directory.path, "--origin", configuration.origin, "--chunk", "7",
                "--concurrency", "4",
            ]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            var received = Data()
            var acks = 0
            while acks < killAfter {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }  // the writer exited on its own
                received += chunk
                acks = received.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            }
            kill(process.processIdentifier, SIGKILL)
            received += output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let acknowledged = String(decoding: received, as: UTF8.self).split(separator: "\n")
                .compactMap { $0.hasPrefix("ack ") ? UInt64($0.dropFirst(4)) : nil }
            #expect(!acknowledged.isEmpty, "round \(round): nothing was acknowledged")
            acknowledgedTotal += acknowledged.count

            // Straight after the crash: intact, or only the unacknowledged tail is torn.
            let before = try AuditVerifier.verify(
                log: configuration.logPath, checkpoints: configuration.checkpointsPath, keyring: configuration.keyringPath)
            if let problem = before.problem {
                #expect(problem.reason == .tornTail, "round \(round): \(problem)")
                tornSeen += 1
            }
            #expect(before.entries > acknowledged.max() ?? 0, "round \(round): an acknowledged entry is missing")

            // Reopening repairs the tail; everything acknowledged is still there and verifies.
            let log = try await AuditLog.open(configuration, logger: quietLogger)
            try await log.close()
            let after = try AuditVerifier.verify(
                log: configuration.logPath, checkpoints: configuration.checkpointsPath, keyring: configuration.keyringPath)
            #expect(after.status == .intact, "round \(round): \(after.problem.map(String.init(describing:)) ?? "")")
            let lines = LogFiles(configuration: configuration).lines
            for sequence in acknowledged {
                guard Int(sequence) < lines.count else {
                    Issue.record("round \(round): acknowledged entry \(sequence) is missing")
                    continue
                }
                let entry = try AuditEntry(line: Array(lines[Int(sequence)].utf8))
                #expect(entry.sequence == sequence)
                #expect(entry.event.action == .adminCommand)
            }
        }
        #expect(acknowledgedTotal > 0)
        print("crash test: \(acknowledgedTotal) acknowledged entries over 12 kills; \(tornSeen) kills left a torn tail")
    }
}
