import Foundation
import TillCrypto
import Testing
@testable import TillAudit

/// Checkpoints are signed on a cadence (interval or uncovered entries), on open, on close
/// and before a key rotation; entries are durable per commit regardless.
@Suite("Checkpoint cadence")
struct CheckpointCadenceTests {
    func configuration(_ directory: TemporaryDirectory, interval: Duration = .seconds(3600), entries: UInt64 = 10_000)
        -> AuditLog.Configuration
    {
        var configuration = AuditLog.Configuration(directory: directory.path, origin: "test.till.local/audit")
        configuration.checkpointInterval = interval
        configuration.checkpointEntries = entries
        return configuration
    }

    func sizes(_ files: LogFiles) throws -> [UInt64] {
        try files.checkpointNotes.map { note in
            try Checkpoint(text: String(note[..<note.range(of: "\n\n")!.lowerBound]) + "\n").size
        }
    }

    @Test("within the interval, entries are durable but uncovered (exit 3, as after a crash); close covers them")
    func uncoveredUntilClose() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let configuration = configuration(directory)
        let files = LogFiles(configuration: configuration)
        let log = try await AuditLog.open(configuration, logger: quietLogger)
        for number in 0..<20 {
            let receipt = try await log.append(event(number))
            #expect(receipt.checkpoint == nil)
        }
        #expect(log.latestCheckpoint?.size == 1)
        // The entries are on disk before any checkpoint covers them.
        #expect(files.lines.count == 21)
        let open = try files.verify()
        #expect(open.status == .uncovered)
        #expect(open.exitCode == 3)
        #expect(open.problem == nil)
        #expect(open.coveredSize == 1)
        #expect(open.entries == 21)
        try await log.close()
        #expect(try sizes(files) == [1, 22])
        #expect(try files.verify().status == .intact)
    }

    @Test("a commit that leaves checkpointEntries uncovered signs, and its receipt carries the checkpoint")
    func entryCount() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let configuration = configuration(directory, entries: 5)
        let log = try await AuditLog.open(configuration, logger: quietLogger)
        var signedAt: [UInt64] = []
        for number in 0..<12 {
            let receipt = try await log.append(event(number))
            if let checkpoint = receipt.checkpoint {
                #expect(checkpoint.size == receipt.sequence + 1)
                signedAt.append(checkpoint.size)
            }
        }
        #expect(signedAt == [6, 11])
        try await log.close()
        let files = LogFiles(configuration: configuration)
        #expect(try sizes(files) == [1, 6, 11, 14])
        let report = try files.verify()
        #expect(report.status == .intact)
        #expect(report.checkpoints == 4)
    }

    @Test("an idle writer signs the uncovered entries once the interval has passed")
    func idleSigning() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let configuration = configuration(directory, interval: .milliseconds(20))
        let log = try await AuditLog.open(configuration, logger: quietLogger)
        let receipt = try await log.append(event(1))
        var covered = false
        for _ in 0..<1000 {
            if let size = log.latestCheckpoint?.size, size > receipt.sequence {
                covered = true
                break
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(covered)
        let files = LogFiles(configuration: configuration)
        #expect(try files.verify().status == .intact)
        try await log.close()
        #expect(try files.verify().status == .intact)
    }

    @Test("before a key rotation the old key signs the uncovered entries; the new key signs from the rotation on")
    func rotation() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let configuration = configuration(directory)
        let log = try await AuditLog.open(configuration, logger: quietLogger)
        for number in 0..<4 { try await log.append(event(number)) }
        let rotation = try await log.rotateSigningKey()
        #expect(rotation.sequence == 5)
        #expect(rotation.checkpoint?.size == 6)
        for number in 4..<8 { try await log.append(event(number)) }
        try await log.close()
        let files = LogFiles(configuration: configuration)
        #expect(try sizes(files) == [1, 5, 6, 11])
        let report = try files.verify()
        #expect(report.status == .intact, "\(String(describing: report.problem))")
        #expect(report.checkpoints == 4)
    }

    @Test("reopening after a crash signs the uncovered tail at once")
    func reopenCoversTail() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let configuration = configuration(directory)
        let files = LogFiles(configuration: configuration)
        let log = try await AuditLog.open(configuration, logger: quietLogger)
        for number in 0..<5 { try await log.append(event(number)) }
        try await log.close()
        // As a crash would leave it: the newest checkpoint lost, the entries durable.
        files.checkpointNotes = Array(files.checkpointNotes.dropLast())
        #expect(try files.verify().status == .uncovered)
        let again = try await AuditLog.open(configuration, logger: quietLogger)
        #expect(again.latestCheckpoint?.size == 8)
        #expect(try files.verify().status == .intact)
        try await again.close()
    }
}
