import TillCore
import HTTPTypes

/// The API's JSON reader: RFC 8259, strictly, and nothing else.
///
/// Foundation's decoders are lenient in ways that matter for a payments API: a duplicate
/// key silently keeps one of its values (so two readers of the same body can disagree on the
/// amount), `100.0` and `1e3` decode as integers, and a UTF-16 body or a byte order mark is
/// quietly accepted. This reader refuses all of those, limits nesting, and keeps every
/// number that is not written as an integer a `.double`, so ``RequestBody/integer(_:)``
/// refuses it.
enum StrictJSON {
    /// Deeper nesting is refused: no request of the API nests more than three levels, and a
    /// recursive parser must not be driven into a stack overflow.
    static let maxDepth = 32

    /// Parses `bytes` as one JSON value.
    static func parse(_ bytes: [UInt8], maxDepth: Int = StrictJSON.maxDepth) throws(APIError) -> JSONValue {
        try checkEncoding(bytes)
        var parser = Parser(bytes: bytes, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.value(path: "", depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.syntax("unexpected text after the JSON value") }
        return value
    }

    /// UTF-8 only (RFC 8259 §8.1): no byte order mark, no UTF-16 or UTF-32 (which show as
    /// NUL bytes, never legal in JSON text), no invalid sequences.
    static func checkEncoding(_ bytes: [UInt8]) throws(APIError) {
        func refuse(_ why: String) -> APIError {
            APIError(
                .badRequest, .invalidRequest, code: "invalid_encoding", "the request body must be UTF-8 JSON: \(why)")
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { throw refuse("it starts with a byte order mark") }
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) || bytes.contains(0) {
            throw refuse("it looks like UTF-16 or UTF-32")
        }
        guard String(validating: bytes, as: UTF8.self) != nil else { throw refuse("it holds bytes that are not UTF-8") }
    }

    private struct Parser {
        let bytes: [UInt8]
        let maxDepth: Int
        var index = 0

        init(bytes: [UInt8], maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        func syntax(_ why: String) -> APIError {
            APIError(
                .badRequest, .invalidRequest, code: "invalid_json",
                "the request body is not valid JSON: \(why) at byte \(index)")
        }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        }

        mutating func value(path: String, depth: Int) throws(APIError) -> JSONValue {
            guard let byte = current else { throw syntax("the body ends where a value should be") }
            switch byte {
            case UInt8(ascii: "{"): return try object(path: path, depth: depth + 1)
            case UInt8(ascii: "["): return try array(path: path, depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw syntax("unexpected character")
            }
        }

        mutating func literal(_ word: String) throws(APIError) {
            let expected = Array(word.utf8)
            guard index + expected.count <= bytes.count, Array(bytes[index..<index + expected.count]) == expected else {
                throw syntax("unexpected character")
            }
            index += expected.count
        }

        mutating func object(path: String, depth: Int) throws(APIError) -> JSONValue {
            guard depth <= maxDepth else { throw syntax("nested deeper than \(maxDepth) levels") }
            index += 1
            var object: JSONObject = [:]
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                index += 1
                return .object(object)
            }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw syntax("expected a quoted key") }
                let key = try string()
                let keyPath = path.isEmpty ? key : "\(path).\(key)"
                // Two readers of one body must never disagree on a field's value.
                guard object[key] == nil else {
                    throw APIError(
                        .badRequest, .invalidRequest, code: "duplicate_key",
                        "the request body has the key \(keyPath) more than once", param: keyPath)
                }
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { throw syntax("expected ':' after a key") }
                index += 1
                skipWhitespace()
                object[key] = try value(path: keyPath, depth: depth)
                skipWhitespace()
                switch current {
                case UInt8(ascii: ",")?: index += 1
                case UInt8(ascii: "}")?:
                    index += 1
                    return .object(object)
                default: throw syntax("expected ',' or '}'")
                }
            }
        }

        mutating func array(path: String, depth: Int) throws(APIError) -> JSONValue {
            guard depth <= maxDepth else { throw syntax("nested deeper than \(maxDepth) levels") }
            index += 1
            var values: [JSONValue] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                index += 1
                return .array(values)
            }
            while true {
                skipWhitespace()
                values.append(try value(path: "\(path)[\(values.count)]", depth: depth))
                skipWhitespace()
                switch current {
                case UInt8(ascii: ",")?: index += 1
                case UInt8(ascii: "]")?:
                    index += 1
                    return .array(values)
                default: throw syntax("expected ',' or ']'")
                }
            }
        }

        /// RFC 8259 §6. Only `-?(0|[1-9][0-9]*)` that fits 64 bits is an integer; a fraction
        /// or an exponent makes a double even when its value is whole.
        mutating func number() throws(APIError) -> JSONValue {
            let start = index
            if current == UInt8(ascii: "-") { index += 1 }
            func isDigit(_ byte: UInt8?) -> Bool { byte.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
            guard isDigit(current) else { throw syntax("a number needs digits") }
            if current == UInt8(ascii: "0") {
                index += 1
                guard !isDigit(current) else { throw syntax("a number must not have leading zeros") }
            } else {
                while isDigit(current) { index += 1 }
            }
            var integral = true
            if current == UInt8(ascii: ".") {
                integral = false
                index += 1
                guard isDigit(current) else { throw syntax("a fraction needs digits") }
                while isDigit(current) { index += 1 }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                integral = false
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard isDigit(current) else { throw syntax("an exponent needs digits") }
                while isDigit(current) { index += 1 }
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if integral, let value = Int64(text) { return .int(value) }
            guard let value = Double(text), value.isFinite else { throw syntax("a number is out of range") }
            return .double(value)
        }

        /// A string (the opening quote is at `index`), escapes resolved. The body was
        /// checked to be UTF-8, so raw bytes are copied as they are.
        mutating func string() throws(APIError) -> String {
            index += 1
            var out: [UInt8] = []
            while true {
                guard let byte = current else { throw syntax("a string is not closed") }
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    index += 1
                    guard let escaped = current else { throw syntax("a string is not closed") }
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"): try unicodeEscape(into: &out)
                    default: throw syntax("an unknown escape in a string")
                    }
                case 0..<0x20:
                    throw syntax("a control character in a string must be escaped")
                default:
                    out.append(byte)
                    index += 1
                }
            }
        }

        /// `\uXXXX` (the `\u` is consumed), with a surrogate pair as one scalar. A lone
        /// surrogate is no character at all and is refused.
        mutating func unicodeEscape(into out: inout [UInt8]) throws(APIError) {
            var scalar = try hex4()
            if (0xD800...0xDBFF).contains(scalar) {
                guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                    throw syntax("a lone surrogate in a string")
                }
                index += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw syntax("a lone surrogate in a string") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw syntax("a lone surrogate in a string")
            }
            guard let value = Unicode.Scalar(scalar) else { throw syntax("an invalid \\u escape") }
            UTF8.encode(value) { out.append($0) }
        }

        mutating func hex4() throws(APIError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw syntax("a \\u escape needs four hex digits") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw syntax("a \\u escape needs four hex digits")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }
    }
}
