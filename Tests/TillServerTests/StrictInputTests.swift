import Foundation
import Logging
import Synchronization
import HTTPTypes
import TillCore
import TillServer
import Testing

/// The body reader alone: strict JSON, card numbers in text, byte limits.
@Suite("RequestBody: strict JSON, no card numbers in text, limits in bytes")
struct RequestBodyTests {
    private func code(_ text: String, allowed: Set<String> = ["a", "b", "amount", "metadata", "card"]) -> String? {
        code(Array(text.utf8), allowed: allowed)
    }

    private func code(_ bytes: [UInt8], allowed: Set<String> = ["a", "b", "amount", "metadata", "card"]) -> String? {
        do {
            _ = try RequestBody(bytes, allowed: allowed, cardNumberFields: ["card.number"])
            return nil
        } catch {
            return error.code
        }
    }

    @Test("duplicate keys are refused, at any depth, naming the key")
    func duplicateKeys() throws {
        #expect(code(#"{"a": 1, "a": 2}"#) == "duplicate_key")
        #expect(code(#"{"metadata": {"x": "1", "x": "2"}}"#) == "duplicate_key")
        do {
            _ = try RequestBody(Array(#"{"metadata": {"x": "1", "x": "2"}}"#.utf8), allowed: ["metadata"])
            Issue.record("accepted a duplicate key")
        } catch {
            #expect(error.param == "metadata.x")
        }
        // The same key in different objects is no duplicate.
        #expect(code(#"{"a": {"x": 1}, "b": {"x": 2}}"#) == nil)
    }

    @Test("integers only where integers are expected: 100.0, 1e3, -0.0 and 1E2 are not", arguments: [
        "100.0", "1e3", "1E2", "1.5", "-0.0", "9223372036854775808",
    ])
    func nonIntegers(_ number: String) throws {
        let body = try RequestBody(Array(#"{"amount": \#(number)}"#.utf8), allowed: ["amount"])
        #expect(throws: APIError.self) { try body.integer("amount") }
    }

    @Test("plain integers are integers")
    func integers() throws {
        let body = try RequestBody(Array(#"{"amount": 100, "a": -7, "b": 0}"#.utf8), allowed: ["amount", "a", "b"])
        #expect(try body.integer("amount") == 100)
        #expect(try body.integer("a") == -7)
        #expect(try body.integer("b") == 0)
    }

    @Test("only UTF-8: a byte order mark, UTF-16 (either order) and invalid bytes are refused")
    func encodings() {
        let json = #"{"a": "x"}"#
        #expect(code([0xEF, 0xBB, 0xBF] + Array(json.utf8)) == "invalid_encoding")
        let le = Array(json.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let be = Array(json.utf16).flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        #expect(code([0xFF, 0xFE] + le) == "invalid_encoding")
        #expect(code(le) == "invalid_encoding")
        #expect(code(be) == "invalid_encoding")
        #expect(code(Array(#"{"a": ""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)) == "invalid_encoding")
        #expect(code(#"{"a": "naïve ✓ 日本"}"#) == nil)
    }

    @Test("malformed JSON is invalid_json", arguments: [
        #"{"a": 01}"#, #"{"a": 1,}"#, #"{"a": "\ud800"}"#, #"{"a": "\x"}"#, "{\"a\": \"tab\there\"}", #"{"a": tru}"#,
        #"{"a": 1} x"#, #"{'a': 1}"#, #"{"a": .5}"#, #"{"a": 1.}"#, #"{"a": NaN}"#, #"{"a": 1e999}"#,
    ])
    func malformed(_ text: String) {
        #expect(code(text) == "invalid_json", "\(text)")
    }

    @Test("escapes and surrogate pairs decode; nesting is bounded")
    func escapesAndDepth() throws {
        let body = try RequestBody(Array(#"{"a": "\u00e9\ud83d\ude00\n\/\"", "b": [[{}], null, true]}"#.utf8), allowed: ["a", "b"])
        #expect(try body.string("a") == "é😀\n/\"")
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        #expect(code(#"{"a": \#(deep)}"#) == "invalid_json")
    }

    @Test("a card number in any text but card.number is refused without being echoed", arguments: [
        #"{"a": "4242424242424242"}"#, #"{"a": "call 4242 4242 4242 4242"}"#, #"{"metadata": {"card": "4000-0566-5566-5556"}}"#,
        #"{"metadata": {"4242424242424242": "x"}}"#, #"{"colour": "4242424242424242"}"#, #"{"4242424242424242": 1}"#,
        #"{"b": ["x", "378282246310005"]}"#, #"{"card": {"number": "4242424242424242", "name": "4242424242424242"}}"#,
    ])
    func cardNumbers(_ text: String) {
        do {
            _ = try RequestBody(Array(text.utf8), allowed: ["a", "b", "metadata", "card"], cardNumberFields: ["card.number"])
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.code == "card_number_in_text", "\(text)")
            let answer = String(decoding: JSONValue.object(error.body).data, as: UTF8.self)
            for digits in ["4242424242424242", "4242 4242 4242 4242", "4000-0566-5566-5556", "378282246310005"] {
                #expect(!answer.contains(digits), "\(answer)")
            }
        }
    }

    @Test("card.number may hold the card; short digit runs and non-Luhn numbers are ordinary text")
    func allowedNumbers() {
        #expect(code(#"{"card": {"number": "4242424242424242"}}"#) == nil)
        #expect(code(#"{"a": "order 12345", "b": "4242424242424241"}"#) == nil)
    }

    @Test("strings are limited in UTF-8 bytes, not characters")
    func byteLimits() throws {
        let under = try RequestBody(Array(#"{"a": "\#(String(repeating: "é", count: 127))"}"#.utf8), allowed: ["a"])
        #expect(try under.string("a")?.utf8.count == 254)
        let over = try RequestBody(Array(#"{"a": "\#(String(repeating: "é", count: 128))"}"#.utf8), allowed: ["a"])
        #expect(throws: APIError.self) { try over.string("a") }
        // One grapheme cluster of 2 KB is one "character" and 2001 bytes.
        let cluster = "e" + String(repeating: "\u{301}", count: 1000)
        #expect(cluster.count == 1)
        let hidden = try RequestBody(Array(#"{"a": "\#(cluster)"}"#.utf8), allowed: ["a"])
        #expect(throws: APIError.self) { try hidden.string("a", maxBytes: 1_000) }
    }

    @Test("metadata: key and value bytes, key count with room for Till's keys, reserved names")
    func metadata() throws {
        func metadata(_ object: [String: String]) throws(APIError) -> [String: String] {
            let json = JSONValue.object(["metadata": .object(object.mapValues { .string($0) })]).data
            return try RequestBody(Array(json), allowed: ["metadata"]).metadata()
        }
        #expect(MetadataLimits.maxKeys == 48)
        #expect(try metadata([String(repeating: "é", count: 20): String(repeating: "é", count: 250)]).count == 1)
        #expect(throws: APIError.self) { try metadata([String(repeating: "é", count: 21): "x"]) }
        #expect(throws: APIError.self) { try metadata(["k": String(repeating: "é", count: 251)]) }
        let most = Dictionary(uniqueKeysWithValues: (0..<48).map { ("k\($0)", "v") })
        #expect(try metadata(most).count == 48)
        var oneMore = most
        oneMore["k48"] = "v"
        do {
            _ = try metadata(oneMore)
            Issue.record("accepted 49 keys")
        } catch {
            #expect(error.code == "metadata_too_many_keys")
        }
        for reserved in ["till_payment", "till_transaction", "till_anything"] {
            do {
                _ = try metadata([reserved: "x"])
                Issue.record("accepted \(reserved)")
            } catch {
                #expect(error.code == "metadata_key_reserved")
            }
        }
        #expect(throws: APIError.self) { try metadata(["a]b": "x"]) }
        #expect(throws: APIError.self) { try metadata(["": "x"]) }
    }

    @Test("Content-Type: application/json, with charset=utf-8 at most")
    func mediaTypes() {
        for good in ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8", #"application/json; charset="utf-8""#] {
            #expect(throws: Never.self) { try RequestBody.checkMediaType([good]) }
        }
        for bad in [
            [], ["text/plain"], ["application/json; charset=utf-16"], ["application/x-www-form-urlencoded"],
            ["application/json-patch+json"], ["application/json; boundary=x"], ["application/json", "application/json"],
        ] {
            do {
                try RequestBody.checkMediaType(bad)
                Issue.record("accepted \(bad)")
            } catch {
                #expect(error.status.code == 415)
                #expect(error.code == "unsupported_media_type")
            }
        }
    }

    @Test("amount limits: Stripe's ceiling by default, per-currency overrides")
    func amountLimits() throws {
        let usd = try #require(Currency(code: "USD"))
        let jpy = try #require(Currency(code: "JPY"))
        let limits = AmountLimits(overrides: ["JPY": 5_000_000])
        #expect(limits.maximum(for: usd) == 99_999_999)
        #expect(limits.maximum(for: jpy) == 5_000_000)
    }
}

/// Collects what a wrapped handler receives.
private final class Collected: Sendable {
    let lines = Mutex<[String]>([])
}

private struct CollectingHandler: LogHandler {
    let sink: Collected
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let line = "\(event.message) \(merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })"
        sink.lines.withLock { $0.append(line) }
    }
}

@Suite("PANMaskingLogHandler")
struct PANMaskingLogHandlerTests {
    @Test("message, stored and per-line metadata (keys, nested values) and errors are masked before the wrapped handler sees them")
    func masks() {
        struct Failure: Error, CustomStringConvertible { var description: String { "gateway said 4242424242424242" } }
        let sink = Collected()
        var logger = PANMaskingLogHandler.masking(Logger(label: "test") { _ in CollectingHandler(sink: sink) })
        logger = PANMaskingLogHandler.masking(logger)
        logger[metadataKey: "path"] = "/v1/payments/4242424242424242"
        logger.error(
            "no payment 4242 4242 4242 4242",
            metadata: ["nested": ["a": "4000-0566-5566-5556", "list": ["378282246310005"]], "4242424242424242": "k"])
        logger.warning("failed", error: Failure())
        let lines = sink.lines.withLock { $0 }
        #expect(lines.count == 2)
        for line in lines {
            for digits in ["4242424242424242", "4242 4242 4242 4242", "4000-0566-5566-5556", "378282246310005"] {
                #expect(!line.contains(digits), "\(line)")
            }
        }
        #expect(lines.first?.contains("************4242") == true)
        #expect(lines.last?.contains("gateway said ************4242") == true)
    }
}
