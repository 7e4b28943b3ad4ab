import Foundation
import TillCrypto
import Testing
@testable import TillAudit

/// The bytes of an audit line are chained by hash and are the Merkle tree's leaves: logs
/// written by one build must verify under the next. These lines and their hashes were
/// written by the audit log's own string writer before it moved to TillCore's
/// `JSONString`; any change in how a string is written fails here first.
@Suite("Audit canonical bytes")
struct CanonicalBytesTests {
    static func entry() throws -> AuditEntry {
        let event = try AuditEvent(
            actor: "admin:\"ops\"\\x", action: .adminCommand, subject: "a/b\u{7F}\u{2028}\u{1F4B3}é", result: .denied,
            origin: "cli", details: ["ctl": "\u{0}\u{8}\t\n\u{B}\u{C}\r\u{1B}\u{1F}", "é\"": "\\\\"])
        return AuditEntry(
            sequence: 42, previousHash: SHA256.hash(data: Array("previous".utf8)), time: "2025-01-02T03:04:05.678Z",
            event: event)
    }

    static let expectedLine =
        #"{"seq":42,"prev":"PREV","time":"2025-01-02T03:04:05.678Z","actor":"admin:\"ops\"\\x","action":"admin.command","subject":"a/b"#
        + "\u{7F}\u{2028}\u{1F4B3}é"
        + #"","result":"denied","origin":"cli","details":{"ctl":"\u0000\u0008\t\n\u000b\u000c\r\u001b\u001f","é\"":"\\\\"}}"#

    @Test("an entry with every kind of escape is written byte for byte as before")
    func goldenLine() throws {
        let prev = SHA256.hash(data: Array("previous".utf8)).hexString
        let entry = try Self.entry()
        let line = String(decoding: entry.line, as: UTF8.self)
        #expect(line == Self.expectedLine.replacingOccurrences(of: "PREV", with: prev))
        #expect(SHA256.hash(data: entry.line).hexString == "1497cf43f4940c95a9209a07c2d0dcf507162f45ea2ea03858c9973cef1e8c70")
    }
}
