import Foundation
import TillCrypto
import Testing
@testable import TillAudit

@Suite("Audit entries")
struct AuditEntryTests {
    @Test("card numbers are refused in every field, with or without separators", arguments: [
        "4242424242424242", "card 4242 4242 4242 4242 used", "5555-5555-5555-4444", "378282246310005",
        "x4000056655665556y",
    ])
    func cardNumbers(_ value: String) {
        #expect(throws: AuditError.self) { try AuditEvent(actor: value, action: .adminCommand, subject: "s", origin: "o") }
        #expect(throws: AuditError.self) { try AuditEvent(actor: "a", action: .adminCommand, subject: value, origin: "o") }
        #expect(throws: AuditError.self) {
            try AuditEvent(actor: "a", action: .adminCommand, subject: "s", origin: "o", details: ["note": value])
        }
    }

    @Test("secrets and card-data keys are refused", arguments: [
        "sk_live_abc", "sk_test_123", "whsec_xyz", "Bearer abc", "-----BEGIN PRIVATE KEY-----",
    ])
    func secrets(_ value: String) {
        #expect(throws: AuditError.self) { try AuditEvent(actor: "a", action: .adminCommand, subject: value, origin: "o") }
    }

    @Test("the byte-level secret screen finds exactly what Unicode lowercasing finds")
    func secretScreenAgreesWithLowercasing() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("skSK_lLiveTtwhsecWHSEC bBearer-BEGINprivate+Key xyz0129K\u{212A}é")
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...24, using: &generator)
            let value = String((0..<length).map { _ in alphabet.randomElement(using: &generator) ?? "x" })
            let lowered = value.lowercased()
            let expected = SensitiveDataScreen.secretMarkers.first { lowered.contains($0) }
            #expect(SensitiveDataScreen.secretMarker(in: value) == expected, "\(value)")
        }
        #expect(SensitiveDataScreen.secretMarker(in: "ends with WHSEC_") == "whsec_")
        #expect(SensitiveDataScreen.secretMarker(in: "s\u{212A}_live_1") == "sk_live_")
        #expect(SensitiveDataScreen.secretMarker(in: "sk_live") == nil)
    }

    @Test("detail keys that name card data are refused")
    func forbiddenKeys() {
        for key in ["cvc", "CVV", "pan", "card_number", "password"] {
            #expect(throws: AuditError.self) {
                try AuditEvent(actor: "a", action: .adminCommand, subject: "s", origin: "o", details: [key: "1"])
            }
        }
    }

    @Test("ordinary values pass: ids, amounts, short or non-Luhn digit runs, tokens")
    func ordinary() throws {
        _ = try AuditEvent(
            actor: "merchant:acct_1", action: .detokenization, subject: "tok_8f3a9c", origin: "127.0.0.1",
            details: ["amount": "1999", "last4": "4242", "order": "4242424242424241", "ts": "20250101120000000000"])
    }

    @Test("a line round-trips through the canonical layout, with escapes")
    func roundTrip() throws {
        let event = try AuditEvent(
            actor: "admin:\"ops\"\\x", action: .adminCommand, subject: "line\nbreak\ttab\u{1}é", result: .denied,
            origin: "cli", details: ["b": "2", "a": "1"])
        let entry = AuditEntry(sequence: 42, previousHash: MerkleHash.emptyRoot, time: "2025-01-02T03:04:05.678Z", event: event)
        let line = entry.line
        #expect(!line.contains(0x0A))
        #expect(try AuditEntry(line: line) == entry)
        let text = String(decoding: line, as: UTF8.self)
        #expect(text.hasPrefix(#"{"seq":42,"prev":""#))
        #expect(text.hasSuffix(#","details":{"a":"1","b":"2"}}"#))
        // The layout is also plain JSON any tool can read.
        let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
        #expect(object?["subject"] as? String == "line\nbreak\ttab\u{1}é")
    }

    @Test("lines outside the canonical layout are malformed", arguments: [
        "", "{}", #"{"seq":01,"prev":"00"}"#, #"{"seq":1,"prev":"ZZ"}"#, #"{"seq":1} "#,
    ])
    func malformed(_ text: String) {
        #expect(throws: AuditError.self) { try AuditEntry(line: Array(text.utf8)) }
    }
}

