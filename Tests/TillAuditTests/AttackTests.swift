import Foundation
import TillCrypto
import Testing
@testable import TillAudit

/// Tampers with a real log in every way `till audit verify` names, and checks the reason
/// and the position it reports.
@Suite("Verifier against tampering")
struct AttackTests {
    /// 12 events + start + stop = 14 entries (0...13), one checkpoint per commit (sizes 1...14).
    static let events = 12

    func withLog(_ body: (LogFiles) throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let files = try await makeLog(in: directory, count: Self.events)
        try body(files)
    }

    func expectProblem(
        _ files: LogFiles, trusted: String? = nil, _ reason: AuditProblem.Reason, entry: UInt64?, checkpoint: Int? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let report = try files.verify(trusted: trusted)
        #expect(report.status == .tampered, sourceLocation: sourceLocation)
        #expect(report.exitCode == 1, sourceLocation: sourceLocation)
        #expect(report.problem?.reason == reason, "\(report.problem.map(String.init(describing:)) ?? "none")", sourceLocation: sourceLocation)
        #expect(report.problem?.entry == entry, "\(report.problem.map(String.init(describing:)) ?? "none")", sourceLocation: sourceLocation)
        if let checkpoint {
            #expect(report.problem?.checkpoint == checkpoint, sourceLocation: sourceLocation)
        }
    }

    @Test("an untouched log verifies clean")
    func untouched() async throws {
        try await withLog { files in
            let report = try files.verify()
            #expect(report.status == .intact)
            #expect(report.exitCode == 0)
            #expect(report.entries == UInt64(Self.events + 2))
            #expect(report.coveredSize == UInt64(Self.events + 2))
            #expect(report.checkpoints == Self.events + 2)
            #expect(report.problem == nil)
        }
    }

    @Test("a changed entry is modified_entry at that entry")
    func modified() async throws {
        try await withLog { files in
            files.lines[5] = files.lines[5].replacingOccurrences(of: "pay_4", with: "pay_X")
            try expectProblem(files, .modifiedEntry, entry: 5)
        }
    }

