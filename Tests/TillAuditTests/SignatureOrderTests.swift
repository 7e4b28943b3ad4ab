import Foundation
import TillCrypto
import Testing
@testable import TillAudit

/// Checkpoint signatures are verified on two threads beside the log scan; the problem
/// reported must still be the one a strictly ordered check would name first.
@Suite("Verifier: signatures checked in parallel, problems reported in order")
struct SignatureOrderTests {
    /// 30 events + start + stop: 32 checkpoints, several chunks for the helper thread.
    static let events = 30

    func flipSignature(_ note: String) -> String {
        var bytes = Array(note.utf8)
        let at = bytes.count - 5
        bytes[at] = bytes[at] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test("of two bad signatures, the earlier checkpoint is named, whichever thread checked it")
    func earliestBadSignature() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let files = try await makeLog(in: directory, count: Self.events)
        var notes = files.checkpointNotes
        notes[27] = flipSignature(notes[27])
        notes[19] = flipSignature(notes[19])
        files.checkpointNotes = notes
        let report = try files.verify()
        #expect(report.status == .tampered)
        #expect(report.problem?.reason == .badSignature)
        #expect(report.problem?.checkpoint == 19)
        #expect(report.problem?.entry == 20)
    }

    @Test("a bad signature outranks a changed log entry, and the report holds no log figures")
    func signatureBeforeLog() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let files = try await makeLog(in: directory, count: Self.events)
        files.lines[3] = files.lines[3].replacingOccurrences(of: "pay_", with: "PAY_")
        var notes = files.checkpointNotes
        notes[25] = flipSignature(notes[25])
        files.checkpointNotes = notes
        let report = try files.verify()
        #expect(report.problem?.reason == .badSignature)
        #expect(report.problem?.checkpoint == 25)
        #expect(report.entries == 0)
        #expect(report.bytes == 0)
        #expect(report.checkpoints == 0)
        #expect(report.coveredSize == 0)
    }

    @Test("a bad signature before a rollback is named first; a rollback alone is still found")
    func signatureBeforeRollback() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let files = try await makeLog(in: directory, count: Self.events)
        let original = files.checkpointNotes
        var notes = original
        notes[22] = original[5]
        notes[12] = flipSignature(notes[12])
        files.checkpointNotes = notes
        var report = try files.verify()
        #expect(report.problem?.reason == .badSignature)
        #expect(report.problem?.checkpoint == 12)
        notes[12] = original[12]
        files.checkpointNotes = notes
        report = try files.verify()
        #expect(report.problem?.reason == .rollback)
        #expect(report.problem?.checkpoint == 22)
    }

    @Test("every checkpoint of an untouched log is counted")
    func untouched() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let files = try await makeLog(in: directory, count: Self.events)
        let report = try files.verify()
        #expect(report.status == .intact)
        #expect(report.checkpoints == Self.events + 2)
        #expect(report.coveredSize == UInt64(Self.events + 2))
    }
}
