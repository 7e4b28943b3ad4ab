import Foundation
import GRDB
import TillCore
import TillStore
import Testing
@testable import TillVault

@Suite("Vault: no card number or CVC at rest")
struct StorageScanTests {
    struct TestCard {
        var number: String
        var cvc: String
        var brand: CardBrand
    }

    /// Random numbers (so no other process's files can hold them by chance) with random
    /// sentinel CVCs, across brands and lengths.
    static func cards() -> [TestCard] {
        let shapes: [(String, Int, CardBrand)] = [
            ("4", 16, .visa), ("2720", 16, .mastercard), ("37", 15, .amex), ("34", 15, .amex),
            ("6011", 16, .discover), ("3530", 19, .jcb), ("36", 14, .diners), ("62", 17, .unionpay),
        ]
        return shapes.map { prefix, length, brand in
            let cvc = String((0..<brand.cvcLength).map { _ in Character(String(Int.random(in: 0...9))) })
            return TestCard(number: luhnNumber(prefix: prefix, length: length), cvc: cvc, brand: brand)
        }
    }

    /// The number as people write it: plain, in groups of four (and Amex's 4-6-5, Diners'
    /// 4-6-4), with spaces or dashes.
    static func spellings(_ number: String) -> [String] {
        let digits = Array(number)
        func grouped(_ sizes: [Int], _ separator: String) -> String {
            var parts: [String] = []
            var start = 0
            for size in sizes where start < digits.count {
                parts.append(String(digits[start..<min(digits.count, start + size)]))
                start += size
            }
            if start < digits.count { parts.append(String(digits[start...])) }
            return parts.joined(separator: separator)
        }
        let fours = Array(repeating: 4, count: 5)
        var out = [number]
        for separator in [" ", "-"] {
            out.append(grouped(fours, separator))
            out.append(grouped([4, 6, 5], separator))
            out.append(grouped([4, 6, 4], separator))
        }
        return Array(Set(out))
    }

    /// Overwrites every occurrence of each of `known` in `bytes` with zeros.
    static func mask(_ bytes: inout [UInt8], _ known: [[UInt8]]) {
        for needle in known where !needle.isEmpty {
            var index = 0
            while let found = find(needle, in: bytes, from: index) {
                for offset in found..<(found + needle.count) { bytes[offset] = 0 }
                index = found + needle.count
            }
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
        guard needle.count <= haystack.count, start <= haystack.count - needle.count else { return nil }
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0], Array(haystack[index..<(index + needle.count)]) == needle { return index }
            index += 1
        }
        return nil
    }

    static func regularFiles(under directory: String, modifiedSince start: Date) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var files: [String] = []
        while let relative = enumerator.nextObject() as? String {
            let path = (directory as NSString).appendingPathComponent(relative)
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { continue }
            if attributes[.type] as? FileAttributeType == .typeDirectory {
                // Only descend into what this process may have written recently.
                if let modified = attributes[.modificationDate] as? Date, modified < start { enumerator.skipDescendants() }
                continue
            }
            guard attributes[.type] as? FileAttributeType == .typeRegular,
                let modified = attributes[.modificationDate] as? Date, modified >= start,
                let size = attributes[.size] as? NSNumber, size.intValue < 64 << 20,
                FileManager.default.isReadableFile(atPath: path)
            else { continue }
            files.append(path)
        }
        return files
    }

    @Test("after tokenizing, detokenizing and rotating: database, WAL and temp files hold no number or CVC")
    func scan() async throws {
        let start = Date().addingTimeInterval(-1)
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        let vault = fixture.vault
        let cards = Self.cards()
        var tokens: [String] = []
        for (index, testCard) in cards.enumerated() {
            let typed = index % 2 == 0 ? testCard.number : Self.spellings(testCard.number).first { $0.contains(" ") } ?? testCard.number
            let token = try await vault.tokenize(
                CardInput(number: typed, expMonth: 9, expYear: 2029, cvc: testCard.cvc, holderName: "Sentinel Holder"),
                merchant: "m_scan")
            #expect(token.brand == testCard.brand)
            tokens.append(token.id)
        }
        // Keep every ciphertext ever written, to tell random bytes from a leak below.
        func blobs() async throws -> [[UInt8]] {
            try await fixture.store.pool.read { db in
                try Data.fetchAll(db, sql: "SELECT sealed FROM vault_cards UNION ALL SELECT wrapped_key FROM vault_keys WHERE wrapped_key IS NOT NULL")
                    .map { Array($0) }
            }
        }
        var written = try await blobs()
        for token in tokens.prefix(4) {
            let card = try await vault.detokenize(token: token, merchant: "m_scan", purpose: .authorization)
            #expect(card.cvc != nil)
        }
        _ = try await vault.rotateDataKey()
        written += try await blobs()
        _ = try await vault.reencryptAll(batchSize: 3)
        written += try await blobs()

        let identifiers = try await fixture.store.pool.read { db -> [String] in
            try String.fetchAll(
                db,
                sql: """
                    SELECT token FROM vault_cards UNION ALL SELECT fingerprint FROM vault_cards
                    UNION ALL SELECT bin FROM vault_cards UNION ALL SELECT last4 FROM vault_cards
                    UNION ALL SELECT id FROM vault_keys UNION ALL SELECT kek_id FROM vault_keys
                    """)
        }
        let known = identifiers.map { Array($0.utf8) } + written

        let dataFiles = Self.regularFiles(under: fixture.directory.path, modifiedSince: .distantPast)
        #expect(dataFiles.contains { $0.hasSuffix("till.sqlite") })
        #expect(dataFiles.contains { $0.hasSuffix("till.sqlite-wal") })
        let temporary = Self.regularFiles(
            under: FileManager.default.temporaryDirectory.path, modifiedSince: start
        ).filter { !$0.hasPrefix(fixture.directory.path) }

        for path in dataFiles + temporary {
            guard let contents = FileManager.default.contents(atPath: path) else { continue }
            let bytes = Array(contents)
            for testCard in cards {
                for spelling in Self.spellings(testCard.number) {
                    #expect(Self.find(Array(spelling.utf8), in: bytes) == nil, "a card number in \(path)")
                }
            }
        }
        // CVCs are short, so they are looked for where Till wrote (the data directory), with
        // the identifiers, display digits and ciphertexts it legitimately stored masked out.
        for path in dataFiles {
            guard let contents = FileManager.default.contents(atPath: path) else { continue }
            var bytes = Array(contents)
            Self.mask(&bytes, known)
            for testCard in cards {
                #expect(Self.find(Array(testCard.cvc.utf8), in: bytes) == nil, "CVC \(testCard.cvc) in \(path)")
            }
            #expect(Self.find(Array("Sentinel Holder".utf8), in: bytes) == nil, "holder name in \(path)")
        }
    }
}
