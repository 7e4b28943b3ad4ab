import TillCore
import TillCrypto

/// A JSON request body written straight to bytes, so that card data can be copied from
/// ``SecureBytes`` into the body without ever becoming a `String` (which could end up in a
/// log line, a description or an error message).
indirect enum RequestBody: Sendable {
    case string(String)
    case bool(Bool)
    case object([(String, RequestBody)])
    case array([RequestBody])
    /// A JSON document the caller has already checked parses (a webhook event passed on
    /// to PayPal as received), written as is.
    case json([UInt8])
    /// ASCII digits from the vault, written as a JSON string. The caller checks they are digits.
    case secretDigits(SecureBytes)

    var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        write(into: &out)
        return out
    }

    private func write(into out: inout [UInt8]) {
        switch self {
        case .string(let text):
            JSONString.write(text, into: &out)
        case .bool(let value):
            out.append(contentsOf: (value ? "true" : "false").utf8)
        case .json(let document):
            out.append(contentsOf: document)
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONString.write(key, into: &out)
                out.append(UInt8(ascii: ":"))
                value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                element.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .secretDigits(let digits):
            out.append(UInt8(ascii: "\""))
            digits.withUnsafeBytes { out.append(contentsOf: $0) }
            out.append(UInt8(ascii: "\""))
        }
    }
}

extension SecureBytes {
    /// Whether every byte is an ASCII digit and the count is in `lengths`.
    func isDigits(count lengths: ClosedRange<Int>) -> Bool {
        lengths.contains(count) && withUnsafeBytes { $0.allSatisfy { (48...57).contains($0) } }
    }
}