@Suite("Audit log")
struct AuditLogTests {
    @Test("concurrent appends are batched, all acknowledged with distinct sequence numbers, and verify")
    func concurrentAppends() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let configuration = AuditLog.Configuration(directory: directory.path, origin: "test.till.local/audit")
        let log = try await AuditLog.open(configuration, logger: quietLogger)
        let sequences = try await withThrowingTaskGroup(of: UInt64.self) { group in
            for number in 0..<200 {
                group.addTask { try await log.append(event(number)).sequence }
            }
            var all: [UInt64] = []
            for try await sequence in group { all.append(sequence) }
            return all
        }
        #expect(Set(sequences) == Set(1...200))
        try await log.close()
        await #expect(throws: AuditError.self) { try await log.append(event(0)) }
        let files = LogFiles(configuration: configuration)
        #expect(files.lines.count == 202)
        #expect(files.checkpointNotes.count < 202, "group commit should have batched some appends")
        let report = try files.verify()
        #expect(report.status == .intact)
        let mode = try FileIO.mode(of: configuration.signingKeyPath)
        #expect(mode == 0o600)
        #expect(!(try String(contentsOfFile: configuration.logPath, encoding: .utf8)).contains("PRIVATE"))
    }

    @Test("reopening continues the chain and records start and stop")
    func reopen() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let first = try await makeLog(in: directory, count: 3)
        let log = try await AuditLog.open(first.configuration, logger: quietLogger)
        let receipt = try await log.append(event(10))
        #expect(receipt.sequence == 6)
        #expect(receipt.checkpoint?.size == 7)
        try await log.close()
        let actions = try first.lines.map { try AuditEntry(line: Array($0.utf8)).event.action }
        #expect(actions.first == .logStart && actions.last == .logStop)
        #expect(actions.filter { $0 == .logStart }.count == 2)
        #expect(try first.verify().status == .intact)
    }

    @Test("one writer at a time: a second open is refused while the first holds the log, and allowed after close")
    func singleWriter() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let files = try await makeLog(in: directory, count: 1)
        let first = try await AuditLog.open(files.configuration, logger: quietLogger)
        await #expect(throws: AuditError.self) {
            _ = try await AuditLog.open(files.configuration, logger: quietLogger)
        }
        try await first.close()
        let again = try await AuditLog.open(files.configuration, logger: quietLogger)
        try await again.close()
        #expect(try files.verify().status == .intact)
    }

    @Test("a torn last line is cut on open, and what was acknowledged stays")
    func tornTailRecovery() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let files = try await makeLog(in: directory, count: 5)
        let before = files.lines
        let text = before.map { $0 + "\n" }.joined() + #"{"seq":7,"prev":"0123"#
        files.write(text)
        // The checkpoints file can be torn too.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: files.configuration.checkpointsPath))
        handle.seekToEndOfFile()
        handle.write(Data("test.till.local/audit\n8\n".utf8))
        try handle.close()
        #expect(try files.verify().problem?.reason == .tornTail)

        let log = try await AuditLog.open(files.configuration, logger: quietLogger)
        try await log.close()
        let after = files.lines
        #expect(Array(after.prefix(before.count)) == before)
        #expect(after.count == before.count + 2)
        #expect(try files.verify().status == .intact)
    }

    @Test("open refuses a log whose chain is broken, and leaves it as it was")
    func refusesTampered() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let files = try await makeLog(in: directory, count: 5)
        files.lines.remove(at: 2)
        let tampered = files.lines
        await #expect(throws: AuditError.self) { _ = try await AuditLog.open(files.configuration, logger: quietLogger) }
        #expect(files.lines == tampered)
    }

    @Test("entries not yet covered by a checkpoint: status uncovered, exit 3")
    func uncovered() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let files = try await makeLog(in: directory, count: 5)
        files.checkpointNotes = Array(files.checkpointNotes.dropLast(2))
        let report = try files.verify()
        #expect(report.status == .uncovered)
        #expect(report.exitCode == 3)
        #expect(report.coveredSize == 5)
    }

    @Test("proofs from the log check against its checkpoints' roots")
    func proofs() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let files = try await makeLog(in: directory, count: 20)
        let path = files.configuration.logPath
        for index in [0, 5, 21] {
            let proof = try AuditProofs.inclusion(log: path, index: UInt64(index), size: nil)
            try proof.verify()
            #expect(proof.size == 22)
        }
        let notes = files.checkpointNotes
        let checkpoint = try Checkpoint(text: String(notes[9][..<notes[9].range(of: "\n\n")!.lowerBound]) + "\n")
        let consistency = try AuditProofs.consistency(log: path, from: 10, to: 22)
        #expect(consistency.root1 == Data(checkpoint.root.bytes).base64EncodedString())
        try consistency.verify()
        var bad = consistency
        bad.proof.removeLast()
        #expect(throws: MerkleProofError.self) { try bad.verify() }
    }
}