    @Test("a changed prev field is prev_hash_mismatch at that entry")
    func prevChanged() async throws {
        try await withLog { files in
            var line = Array(files.lines[7].utf8)
            let at = Array(#""prev":""#.utf8).count + Array(#"{"seq":7,"#.utf8).count
            line[at] = line[at] == UInt8(ascii: "a") ? UInt8(ascii: "b") : UInt8(ascii: "a")
            files.lines[7] = String(decoding: line, as: UTF8.self)
            try expectProblem(files, .prevHashMismatch, entry: 7)
        }
    }

    @Test("a deleted entry is a gap where it was")
    func deleted() async throws {
        try await withLog { files in
            files.lines.remove(at: 6)
            try expectProblem(files, .gap, entry: 6)
        }
    }

    @Test("two swapped entries are reorder_or_duplicate at the first")
    func swapped() async throws {
        try await withLog { files in
            files.lines.swapAt(4, 5)
            try expectProblem(files, .reorderOrDuplicate, entry: 4)
        }
    }

    @Test("a repeated entry is reorder_or_duplicate at the copy")
    func duplicated() async throws {
        try await withLog { files in
            files.lines.insert(files.lines[3], at: 4)
            try expectProblem(files, .reorderOrDuplicate, entry: 4)
        }
    }

    @Test("a forged entry slipped in, correctly linked and numbered, is inserted_entry at its position")
    func inserted() async throws {
        try await withLog { files in
            let previous = MerkleHash.leaf(Array(files.lines[5].utf8))
            let forged = AuditEntry(
                sequence: 6, previousHash: previous, time: "2030-01-01T00:00:00.000Z",
                event: try event(999, actor: "merchant:attacker"))
            files.lines.insert(String(decoding: forged.line, as: UTF8.self), at: 6)
            try expectProblem(files, .insertedEntry, entry: 6)
        }
    }

    @Test("a forged entry with a wrong link is inserted_entry too")
    func insertedUnlinked() async throws {
        try await withLog { files in
            let forged = AuditEntry(
                sequence: 6, previousHash: MerkleHash.zero, time: "2030-01-01T00:00:00.000Z", event: try event(999))
            files.lines.insert(String(decoding: forged.line, as: UTF8.self), at: 6)
            try expectProblem(files, .insertedEntry, entry: 6)
        }
    }

    @Test("dropping the newest entries is truncated_log at the new end")
    func truncated() async throws {
        try await withLog { files in
            files.lines.removeLast(3)
            try expectProblem(files, .truncatedLog, entry: UInt64(Self.events + 2 - 3))
        }
    }

    @Test("cutting the log inside an entry covered by a checkpoint is truncated_log there")
    func truncatedMidLine() async throws {
        try await withLog { files in
            var lines = files.lines
            let last = lines.removeLast()
            files.write(lines.map { $0 + "\n" }.joined() + last.prefix(20))
            try expectProblem(files, .truncatedLog, entry: UInt64(Self.events + 1))
        }
    }

    @Test("a partial last line no checkpoint covers is torn_tail")
    func tornTail() async throws {
        try await withLog { files in
            let text = files.lines.map { $0 + "\n" }.joined() + #"{"seq":14,"prev":"ab"#
            files.write(text)
            try expectProblem(files, .tornTail, entry: UInt64(Self.events + 2))
        }
    }

    @Test("a line that is not an entry is malformed_entry")
    func malformed() async throws {
        try await withLog { files in
            files.lines[3] = "this is not JSON"
            try expectProblem(files, .malformedEntry, entry: 3)
            files.lines[3] = #"{"seq":3}"#
            try expectProblem(files, .malformedEntry, entry: 3)
        }
    }

    @Test("history rewritten with a consistent chain is root_mismatch at the first checkpoint after the change")
    func rewrittenChain() async throws {
        try await withLog { files in
            try files.rechain(from: 5) { index, line in
                index == 5 ? line.replacingOccurrences(of: "captured", with: "refunded") : line
            }
            let report = try files.verify()
            #expect(report.problem?.reason == .rootMismatch)
            #expect(report.problem?.entry == 6)
            #expect(report.problem?.checkpoint == 5)
        }
    }

    @Test("a flipped signature bit is bad_signature at that checkpoint")
    func badSignature() async throws {
        try await withLog { files in
            var notes = files.checkpointNotes
            var note = Array(notes[4].utf8)
            let at = note.count - 5
            note[at] = note[at] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            notes[4] = String(decoding: note, as: UTF8.self)
            files.checkpointNotes = notes
            try expectProblem(files, .badSignature, entry: 5, checkpoint: 4)
        }
    }

    @Test("a checkpoint signed by a key outside the keyring is unknown_key")
    func unknownKey() async throws {
        try await withLog { files in
            let stranger = try AuditSigningKey.generate(name: "test.till.local/audit")
            var notes = files.checkpointNotes
            let root = MerkleProofBuilder.root(of: files.lines.prefix(3).map { MerkleHash.leaf(Array($0.utf8)) })
            notes[2] = try files.sign(Checkpoint(origin: "test.till.local/audit", size: 3, root: root), with: stranger)
            files.checkpointNotes = notes
            try expectProblem(files, .unknownKey, entry: 3, checkpoint: 2)
        }
    }

    @Test("a checkpoint for another origin is wrong_origin")
    func wrongOrigin() async throws {
        try await withLog { files in
            var notes = files.checkpointNotes
            let root = MerkleProofBuilder.root(of: files.lines.prefix(2).map { MerkleHash.leaf(Array($0.utf8)) })
            notes[1] = try files.sign(Checkpoint(origin: "other.example/log", size: 2, root: root))
            files.checkpointNotes = notes
            try expectProblem(files, .wrongOrigin, entry: 2, checkpoint: 1)
        }
    }

    @Test("after a key rotation, the new key signing an old range is key_out_of_range")
    func keyOutOfRange() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var configuration = AuditLog.Configuration(directory: directory.path, origin: "test.till.local/audit")
        configuration.checkpointInterval = .zero
        let log = try await AuditLog.open(configuration, logger: quietLogger)
        for number in 0..<4 { try await log.append(event(number)) }
        let rotation = try await log.rotateSigningKey()
        #expect(rotation.sequence == 5)
        for number in 4..<8 { try await log.append(event(number)) }
        try await log.close()
        let files = LogFiles(configuration: configuration)
        let clean = try files.verify()
        #expect(clean.status == .intact)
        let keyring = try AuditKeyring.load(from: configuration.keyringPath)
        #expect(keyring.keys.count == 2)
        #expect(keyring.keys[0].lastEntry == 4)
        #expect(keyring.keys[1].firstEntry == 5)
        let rotationEntry = try AuditEntry(line: Array(files.lines[5].utf8))
        #expect(rotationEntry.event.action == .signingKeyRotation)
        #expect(rotationEntry.event.details["new_key_id"] == keyring.keys[1].id)

        var notes = files.checkpointNotes
        let root = MerkleProofBuilder.root(of: files.lines.prefix(3).map { MerkleHash.leaf(Array($0.utf8)) })
        notes[2] = try files.sign(Checkpoint(origin: "test.till.local/audit", size: 3, root: root))
        files.checkpointNotes = notes
        try expectProblem(files, .keyOutOfRange, entry: 3, checkpoint: 2)
    }

