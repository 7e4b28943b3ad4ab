import Foundation
import TillCrypto
import Testing
@testable import TillAudit

/// The verifier reads lines through a fast path and falls back to the checked parser only
/// when the fast path declines. Whatever it accepts, the checked parser must accept with
/// the same fields; whatever the checked parser refuses, the fast path must refuse too.
@Suite("Audit line fast path")
struct LineFormatFastPathTests {
    /// Lines of every shape the writer makes: escapes, UTF-8, controls, empty and long fields.
    static func sampleLines() throws -> [[UInt8]] {
        var lines: [[UInt8]] = []
        let digests = [MerkleHash.zero, SHA256.hash(data: Array("x".utf8)), SHA256.hash(data: [UInt8](repeating: 0xFF, count: 99))]
        let texts = ["", "a", "pay_0123456789abcdef", "caf\u{e9} \u{1F4B3}", "quote \" and \\ back", "tab\tnew\nline\u{01}", "/slash/",
                     String(repeating: "z", count: 61)]
        var sequence: UInt64 = 0
        for (index, text) in texts.enumerated() {
            for details in [[:], ["k": text], ["key " + text: "v", "b": "c", "a": ""]] {
                let event = try AuditEvent(
                    actor: "merchant:\(text)", action: .paymentTransition, subject: text, origin: "127.0.0.1", details: details)
                let entry = AuditEntry(
                    sequence: sequence, previousHash: digests[index % digests.count], time: "2026-11-29T09:00:00.000Z", event: event)
                lines.append(entry.line)
                sequence = sequence &* 7 &+ 3
            }
        }
        lines.append(Array(#"{"seq":18446744073709551615,"prev":"\#(String(repeating: "0", count: 64))","time":"","actor":"","action":"","subject":"","result":"","origin":""}"#.utf8))
        lines.append(Array(#"{"seq":18446744073709551616,"prev":"\#(String(repeating: "0", count: 64))","time":"","actor":"","action":"","subject":"","result":"","origin":""}"#.utf8))
        lines.append(Array(#"{"seq":0,"prev":"\#(String(repeating: "af", count: 32))","time":"","actor":"","action":"","subject":"","result":"","origin":"","details":{}}"#.utf8))
        return lines
    }

    static func agree(_ line: [UInt8]) -> Bool {
        line.withUnsafeBytes { raw in
            let quick = AuditLineFormat.quickHeader(raw)
            switch AuditLineFormat.parse(raw, decode: false) {
            case .success(let fields):
                guard let quick else { return true }  // declining is always allowed
                return quick.sequence == fields.sequence && quick.previous == fields.previous
            case .failure:
                return quick == nil
            }
        }
    }

    @Test("the fast path reads the writer's plain lines, and never disagrees with the checked parser")
    func agreesOnWriterLines() throws {
        var plain = 0
        for line in try Self.sampleLines() {
            #expect(Self.agree(line), "\(String(decoding: line, as: UTF8.self))")
            if line.withUnsafeBytes({ AuditLineFormat.quickHeader($0) }) != nil { plain += 1 }
        }
        // Lines without escapes (most of them) must take the fast path.
        #expect(plain >= 12)
    }

    @Test("every single-byte change, cut and insertion is judged alike by both readers")
    func agreesOnMutations() throws {
        let interesting: [UInt8] = [0x00, 0x09, 0x1F, 0x20, 0x22, 0x2C, 0x2F, 0x30, 0x31, 0x39, 0x3A, 0x40, 0x41, 0x46, 0x5C,
                                    0x60, 0x61, 0x66, 0x67, 0x7B, 0x7D, 0x7F, 0x80, 0xB0, 0xE6, 0xFF]
        for line in try Self.sampleLines().prefix(9) {
            for position in 0..<line.count {
                for byte in interesting where byte != line[position] {
                    var changed = line
                    changed[position] = byte
                    #expect(Self.agree(changed), "byte \(position) -> \(byte)")
                    var inserted = line
                    inserted.insert(byte, at: position)
                    #expect(Self.agree(inserted), "insert \(byte) at \(position)")
                }
                #expect(Self.agree(Array(line[..<position])))
                var removed = line
                removed.remove(at: position)
                #expect(Self.agree(removed))
            }
        }
    }

    @Test("random bytes and random splices of good lines are judged alike")
    func agreesOnRandomInput() throws {
        var generator = SplitMix(seed: 0x7111_0008)
        let lines = try Self.sampleLines()
        for _ in 0..<20_000 {
            var line = lines[Int(generator.next() % UInt64(lines.count))]
            for _ in 0..<Int(generator.next() % 4) {
                let position = Int(generator.next() % UInt64(line.count))
                line[position] = UInt8(truncatingIfNeeded: generator.next())
            }
            #expect(Self.agree(line))
        }
    }

    @Test("leaf and node hashes are RFC 6962's, hashed without copies")
    func hashesMatchDefinition() {
        for length in [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000] {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let expected = SHA256.hash(data: [0] + bytes)
            #expect(bytes.withUnsafeBytes { MerkleHash.leaf(line: $0) } == expected)
            #expect(MerkleHash.leaf(bytes) == expected)
        }
        let left = SHA256.hash(data: Array("left".utf8))
        let right = SHA256.hash(data: Array("right".utf8))
        #expect(MerkleHash.node(left, right) == SHA256.hash(data: [1] + left.bytes + right.bytes))
    }
}

/// A small deterministic generator for repeatable random tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
