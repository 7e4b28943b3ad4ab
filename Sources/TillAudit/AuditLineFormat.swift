import Foundation
import TillCrypto

/// The one canonical JSON layout of an audit line, written and read without a general
/// JSON library: writing must be byte-for-byte stable, and reading sits on the
/// verifier's hot path next to SHA-256.
enum AuditLineFormat {
    struct Decoded {
        var time = ""
        var actor = ""
        var action = ""
        var subject = ""
        var result = ""
        var origin = ""
        var details: [String: String] = [:]
    }

    struct Fields {
        var sequence: UInt64
        var previous: HashWords
        var decoded: Decoded?
    }

    enum Outcome {
        case success(Fields)
        case failure(String)
    }

    // MARK: Writing

    static func append(_ entry: AuditEntry, to out: inout [UInt8]) {
        out += #"{"seq":"#.utf8
        out += String(entry.sequence).utf8
        out += #","prev":""#.utf8
        out += entry.previousHash.hexString.utf8
        out += #"","time":"#.utf8
        appendString(entry.time, to: &out)
        let event = entry.event
        for (name, value) in [
            ("actor", event.actor), ("action", event.action.rawValue), ("subject", event.subject),
            ("result", event.result.rawValue), ("origin", event.origin),
        ] {
            out += #","\#(name)":"#.utf8
            appendString(value, to: &out)
        }
        if !event.details.isEmpty {
            out += #","details":{"#.utf8
            for (index, key) in event.details.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                appendString(event.details[key] ?? "", to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "}"))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func appendString(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += #"\""#.utf8
            case UInt8(ascii: "\\"): out += #"\\"#.utf8
            case 0x0A: out += #"\n"#.utf8
            case 0x0D: out += #"\r"#.utf8
            case 0x09: out += #"\t"#.utf8
            case 0..<0x20:
                out += #"\u00"#.utf8
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0f)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    // MARK: Reading

    /// Parses `line` (without its newline). With `decode` false it only checks the layout
    /// and extracts the sequence number and previous hash, copying nothing.
    static func parse(_ line: UnsafeRawBufferPointer, decode: Bool) -> Outcome {
        var reader = Reader(bytes: line)
        var decoded = decode ? Decoded() : nil
        guard reader.literal(#"{"seq":"#) else { return .failure(#"does not start with {"seq":"#) }
        guard let sequence = reader.number() else { return .failure("seq is not a canonical unsigned integer") }
        guard reader.literal(#","prev":""#) else { return .failure(#"no "prev" after "seq""#) }
        guard let previous = reader.digestHex() else { return .failure("prev is not 64 lowercase hex digits") }
        guard reader.literal(#"","time":"#) else { return .failure(#"no "time" after "prev""#) }
        for (index, name) in fieldNames.enumerated() {
            if index > 0 {
                guard reader.literal(fieldPrefixes[index]) else { return .failure(#"no "\#(name)" field where expected"#) }
            }
            guard let value = reader.string(decode: decode) else { return .failure("\(name) is not a valid JSON string") }
            if decode {
                switch name {
                case "time": decoded?.time = value
                case "actor": decoded?.actor = value
                case "action": decoded?.action = value
                case "subject": decoded?.subject = value
                case "result": decoded?.result = value
                default: decoded?.origin = value
                }
            }
        }
        if reader.literal(#","details":{"#) {
            var first = true
            while !reader.literal("}") {
                if !first {
                    guard reader.literal(",") else { return .failure("details: expected , or }") }
                }
                first = false
                guard let key = reader.string(decode: decode), reader.literal(":"),
                    let value = reader.string(decode: decode)
                else { return .failure("details must map strings to strings") }
                if decode { decoded?.details[key] = value }
            }
        }
        guard reader.literal("}") else { return .failure("unexpected bytes after the last field") }
        guard reader.atEnd else { return .failure("unexpected bytes after the closing brace") }
        return .success(Fields(sequence: sequence, previous: previous, decoded: decoded))
    }

    private static let fieldNames = ["time", "actor", "action", "subject", "result", "origin"]
    private static let fieldPrefixes: [[UInt8]] = fieldNames.map { Array(#","\#($0)":"#.utf8) }

    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        var atEnd: Bool { position == bytes.count }

        mutating func literal(_ text: StaticString) -> Bool {
            text.withUTF8Buffer { expected in
                guard bytes.count - position >= expected.count else { return false }
                for (offset, byte) in expected.enumerated() where bytes[position + offset] != byte { return false }
                position += expected.count
                return true
            }
        }

        mutating func literal(_ expected: [UInt8]) -> Bool {
            guard bytes.count - position >= expected.count else { return false }
            for (offset, byte) in expected.enumerated() where bytes[position + offset] != byte { return false }
            position += expected.count
            return true
        }

        mutating func number() -> UInt64? {
            let start = position
            var value: UInt64 = 0
            while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
                let (times, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times.addingReportingOverflow(UInt64(bytes[position] - 0x30))
                guard !o1, !o2 else { return nil }
                value = sum
                position += 1
            }
            let length = position - start
            guard length > 0, !(length > 1 && bytes[start] == 0x30) else { return nil }
            return value
        }

        /// 64 lowercase hex digits as the digest's bytes, laid out as memory holds them.
        /// Straight-line code without optionals: this runs once per line of the log.
        mutating func digestHex() -> HashWords? {
            guard bytes.count - position >= 64, let base = bytes.baseAddress else { return nil }
            let digits = (base + position).assumingMemoryBound(to: UInt8.self)
            // Branch-free: hex digits are random, so branches on them mispredict half the time.
            var valid: UInt8 = 1
            @inline(__always) func value(_ c: UInt8) -> UInt64 {
                let isDigit: UInt8 = (c &- 0x30) < 10 ? 1 : 0
                let isLetter: UInt8 = (c &- 0x61) < 6 ? 1 : 0
                valid &= isDigit | isLetter
                return UInt64((c & 0x0F) &+ 9 &* (c >> 6))
            }
            @inline(__always) func word(_ index: Int) -> UInt64 {
                var result: UInt64 = 0
                for byte in 0..<8 {
                    let at = 16 * index + 2 * byte
                    result |= (value(digits[at]) << 4 | value(digits[at + 1])) << UInt64(8 * byte)
                }
                // The digest's bytes, loaded as a little-endian word, match on any host.
                return UInt64(littleEndian: result)
            }
            let words = (word(0), word(1), word(2), word(3))
            guard valid == 1 else { return nil }
            position += 64
            return HashWords(words: words)
        }

        /// A JSON string. Without `decode`, returns "" after checking it.
        mutating func string(decode: Bool) -> String? {
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { return nil }
            position += 1
            if !decode {
                // The verifier's path: skip plain bytes without bounds checks or copies, and
                // leave escapes and the closing quote to the checked loop below.
                guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
                while position < bytes.count {
                    let byte = base[position]
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
                    position += 1
                }
            }
            var out: [UInt8] = []
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                if byte == UInt8(ascii: "\"") {
                    guard decode else { return "" }
                    return String(validating: out, as: UTF8.self)
                }
                if byte < 0x20 { return nil }
                if byte != UInt8(ascii: "\\") {
                    if decode { out.append(byte) }
                    continue
                }
                guard position < bytes.count else { return nil }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): if decode { out.append(escape) }
                case UInt8(ascii: "b"): if decode { out.append(0x08) }
                case UInt8(ascii: "f"): if decode { out.append(0x0C) }
                case UInt8(ascii: "n"): if decode { out.append(0x0A) }
                case UInt8(ascii: "r"): if decode { out.append(0x0D) }
                case UInt8(ascii: "t"): if decode { out.append(0x09) }
                case UInt8(ascii: "u"):
                    guard bytes.count - position >= 4 else { return nil }
                    var scalar: UInt32 = 0
                    for _ in 0..<4 {
                        guard let digit = hexValue(bytes[position]) else { return nil }
                        scalar = scalar << 4 | UInt32(digit)
                        position += 1
                    }
                    // Surrogate pairs are never written by Till; a lone one is malformed.
                    guard let unicode = Unicode.Scalar(scalar) else { return nil }
                    if decode { out += Array(String(Character(unicode)).utf8) }
                default: return nil
                }
            }
            return nil
        }

        private func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 0x30...0x39: byte - 0x30
            case 0x61...0x66: byte - 0x61 + 10
            case 0x41...0x46: byte - 0x41 + 10
            default: nil
            }
        }
    }
}