    @Test("a log and checkpoints rolled back below a trusted checkpoint is rollback")
    func rollback() async throws {
        try await withLog { files in
            let trustedPath = files.configuration.logPath + ".trusted"
            let notes = files.checkpointNotes
            try Data((notes[notes.count - 1] + "\n").utf8).write(to: URL(fileURLWithPath: trustedPath))
            #expect(try files.verify(trusted: trustedPath).status == .intact)
            files.lines.removeLast(4)
            files.checkpointNotes = Array(notes.dropLast(4))
            #expect(try files.verify().status == .intact)
            try expectProblem(files, trusted: trustedPath, .rollback, entry: UInt64(Self.events + 2 - 4))
        }
    }

    @Test("history rewritten and re-signed with the stolen key is a fork against a trusted checkpoint")
    func fork() async throws {
        try await withLog { files in
            let trustedPath = files.configuration.logPath + ".trusted"
            let notes = files.checkpointNotes
            try Data((notes[9] + "\n").utf8).write(to: URL(fileURLWithPath: trustedPath))
            try files.rechain(from: 3) { index, line in
                index == 3 ? line.replacingOccurrences(of: "merchant:acct_1", with: "merchant:acct_2") : line
            }
            try files.resignCheckpoints()
            #expect(try files.verify().status == .intact)
            try expectProblem(files, trusted: trustedPath, .fork, entry: 10)
        }
    }

    @Test("the command line reports the reason and exits 1; 0 when intact; 2 for a missing file")
    func commandLine() async throws {
        let till = try #require(tillExecutable)
        try await withLog { files in
            func run(_ arguments: [String]) throws -> (Int32, String) {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: till)
                process.arguments = ["audit", "verify"] + arguments
                let pipe = Pipe()
                process.standardOutput = pipe
                process.standardError = Pipe()
                try process.run()
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                return (process.terminationStatus, String(decoding: data, as: UTF8.self))
            }
            let c = files.configuration
            let base = ["--log", c.logPath, "--checkpoints", c.checkpointsPath, "--keyring", c.keyringPath]
            #expect(try run(base).0 == 0)
            files.lines.remove(at: 6)
            let (status, output) = try run(base + ["--json"])
            #expect(status == 1)
            #expect(output.contains(#""reason" : "gap""#))
            #expect(output.contains(#""entry" : 6"#))
            #expect(try run(["--log", c.logPath + ".missing", "--checkpoints", c.checkpointsPath, "--keyring", c.keyringPath]).0 == 2)
        }
    }
}
