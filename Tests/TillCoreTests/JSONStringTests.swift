import Foundation
import PropertyBased
import Testing
import TillCore

@Suite("JSON string escaping")
struct JSONStringTests {
    /// What every ASCII character is written as. The escaper works on UTF-8 bytes and
    /// passes every byte from 0x80 up through unchanged, so this table and the test below
    /// pin its output for every string: the audit log's hash chain depends on it.
    static func expected(_ byte: UInt8) -> String {
        switch byte {
        case 0x22: #"\""#
        case 0x5C: #"\\"#
        case 0x0A: #"\n"#
        case 0x0D: #"\r"#
        case 0x09: #"\t"#
        case 0x00..<0x20: #"\u00"# + (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
        default: String(UnicodeScalar(byte))
        }
    }

    @Test("every ASCII character is written as before: quote, backslash and C0 controls escaped, nothing else")
    func everyASCIICharacter() {
        for byte in UInt8(0)...0x7F {
            let text = String(UnicodeScalar(byte))
            #expect(JSONString.quoted(text) == Array(("\"" + Self.expected(byte) + "\"").utf8), "byte \(byte)")
        }
        #expect(String(decoding: JSONString.quoted("\u{1F}\u{7F}/\u{0B}\u{0C}\u{08}"), as: UTF8.self) == #""\u001f\#u{7F}/\u000b\u000c\u0008""#)
    }

    @Test("bytes from 0x80 up are written unchanged: U+2028, U+2029, the BOM, astral characters")
    func nonASCIIUnchanged() {
        for text in ["\u{80}", "\u{A0}", "é", "\u{2028}", "\u{2029}", "\u{FEFF}", "\u{FFFF}", "\u{1F4B3}", "\u{10FFFF}", "ж\u{0301}"] {
            #expect(JSONString.quoted(text) == [0x22] + Array(text.utf8) + [0x22], "\(text.unicodeScalars.map(\.value))")
        }
    }

    @Test("write appends to what is already there; escapes between runs keep the runs intact")
    func appends() {
        var out = Array("[".utf8)
        JSONString.write("", into: &out)
        out.append(UInt8(ascii: ","))
        JSONString.write("ab\"cd\\\\ef\ngh\u{0}", into: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"["","ab\"cd\\\\ef\ngh\u0000""#)
    }

    /// Scalars weighted towards what JSON treats specially.
    static let scalar = Gen.uint32(in: 0...UInt32.max).map { value -> UnicodeScalar in
        let payload = value >> 3
        let special: [UInt32] = [0x22, 0x5C, 0x2F, 0x7F, 0x2028, 0x2029, 0xFEFF, 0xFFFD, 0xFFFF]
        let code: UInt32 =
            switch value & 7 {
            case 0: payload % 0x20  // a C0 control
            case 1: special[Int(payload % UInt32(special.count))]
            case 2: 0x80 + payload % (0xD800 - 0x80)  // the BMP below the surrogates
            case 3: 0xE000 + payload % (0x1_0000 - 0xE000)  // the BMP above them
            case 4: 0x1_0000 + payload % (0x11_0000 - 0x1_0000)  // beyond the BMP
            default: 0x20 + payload % 0x5F  // printable ASCII
            }
        return UnicodeScalar(code) ?? "?"
    }

    @Test("random strings parse back to the same scalars with JSONSerialization and JSONDecoder")
    func roundTrip() async {
        await propertyCheck(count: 1000, input: Self.scalar.array(of: 0...40)) { scalars in
            var text = ""
            text.unicodeScalars.append(contentsOf: scalars)
            let bytes = JSONString.quoted(text)
            let parsed = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) as? String
            // JSONSerialization on Linux drops a U+FEFF that starts a string or follows an
            // escape, even one written `\ufeff` (swiftlang/swift-foundation#300): a reader's
            // bug, so it is left out of its comparison, and JSONDecoder checks every scalar.
            func withoutBOM(_ scalars: some Sequence<UnicodeScalar>) -> [UnicodeScalar] { scalars.filter { $0 != "\u{FEFF}" } }
            #expect(parsed.map { withoutBOM($0.unicodeScalars) } == withoutBOM(scalars))
            let decoded = try? JSONDecoder().decode(String.self, from: Data(bytes))
            #expect(decoded.map { Array($0.unicodeScalars) } == scalars)
            // Every escape is one a JSON parser must read; no raw control byte is left.
            #expect(!bytes.contains { $0 < 0x20 })
        }
    }
}
