import Foundation
import Logging
import TillHTTP
import TillServer
import TillTesting
import Testing

/// Finds `needle` in `haystack` where it is not part of a longer run of letters or digits
/// (so `4242…` inside a token id like `tok_a4242` would still count, but a CVC's digits
/// inside a longer number would not).
private func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
    let pattern = Array(needle.utf8)
    guard pattern.count <= haystack.count else { return false }
    func isAlphanumeric(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
    }
    var index = 0
    while index + pattern.count <= haystack.count {
        if haystack[index] == pattern[0], Array(haystack[index..<(index + pattern.count)]) == pattern {
            let before = index > 0 ? haystack[index - 1] : 0x20
            let after = index + pattern.count < haystack.count ? haystack[index + pattern.count] : 0x20
            if !isAlphanumeric(before) && !isAlphanumeric(after) { return true }
        }
        index += 1
    }
    return false
}

/// Every regular file below `directory`, recursively.
private func files(under directory: String) -> [String] {
    guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
    return enumerator.compactMap { entry -> String? in
        let path = (directory as NSString).appendingPathComponent(entry as? String ?? "")
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue ? path : nil
    }
}

@Suite("Card data never reaches disk or logs")
struct CardDataHygieneTests {
    @Test("after full checkouts with several cards and sentinel CVCs, no file Till wrote holds a number or CVC")
    func scan() async throws {
        let logFile = FileManager.default.temporaryDirectory.appendingPathComponent("till-hygiene-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: logFile) }
        let cards: [(number: String, cvc: String)] = [
            ("4242424242424242", "8317"), ("5555555555554444", "9274"), ("378282246310005", "6093"),
            ("6011111111111117", "7461"), ("4000000000009995", "5928"), ("4000002760003184", "8043"),
        ]
        let harness = try await DaemonHarness.start(logLevel: .trace, logFile: logFile)
        do {
            for (index, card) in cards.enumerated() {
                // Amex takes a four-digit CVC; the others three: trim the sentinel to fit.
                let cvc = card.number.hasPrefix("3") ? card.cvc : String(card.cvc.prefix(3))
                let token = try await harness.tokenize(card.number, cvc: cvc)
                let payment = try await harness.call(
                    .POST, "/v1/payments",
                    json: #"{"amount": \#(1_000 + index), "currency": "usd", "token": "\#(token)", "capture": "manual"}"#)
                if let id = payment.json["id"] as? String ?? (payment.json["error"] as? [String: Any]).flatMap({ ($0["payment"] as? [String: Any])?["id"] as? String }),
                    payment.status == 201
                {
                    _ = try await harness.call(.POST, "/v1/payments/\(id)/capture", json: "{}")
                    _ = try await harness.call(.POST, "/v1/payments/\(id)/refunds", json: #"{"amount": 100}"#)
                }
            }
            // A bad request that carries a card number must not echo or log it either.
            _ = try await harness.call(
                .POST, "/v1/tokens", json: #"{"card": {"number": "4242424242424241", "exp_month": 1, "exp_year": 2035, "cvc": "8317"}}"#,
                key: harness.publishableKey)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.daemon.stop()
        let written = files(under: harness.dataDirectory) + [logFile]
        #expect(written.contains { $0.hasSuffix("till.sqlite") })
        var needles: [String] = []
        for card in cards {
            let spaced = stride(from: 0, to: card.number.count, by: 4).map {
                String(Array(card.number)[$0..<min($0 + 4, card.number.count)])
            }
            needles += [card.number, spaced.joined(separator: " "), spaced.joined(separator: "-")]
            if card.number.hasPrefix("3") {
                needles.append(card.cvc)
            } else {
                // Three digits alone turn up by chance in binary pages; look for them the way
                // a leak would be written: quoted, or after a separator.
                let cvc = String(card.cvc.prefix(3))
                needles += ["\"\(cvc)\"", ":\(cvc),", "=\(cvc)", ":\(cvc)}"]
            }
        }
        needles.append("4242424242424241")
        var found: [String] = []
        for path in written {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let bytes = Array(data)
            for needle in needles where contains(bytes, needle) {
                found.append("\(needle) in \((path as NSString).lastPathComponent)")
            }
        }
        #expect(found.isEmpty, "\(found)")
        let log = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        #expect(!log.isEmpty, "the daemon logged at trace level")
        await harness.stop()
    }
}
