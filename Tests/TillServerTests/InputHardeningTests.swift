import TillCore
import Foundation
import GRDB
import Logging
import TillHTTP
import TillStore
import TillServer
import TillTesting
import Testing

/// What the API accepts and what it leaks, over real HTTP against the daemon.
@Suite("Input hardening: strict bodies, card numbers, limits, idempotency scope, secrets at rest")
struct InputHardeningTests {
    /// Every file of the data directory (the database, its WAL, the audit log), as bytes.
    private static func dataFiles(_ harness: DaemonHarness) -> [(String, [UInt8])] {
        guard let entries = FileManager.default.enumerator(atPath: harness.dataDirectory) else { return [] }
        return entries.compactMap { entry in
            let path = (harness.dataDirectory as NSString).appendingPathComponent(entry as? String ?? "")
            return FileManager.default.contents(atPath: path).map { (path, Array($0)) }
        }
    }

    private static func holds(_ bytes: [UInt8], _ text: String) -> Bool {
        let needle = Array(text.utf8)
        guard needle.count <= bytes.count else { return false }
        return (0...(bytes.count - needle.count)).contains { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    @Test("every POST route: duplicate keys 400, non-integers 400, other media types 415, UTF-16 and BOM 400")
    func strictBodies() async throws {
        try await DaemonHarness.with { harness in
            let token = try await harness.tokenize()
            let paid = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 900, "currency": "usd", "token": "\#(token)", "capture": "manual"}"#)
            let id = try #require(paid.json["id"] as? String)
            let ledgerBefore = try await harness.stripeAdmin.ledger()
            let routes = [
                "/v1/tokens", "/v1/payments", "/v1/payments/\(id)/capture", "/v1/payments/\(id)/void", "/v1/payments/\(id)/refunds",
                "/v1/disputes/dp_none/evidence", "/v1/disputes/dp_none/accept", "/v1/webhook_endpoints",
                "/v1/webhook_endpoints/we_none/rotate_secret",
            ]
            for path in routes {
                let key = path == "/v1/tokens" ? harness.publishableKey : harness.secretKey
                let duplicate = try await harness.call(.POST, path, json: #"{"amount": 1, "amount": 5}"#, key: key)
                #expect(duplicate.status == 400 && duplicate.errorCode == "duplicate_key", "\(path): \(duplicate.text)")
                let plain = try await harness.send(.POST, path, bytes: Array("{}".utf8), contentType: "text/plain", key: key)
                #expect(plain.status == 415 && plain.errorCode == "unsupported_media_type", "\(path): \(plain.text)")
                let none = try await harness.send(.POST, path, bytes: Array("{}".utf8), contentType: nil, key: key)
                #expect(none.status == 415, "\(path): \(none.text)")
                let utf16 = try await harness.send(
                    .POST, path, bytes: [0xFF, 0xFE] + Array("{}".utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] },
                    contentType: "application/json", key: key)
                #expect(utf16.status == 400 && utf16.errorCode == "invalid_encoding", "\(path): \(utf16.text)")
                let bom = try await harness.send(
                    .POST, path, bytes: [0xEF, 0xBB, 0xBF] + Array("{}".utf8), contentType: "application/json; charset=utf-8", key: key)
                #expect(bom.status == 400 && bom.errorCode == "invalid_encoding", "\(path): \(bom.text)")
            }
            for amount in ["100.0", "1e3", "9.0E2"] {
                let payment = try await harness.call(
                    .POST, "/v1/payments", json: #"{"amount": \#(amount), "currency": "usd", "token": "\#(token)"}"#)
                #expect(payment.status == 400 && payment.errorCode == "parameter_invalid", "\(amount): \(payment.text)")
                let capture = try await harness.call(.POST, "/v1/payments/\(id)/capture", json: #"{"amount": \#(amount)}"#)
                #expect(capture.status == 400 && capture.errorCode == "parameter_invalid", "\(amount): \(capture.text)")
            }
            // Nothing moved.
            #expect(try await harness.stripeAdmin.ledger() == ledgerBefore)
            #expect(try await harness.call(.GET, "/v1/payments/\(id)").json["status"] as? String == "authorized")
            // An operation without parameters needs no body and no Content-Type.
            let void = try await harness.send(.POST, "/v1/payments/\(id)/void", bytes: [], contentType: nil)
            #expect(void.status == 200, "\(void.text)")
        }
    }

    @Test("a card number in any free-text field of any endpoint is a 400 card_number_in_text, never echoed or stored")
    func cardNumbersInText() async throws {
        try await DaemonHarness.with { harness in
            let token = try await harness.tokenize()
            let paid = try await harness.call(.POST, "/v1/payments", json: #"{"amount": 900, "currency": "usd", "token": "\#(token)"}"#)
            let id = try #require(paid.json["id"] as? String)
            let pan = "4000056655665556"
            let spaced = "4000 0566 5566 5556"
            let cases: [(String, String, String, String)] = [
                ("/v1/payments", #"{"amount": 900, "currency": "usd", "token": "\#(token)", "description": "card \#(spaced)"}"#, "description", harness.secretKey),
                ("/v1/payments", #"{"amount": 900, "currency": "usd", "token": "\#(token)", "metadata": {"note": "\#(pan)"}}"#, "metadata.note", harness.secretKey),
                ("/v1/payments", #"{"amount": 900, "currency": "usd", "token": "\#(token)", "metadata": {"\#(pan)": "x"}}"#, "metadata.************5556", harness.secretKey),
                ("/v1/payments", #"{"amount": 900, "currency": "usd", "token": "\#(token)", "pan": "\#(pan)"}"#, "pan", harness.secretKey),
                ("/v1/payments/\(id)/refunds", #"{"reason": "refund \#(pan)"}"#, "reason", harness.secretKey),
                ("/v1/payments/\(id)/capture", #"{"note": "\#(pan)"}"#, "note", harness.secretKey),
                ("/v1/disputes/dp_none/evidence", #"{"customer_communication": "my card is \#(spaced)"}"#, "customer_communication", harness.secretKey),
                ("/v1/webhook_endpoints", #"{"url": "https://shop.example/\#(pan)"}"#, "url", harness.secretKey),
                ("/v1/tokens", #"{"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "name": "\#(pan)"}}"#, "card.name", harness.publishableKey),
            ]
            let eventsBefore = (try await harness.call(.GET, "/v1/events?limit=100").json["data"] as? [Any])?.count
            for (index, (path, body, param, key)) in cases.enumerated() {
                let answer = try await harness.call(.POST, path, json: body, key: key, headers: ["Idempotency-Key": "pan-\(index)"])
                #expect(answer.status == 400, "\(path) \(param): \(answer.text)")
                #expect(answer.errorCode == "card_number_in_text", "\(path) \(param): \(answer.text)")
                #expect((answer.json["error"] as? [String: Any])?["param"] as? String == param, "\(answer.text)")
                #expect(!answer.text.contains(pan) && !answer.text.contains(spaced), "\(answer.text)")
            }
            let key = try await harness.call(.POST, "/v1/payments/\(id)/void", json: "{}", headers: ["Idempotency-Key": "k-\(pan)"])
            #expect(key.errorCode == "card_number_in_text")
            #expect((try await harness.call(.GET, "/v1/events?limit=100").json["data"] as? [Any])?.count == eventsBefore)
            #expect((try await harness.call(.GET, "/v1/payments?limit=100").json["data"] as? [Any])?.count == 1)
            for (path, bytes) in Self.dataFiles(harness) {
                #expect(!Self.holds(bytes, pan) && !Self.holds(bytes, spaced), "\(path)")
            }
        }
    }

    @Test("limits count UTF-8 bytes: just under passes, just over is refused")
    func byteLimits() async throws {
        try await DaemonHarness.with { harness in
            let token = try await harness.tokenize()
            func pay(_ extra: String, key: String? = nil) async throws -> DaemonHarness.Answer {
                try await harness.call(
                    .POST, "/v1/payments", json: #"{"amount": 900, "currency": "usd", "token": "\#(token)"\#(extra)}"#,
                    headers: key.map { ["Idempotency-Key": $0] } ?? [:])
            }
            let e = "é"  // two bytes
            #expect(try await pay(#", "description": "\#(String(repeating: e, count: 500))""#).status == 201)
            let longDescription = try await pay(#", "description": "\#(String(repeating: e, count: 500))x""#)
            #expect(longDescription.status == 400 && longDescription.errorCode == "parameter_too_long", "\(longDescription.text)")
            let cluster = "e" + String(repeating: "\u{301}", count: 40_000)  // one character, 80 KB
            #expect(try await pay(#", "description": "\#(cluster)""#).errorCode == "parameter_too_long")
            #expect(try await pay(#", "metadata": {"\#(String(repeating: e, count: 20))": "\#(String(repeating: e, count: 250))"}"#).status == 201)
            #expect(try await pay(#", "metadata": {"\#(String(repeating: e, count: 20))x": "v"}"#).errorCode == "parameter_too_long")
            #expect(try await pay(#", "metadata": {"k": "\#(String(repeating: e, count: 250))x"}"#).errorCode == "parameter_too_long")
            #expect(try await pay("", key: String(repeating: "a", count: 255)).status == 201)
            let longKey = try await pay("", key: String(repeating: "a", count: 256))
            #expect(longKey.status == 400 && longKey.errorCode == "parameter_invalid", "\(longKey.text)")
            let evidence = try await harness.call(
                .POST, "/v1/disputes/dp_none/evidence", json: #"{"uncategorized_text": "\#(String(repeating: e, count: 10_000))x"}"#)
            #expect(evidence.errorCode == "parameter_too_long", "\(evidence.text)")
            let evidenceUnder = try await harness.call(
                .POST, "/v1/disputes/dp_none/evidence", json: #"{"uncategorized_text": "\#(String(repeating: e, count: 10_000))"}"#)
            #expect(evidenceUnder.status == 404, "\(evidenceUnder.text)")
            let name = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 900, "currency": "usd", "token": "\#(String(repeating: e, count: 128))"}"#)
            #expect(name.errorCode == "parameter_too_long")
            #expect(try await harness.call(.GET, "/v1/events?type=\(String(repeating: "a", count: 256))").status == 400)
        }
    }

    @Test("amounts above the currency's ceiling are refused before any gateway call")
    func amountCeiling() async throws {
        try await DaemonHarness.with { harness in
            let token = try await harness.tokenize()
            let ledgerBefore = try await harness.stripeAdmin.ledger()
            for (amount, currency) in [(100_000_000, "usd"), (100_000_000, "jpy"), (Int64.max, "usd")] {
                let answer = try await harness.call(
                    .POST, "/v1/payments", json: #"{"amount": \#(amount), "currency": "\#(currency)", "token": "\#(token)"}"#)
                #expect(answer.status == 400 && answer.errorCode == "amount_too_large", "\(answer.text)")
                #expect((answer.json["error"] as? [String: Any])?["param"] as? String == "amount")
            }
            #expect(try await harness.stripeAdmin.ledger() == ledgerBefore)
            let most = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 99999999, "currency": "usd", "token": "\#(token)", "capture": "manual"}"#)
            #expect(most.status == 201, "\(most.text)")
        }
    }

    @Test("the most metadata Till allows goes through the Stripe sandbox; one key more, or a reserved key, is a clear 400")
    func metadataRoom() async throws {
        try await DaemonHarness.with { harness in
            let token = try await harness.tokenize()
            func pay(_ count: Int, extra: [String: String] = [:]) async throws -> DaemonHarness.Answer {
                var metadata = Dictionary(uniqueKeysWithValues: (0..<count).map { ("key_\($0)", String(repeating: "v", count: 500)) })
                metadata.merge(extra) { _, new in new }
                let json = JSONValue.object(["metadata": .object(metadata.mapValues { .string($0) })]).data
                let body = String(decoding: json.dropLast(), as: UTF8.self) + #", "amount": 900, "currency": "usd", "token": "\#(token)"}"#
                return try await harness.call(.POST, "/v1/payments", json: body)
            }
            let most = try await pay(MetadataLimits.maxKeys)
            #expect(most.status == 201, "\(most.text)")
            #expect(most.json["status"] as? String == "captured", "\(most.text)")
            #expect((most.json["metadata"] as? [String: Any])?.count == MetadataLimits.maxKeys)
            let more = try await pay(MetadataLimits.maxKeys + 1)
            #expect(more.status == 400 && more.errorCode == "metadata_too_many_keys", "\(more.text)")
            let reserved = try await pay(1, extra: ["till_payment": "pay_other"])
            #expect(reserved.status == 400 && reserved.errorCode == "metadata_key_reserved", "\(reserved.text)")
            #expect((reserved.json["error"] as? [String: Any])?["param"] as? String == "metadata.till_payment")
        }
    }

    @Test("one Idempotency-Key used with the publishable key and with the secret key names two requests")
    func idempotencyScope() async throws {
        try await DaemonHarness.with { harness in
            let card = #"{"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}}"#
            let headers = ["Idempotency-Key": "order-1234"]
            let tokenAnswer = try await harness.call(.POST, "/v1/tokens", json: card, key: harness.publishableKey, headers: headers)
            #expect(tokenAnswer.status == 201)
            let token = try #require(tokenAnswer.json["id"] as? String)
            let payment = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 900, "currency": "usd", "token": "\#(token)"}"#, headers: headers)
            #expect(payment.status == 201, "\(payment.text)")
            #expect(payment.headers.first(name: "Idempotent-Replayed") == nil)
            // Each scope still replays its own answer.
            let tokenAgain = try await harness.call(.POST, "/v1/tokens", json: card, key: harness.publishableKey, headers: headers)
            #expect(tokenAgain.json["id"] as? String == token)
            #expect(tokenAgain.headers.first(name: "Idempotent-Replayed") == "true")
            let paymentAgain = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 900, "currency": "usd", "token": "\#(token)"}"#, headers: headers)
            #expect(paymentAgain.json["id"] as? String == payment.json["id"] as? String)
            #expect(paymentAgain.headers.first(name: "Idempotent-Replayed") == "true")
            // The secret key's token request with the same key is its own, too.
            let secretToken = try await harness.call(.POST, "/v1/tokens", json: card, headers: headers)
            #expect(secretToken.status == 409 && secretToken.errorCode == "idempotency_key_reused", "\(secretToken.text)")
        }
    }

    @Test("a webhook endpoint's secret is shown once: replays of create and rotate answer without it, and no idempotency record holds it")
    func secretShownOnce() async throws {
        try await DaemonHarness.with { harness in
            let body = #"{"url": "https://shop.example/hooks"}"#
            let created = try await harness.call(.POST, "/v1/webhook_endpoints", json: body, headers: ["Idempotency-Key": "we-1"])
            #expect(created.status == 201)
            let first = try #require(created.json["secret"] as? String)
            let id = try #require(created.json["id"] as? String)
            let replay = try await harness.call(.POST, "/v1/webhook_endpoints", json: body, headers: ["Idempotency-Key": "we-1"])
            #expect(replay.status == 201)
            #expect(replay.headers.first(name: "Idempotent-Replayed") == "true")
            #expect(replay.json["id"] as? String == id)
            #expect(replay.json["secret"] is NSNull)
            #expect(replay.json["secret_shown"] as? String == "once")
            #expect(!replay.text.contains(first))

            let rotated = try await harness.call(.POST, "/v1/webhook_endpoints/\(id)/rotate_secret", headers: ["Idempotency-Key": "rot-1"])
            let second = try #require(rotated.json["secret"] as? String)
            #expect(second != first)
            let rotatedAgain = try await harness.call(.POST, "/v1/webhook_endpoints/\(id)/rotate_secret", headers: ["Idempotency-Key": "rot-1"])
            #expect(rotatedAgain.json["secret"] is NSNull && rotatedAgain.json["secret_shown"] as? String == "once")
            #expect(!rotatedAgain.text.contains(second))

            let database = harness.daemon.server.store.database.pool
            let stored = try await database.read { db in
                try Data.fetchAll(db, sql: "SELECT response_body FROM idempotency_keys WHERE response_body IS NOT NULL")
            }
            #expect(stored.count == 2)
            #expect(stored.allSatisfy { !Self.holds(Array($0), "whsec_") })
            // The rotated-away secret is nowhere on disk once the WAL is checkpointed.
            try await database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            for (path, bytes) in Self.dataFiles(harness) {
                #expect(!Self.holds(bytes, first), "\(path)")
            }
        }
    }

    @Test("a card number in a URL path reaches neither the log, the answer nor the database")
    func cardNumberInPath() async throws {
        let logFile = FileManager.default.temporaryDirectory.appendingPathComponent("till-pan-path-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: logFile) }
        let harness = try await DaemonHarness.start(logLevel: .trace, logFile: logFile)
        do {
            let pan = "4000056655665556"
            let spaced = "4000 0566 5566 5556"
            var answers: [String] = []
            for path in ["/v1/payments/\(pan)", "/v1/payments/4000%200566%205566%205556", "/v1/payments/\(pan)/refunds"] {
                let answer = try await harness.call(.GET, path)
                #expect(answer.status == 404, "\(answer.text)")
                answers.append(answer.text)
                answers.append(try await harness.call(.GET, path, key: "").text)
            }
            for path in ["/v1/payments/\(pan)/capture", "/v1/disputes/\(pan)/accept"] {
                let answer = try await harness.call(.POST, path, json: "{}", headers: ["Idempotency-Key": "path-\(path.count)"])
                #expect(answer.status == 404, "\(answer.text)")
                answers.append(answer.text)
            }
            answers.append(try await harness.call(.GET, "/v1/payments?starting_after=\(pan)").text)
            answers.append(try await harness.call(.GET, "/v1/events?payment=\(pan)").text)
            let files = Self.dataFiles(harness)
            #expect(!files.isEmpty)
            for (path, bytes) in files {
                #expect(!Self.holds(bytes, pan) && !Self.holds(bytes, spaced), "\(path)")
            }
            await harness.stop()
            let log = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
            for text in answers + [log] {
                #expect(!text.contains(pan) && !text.contains(spaced), "\(text.prefix(2000))")
            }
        } catch {
            await harness.stop()
            throw error
        }
    }
}
