import TillCore
import Foundation
import TillServer
import Testing

@Suite("JSONValue serialization")
struct JSONValueTests {
    /// Random trees with awkward strings: quotes, backslashes, control characters, slashes,
    /// non-ASCII text and emoji.
    private static func randomValue(depth: Int, using generator: inout some RandomNumberGenerator) -> JSONValue {
        let pieces = ["a", "\"", "\\", "\n", "\r", "\t", "\u{01}", "\u{1F}", "/", "é", "日本", "🙂", " ", "0", "\u{7F}"]
        func string() -> String {
            (0..<Int.random(in: 0...6, using: &generator)).map { _ in pieces.randomElement(using: &generator) ?? "" }.joined()
        }
        switch Int.random(in: 0...(depth > 0 ? 7 : 4), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .int(Int64.random(in: Int64.min...Int64.max, using: &generator))
        // Never integral: those read back as integers, as JSON does not tell them apart.
        case 3: return .double(Double(Int.random(in: -1_000_000...1_000_000, using: &generator)) / 64 + 1.0 / 128)
        case 4: return .string(string())
        case 5: return .array((0..<Int.random(in: 0...4, using: &generator)).map { _ in randomValue(depth: depth - 1, using: &generator) })
        default:
            var object: JSONObject = [:]
            for _ in 0..<Int.random(in: 0...4, using: &generator) { object[string()] = randomValue(depth: depth - 1, using: &generator) }
            return .object(object)
        }
    }

    @Test("any value reads back equal through JSONDecoder, with keys in sorted order")
    func roundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let value = Self.randomValue(depth: 3, using: &generator)
            let data = value.data
            #expect(try JSONDecoder().decode(JSONValue.self, from: data) == value, "\(String(decoding: data, as: UTF8.self))")
        }
        let object: JSONValue = .object(["b": .int(1), "a": .string("x/y"), "c": .array([.null, .bool(true)])])
        #expect(String(decoding: object.data, as: UTF8.self) == #"{"a":"x/y","b":1,"c":[null,true]}"#)
        #expect(String(decoding: JSONValue.string("\u{0}\"\\\n").data, as: UTF8.self) == #""\u0000\"\\\n""#)
        #expect(String(decoding: JSONValue.double(.infinity).data, as: UTF8.self) == "null")
    }
}
