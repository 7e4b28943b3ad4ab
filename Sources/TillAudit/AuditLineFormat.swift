import Foundation
import TillCore
import TillCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
        JSONString.write(entry.time, into: &out)
        let event = entry.event
        for (name, value) in [
            ("actor", event.actor), ("action", event.action.rawValue), ("subject", event.subject),
            ("result", event.result.rawValue), ("origin", event.origin),
        ] {
            out += #","\#(name)":"#.utf8
            JSONString.write(value, into: &out)
        }
        if !event.details.isEmpty {
            out += #","details":{"#.utf8
            for (index, key) in event.details.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONString.write(key, into: &out)
                out.append(UInt8(ascii: ":"))
                JSONString.write(event.details[key] ?? "", into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "}"))
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

// MARK: The verifier's fast path

extension AuditLineFormat {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// The sequence number and `prev` of a well-formed line whose strings hold no escapes,
    /// checked eight bytes at a time without building anything. Returns nil for every other
    /// line -- malformed, or merely unusual (escapes, a 20-digit number) -- and the caller
    /// asks ``parse(_:decode:)``, which has the last word and the reason. Whenever this
    /// returns a value, ``parse(_:decode:)`` accepts the line with the same fields.
    static func quickHeader(_ line: UnsafeRawBufferPointer) -> (sequence: UInt64, previous: HashWords)? {
        guard let raw = line.baseAddress else { return nil }
        var p = raw.assumingMemoryBound(to: UInt8.self)
        let end = p + line.count
        guard skip(&p, end, #"{"seq":"#) else { return nil }
        let digitsStart = p
        var sequence: UInt64 = 0
        while p < end, p.pointee &- 0x30 < 10 {
            // 19 digits cannot overflow; longer numbers are left to the checked parser.
            guard p - digitsStart < 19 else { return nil }
            sequence = sequence &* 10 &+ UInt64(p.pointee &- 0x30)
            p += 1
        }
        let digitCount = p - digitsStart
        guard digitCount > 0, digitCount == 1 || digitsStart.pointee != 0x30 else { return nil }
        guard skip(&p, end, #","prev":""#), end - p >= 64 else { return nil }
        var invalid: UInt64 = 0
        let previous = HashWords(words: (
            hexWord(p, &invalid), hexWord(p + 16, &invalid), hexWord(p + 32, &invalid), hexWord(p + 48, &invalid)
        ))
        guard invalid == 0 else { return nil }
        p += 64
        guard skip(&p, end, #"","time":"#), skipString(&p, end),
            skip(&p, end, #","actor":"#), skipString(&p, end),
            skip(&p, end, #","action":"#), skipString(&p, end),
            skip(&p, end, #","subject":"#), skipString(&p, end),
            skip(&p, end, #","result":"#), skipString(&p, end),
            skip(&p, end, #","origin":"#), skipString(&p, end)
        else { return nil }
        if skip(&p, end, #","details":{"#) {
            if !skip(&p, end, "}") {
                while true {
                    guard skipString(&p, end), skip(&p, end, ":"), skipString(&p, end) else { return nil }
                    if skip(&p, end, ",") { continue }
                    guard skip(&p, end, "}") else { return nil }
                    break
                }
            }
        }
        guard skip(&p, end, "}"), p == end else { return nil }
        return (sequence, previous)
    }

    /// Steps over `literal` if the bytes at `p` are exactly it.
    @inline(__always)
    private static func skip(_ p: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard end - p >= count, memcmp(p, literal.utf8Start, count) == 0 else { return false }
        p += count
        return true
    }

    /// Steps over a JSON string without escapes: a quote, bytes that are not a quote, a
    /// backslash or a control byte, and a quote. Scans eight bytes per step.
    @inline(__always)
    private static func skipString(_ p: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Bool {
        guard p < end, p.pointee == UInt8(ascii: "\"") else { return false }
        p += 1
        while end - p >= 8 {
            let x = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
            let quote = x ^ (ones &* 0x22)
            let backslash = x ^ (ones &* 0x5C)
            // Each term flags a byte equal to 0 (or below 0x20): exact for the lowest flagged
            // byte, which is all that is used.
            let hits = ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (x &- ones &* 0x20) & ~x) & highBits
            if hits != 0 {
                p += hits.trailingZeroBitCount >> 3
                break
            }
            p += 8
        }
        while p < end {
            let byte = p.pointee
            p += 1
            if byte == UInt8(ascii: "\"") { return true }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { return false }
        }
        return false
    }

    /// 16 lowercase hex digits at `p` as the 8 bytes they spell, in memory order, loaded as a
    /// little-endian word (as ``HashWords`` holds them). Sets bits in `invalid` for any byte
    /// that is not 0-9 or a-f.
    @inline(__always)
    private static func hexWord(_ p: UnsafePointer<UInt8>, _ invalid: inout UInt64) -> UInt64 {
        let low = hexHalf(UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self)), &invalid)
        let high = hexHalf(UInt64(littleEndian: UnsafeRawPointer(p + 8).loadUnaligned(as: UInt64.self)), &invalid)
        return UInt64(littleEndian: low | high << 32)
    }

    /// Eight hex digits (byte 0 first) as four bytes in the low half, byte 0 lowest.
    @inline(__always)
    private static func hexHalf(_ x: UInt64, _ invalid: inout UInt64) -> UInt64 {
        // Per byte, for bytes below 0x80 (no carries between bytes): x + (0x80 - lo) has its
        // high bit set iff x >= lo, and x + (0x7F - hi) iff x > hi.
        let isDigit = (x &+ ones &* (0x80 - 0x30)) & ~(x &+ ones &* (0x7F - 0x39))
        let isLetter = (x &+ ones &* (0x80 - 0x61)) & ~(x &+ ones &* (0x7F - 0x66))
        invalid |= (x | ~(isDigit | isLetter)) & highBits
        // '0'-'9' -> 0-9, 'a'-'f' -> 10-15: the low nibble, plus 9 when bit 6 is set.
        let nibbles = (x & (ones &* 0x0F)) &+ ((x >> 6) & ones) &* 9
        // Byte 2i becomes nibble 2i << 4 | nibble 2i+1; then the even bytes are gathered.
        var packed = ((nibbles << 4) | (nibbles >> 8)) & 0x00FF_00FF_00FF_00FF
        packed = (packed | packed >> 8) & 0x0000_FFFF_0000_FFFF
        packed = (packed | packed >> 16) & 0x0000_0000_FFFF_FFFF
        return packed
    }
}

extension AuditEntry {
    /// Whether the verifier's fast read of `line`'s header agrees with the checked layout
    /// parser it falls back to: when the fast path accepts a line, the parser must accept it
    /// with the same sequence and previous hash. For the fuzz target; both are internal.
    @_spi(Fuzzing) public static func fastHeaderAgreesWithParser(_ line: UnsafeRawBufferPointer) -> Bool {
        guard let quick = AuditLineFormat.quickHeader(line) else { return true }
        guard case .success(let fields) = AuditLineFormat.parse(line, decode: false) else { return false }
        return fields.sequence == quick.sequence && fields.previous == quick.previous
    }
}
