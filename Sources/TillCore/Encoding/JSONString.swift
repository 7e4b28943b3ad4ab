/// RFC 8259 §7 string escaping, for every JSON that Till writes by hand: the daemon's
/// answers and events, the gateways' request bodies, the sandboxes' objects and the audit
/// log's lines.
///
/// One copy, because the output is a promise: the audit log's lines are hashed into a chain
/// and a Merkle tree, so the bytes written for a string must never change, and every writer
/// must agree with the one the verifier's fast path expects. The quotation mark, the
/// reverse solidus and the C0 controls (U+0000 to U+001F) are escaped, `\n`, `\r` and `\t`
/// in their short forms and the rest as `\u00xx` in lowercase hex. Everything else is
/// written as its UTF-8 bytes: `/`, DEL, U+2028, U+2029 and characters beyond the BMP are
/// valid in a JSON string, and every reader of these bytes is a JSON parser, not a
/// JavaScript `eval`.
public enum JSONString {
    /// Appends `value` to `out` as a JSON string, quotation marks included.
    public static func write(_ value: String, into out: inout [UInt8]) {
        out.append(quotationMark)
        var value = value
        value.withUTF8 { bytes in
            // Runs that need no escape are copied whole; most strings are one run.
            var runStart = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == quotationMark || byte == reverseSolidus else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                appendEscape(of: byte, to: &out)
                runStart = index + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
        }
        out.append(quotationMark)
    }

    /// `value` as a JSON string, quotation marks included.
    public static func quoted(_ value: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count + 2)
        write(value, into: &out)
        return out
    }

    private static let quotationMark = UInt8(ascii: "\"")
    private static let reverseSolidus = UInt8(ascii: "\\")
    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func appendEscape(of byte: UInt8, to out: inout [UInt8]) {
        out.append(reverseSolidus)
        switch byte {
        case quotationMark, reverseSolidus: out.append(byte)
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        default:
            out += [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")]
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0F)])
        }
    }
}
