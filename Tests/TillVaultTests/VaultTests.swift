import Foundation
import GRDB
import TillCore
import TillCrypto
import TillStore
import Testing
@testable import TillVault

@Suite("Vault: tokens, encryption, fingerprints, detokenization")
struct VaultTests {
    @Test("tokenize returns a tok_ token with display data only; detokenize gives the card back")
    func roundTrip() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        let token = try await fixture.vault.tokenize(
            card("4242 4242-4242 4242", cvc: "123", name: "Ada Lovelace", month: 4, year: 31), merchant: "m_1")
        #expect(token.id.hasPrefix("tok_"))
        #expect(token.brand == .visa)
        #expect(token.bin == "424242")
        #expect(token.last4 == "4242")
        #expect(token.expiry == CardExpiry(uncheckedMonth: 4, year: 2031))
        #expect(token.maskedNumber == "424242…4242")
        #expect(token.fingerprint.hasPrefix("fp_"))
        #expect(try await fixture.vault.card(token: token.id, merchant: "m_1") == token)

        let card = try await fixture.vault.detokenize(token: token.id, merchant: "m_1", purpose: .authorization)
        #expect(card.number.string == "4242424242424242")
        #expect(card.expiry == token.expiry)
        #expect(card.holderName == "Ada Lovelace")
        #expect(card.cvc?.string == "123")
        #expect(card.brand == .visa)
        #expect(!"\(card)".contains("4242424242424242"))
        #expect(!"\(card)".contains("123"))
        #expect(fixture.audit.events.last?.kind
            == .detokenized(token: token.id, merchant: "m_1", purpose: .authorization, outcome: .succeeded))
    }

    @Test("invalid cards are refused with the validation error and nothing is stored")
    func invalidCards() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        let cases: [(CardInput, CardValidationError.Code)] = [
            (card("4242424242424241"), .failedLuhn),
            (card("42424242"), .incorrectLength),
            (card("4242 4242 4242 424x"), .invalidNumber),
            (card("9999999999999995"), .unsupportedBrand),
            (card("4242424242424242", month: 0), .invalidExpiryMonth),
            (card("4242424242424242", year: 123), .invalidExpiryYear),
            (card("4242424242424242", month: 2, year: 2025), .expiredCard),
            (card("4242424242424242", cvc: "1234"), .invalidCVC),
            (card("378282246310005", cvc: "123"), .invalidCVC),
        ]
        for (input, code) in cases {
            let error = await #expect(throws: VaultError.self) { try await fixture.vault.tokenize(input, merchant: "m_1") }
            #expect(error?.code == .invalidCard)
            #expect(error?.validation?.code == code)
            #expect(error.map { !$0.description.contains("4242424242") } ?? false)
        }
        let count = try await fixture.store.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM vault_cards") }
        #expect(count == 0)
        let merchant = await #expect(throws: VaultError.self) { try await fixture.vault.tokenize(card("4242424242424242"), merchant: "") }
        #expect(merchant?.code == .invalidMerchant)
    }

    @Test("tokens: format, 128+ random bits, never a digit string, all different")
    func tokenFormat() throws {
        var seen: Set<String> = []
        var counts: [UInt8: Int] = [:]
        for _ in 0..<2000 {
            let token = try VaultEncoding.newToken()
            #expect(token.utf8.count == 26)
            #expect(token.hasPrefix("tok_"))
            let body = token.dropFirst(4)
            #expect(body.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) })
            #expect(body.utf8.contains { $0 > 57 }, "a letter in every token")
            #expect(!CardValidation.passesLuhn(Array(body.utf8)) || body.utf8.contains { $0 > 57 })
            seen.insert(token)
            for byte in body.utf8 { counts[byte, default: 0] += 1 }
        }
        #expect(seen.count == 2000)
        // 44,000 characters over 62 symbols: about 710 each; a biased alphabet would stand out.
        #expect(counts.count == 62)
        #expect(counts.values.allSatisfy { (500...920).contains($0) })
    }

    @Test("a token is scoped to its merchant")
    func merchantScoping() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        let token = try await fixture.vault.tokenize(card("5555555555554444", cvc: "321"), merchant: "m_1")
        let display = await #expect(throws: VaultError.self) { try await fixture.vault.card(token: token.id, merchant: "m_2") }
        #expect(display?.code == .tokenNotFound)
        let detokenized = await #expect(throws: VaultError.self) {
            try await fixture.vault.detokenize(token: token.id, merchant: "m_2", purpose: .authorization)
        }
        #expect(detokenized?.code == .tokenNotFound)
        #expect(fixture.audit.events.last?.kind
            == .detokenized(token: token.id, merchant: "m_2", purpose: .authorization, outcome: .tokenNotFound))
        #expect(fixture.vault.takeCVC(token: token.id, merchant: "m_2") == nil)
        #expect(fixture.vault.takeCVC(token: token.id, merchant: "m_1")?.string == "321")
    }

    @Test("swapping two rows' ciphertexts makes both fail to decrypt")
    func swappedRows() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        let first = try await fixture.vault.tokenize(card("4242424242424242"), merchant: "m_1")
        let second = try await fixture.vault.tokenize(card("5555555555554444"), merchant: "m_1")
        try await fixture.store.pool.write { db in
            let one = try Data.fetchOne(db, sql: "SELECT sealed FROM vault_cards WHERE token = ?", arguments: [first.id])
            let two = try Data.fetchOne(db, sql: "SELECT sealed FROM vault_cards WHERE token = ?", arguments: [second.id])
            try db.execute(sql: "UPDATE vault_cards SET sealed = ? WHERE token = ?", arguments: [two, first.id])
            try db.execute(sql: "UPDATE vault_cards SET sealed = ? WHERE token = ?", arguments: [one, second.id])
        }
        for token in [first.id, second.id] {
            let error = await #expect(throws: VaultError.self) {
                try await fixture.vault.detokenize(token: token, merchant: "m_1", purpose: .refund)
            }
            #expect(error?.code == .decryptionFailed)
            #expect(fixture.audit.events.last?.kind
                == .detokenized(token: token, merchant: "m_1", purpose: .refund, outcome: .decryptionFailed))
        }
    }

    @Test("an altered byte, another merchant or another key id fails to decrypt")
    func tampering() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        let vault = fixture.vault
        var created: [String] = []
        for _ in 0..<3 { created.append(try await vault.tokenize(card("4242424242424242"), merchant: "m_1").id) }
        let tokens = created
        let sealed = try await fixture.store.pool.read { db in
            try Data.fetchOne(db, sql: "SELECT sealed FROM vault_cards WHERE token = ?", arguments: [tokens[0]])!
        }
        // Every byte of the box (nonce, ciphertext, tag) is covered.
        for index in [0, 11, 12, sealed.count / 2, sealed.count - 1] {
            var alteredBytes = sealed
            alteredBytes[index] ^= 0x01
            let altered = alteredBytes
            try await fixture.store.pool.write { db in
                try db.execute(
                    sql: "UPDATE vault_cards SET sealed = ? WHERE token = ?", arguments: [altered, tokens[0]])
            }
            let error = await #expect(throws: VaultError.self) {
                try await vault.detokenize(token: tokens[0], merchant: "m_1", purpose: .refund)
            }
            #expect(error?.code == .decryptionFailed, "byte \(index)")
        }

        try await fixture.store.pool.write { db in
            try db.execute(sql: "UPDATE vault_cards SET merchant = 'm_2' WHERE token = ?", arguments: [tokens[1]])
        }
        let moved = await #expect(throws: VaultError.self) {
            try await vault.detokenize(token: tokens[1], merchant: "m_2", purpose: .refund)
        }
        #expect(moved?.code == .decryptionFailed)

        let newKey = try await vault.rotateDataKey()
        try await fixture.store.pool.write { db in
            try db.execute(sql: "UPDATE vault_cards SET key_id = ? WHERE token = ?", arguments: [newKey.id, tokens[2]])
        }
        let rekeyed = await #expect(throws: VaultError.self) {
            try await vault.detokenize(token: tokens[2], merchant: "m_1", purpose: .refund)
        }
        #expect(rekeyed?.code == .decryptionFailed)
    }

    @Test("the associated data is versioned and unambiguous")
    func associatedDataEncoding() {
        let one = VaultEncoding.associatedData(token: "tok_a", merchant: "bc", keyID: "dk_1")
        let two = VaultEncoding.associatedData(token: "tok_ab", merchant: "c", keyID: "dk_1")
        #expect(one != two)
        #expect(one.starts(with: Array("till-vault/card/v1".utf8) + [0]))
    }

    @Test("every encryption draws a fresh nonce")
    func nonceUniqueness() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        for _ in 0..<150 {
            _ = try await fixture.vault.tokenize(card("4242424242424242"), merchant: "m_1")
        }
        _ = try await fixture.vault.rotateDataKey()
        _ = try await fixture.vault.reencryptAll(batchSize: 40)
        for _ in 0..<10 {
            _ = try await fixture.vault.tokenize(card("4242424242424242"), merchant: "m_1")
        }
        let boxes = try await fixture.store.pool.read { db in try Data.fetchAll(db, sql: "SELECT sealed FROM vault_cards") }
        #expect(boxes.count == 160)
        #expect(Set(boxes.map { $0.prefix(12) }).count == 160)
        #expect(Set(boxes).count == 160)
    }

    @Test("fingerprints: same card and merchant match, tokens differ; other merchants and cards differ")
    func fingerprints() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        let vault = fixture.vault
        let a = try await vault.tokenize(card("4242424242424242"), merchant: "m_1")
        let b = try await vault.tokenize(card("4242 4242 4242 4242", month: 1, year: 2029), merchant: "m_1")
        let c = try await vault.tokenize(card("4242424242424242"), merchant: "m_2")
        let d = try await vault.tokenize(card("4000056655665556"), merchant: "m_1")
        #expect(a.fingerprint == b.fingerprint)
        #expect(a.id != b.id)
        #expect(a.fingerprint != c.fingerprint)
        #expect(a.fingerprint != d.fingerprint)
        #expect(a.fingerprint.utf8.count == 35)
        // Keyed: neither a plain hash of the number nor the same under another vault's key.
        let plain = Hex.encode(SHA256.hash(data: Array("4242424242424242".utf8)).bytes.prefix(16))
        #expect(a.fingerprint != "fp_" + plain)
        let other = try await VaultFixture()
        defer { other.cleanup() }
        let e = try await other.vault.tokenize(card("4242424242424242"), merchant: "m_1")
        #expect(a.fingerprint != e.fingerprint)
        // Stable across a restart (the fingerprint key is stored wrapped).
        let f = try await fixture.reopened().tokenize(card("4242424242424242"), merchant: "m_1")
        #expect(f.fingerprint == a.fingerprint)
    }

    @Test("detokenization is refused when the audit sink fails")
    func auditFailsClosed() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        let token = try await fixture.vault.tokenize(card("4242424242424242", cvc: "999"), merchant: "m_1")
        fixture.audit.failing = true
        let error = await #expect(throws: VaultError.self) {
            try await fixture.vault.detokenize(token: token.id, merchant: "m_1", purpose: .authorization)
        }
        #expect(error?.code == .auditFailure)
        // The CVC was not handed out either.
        fixture.audit.failing = false
        #expect(fixture.vault.holdsCVC(token: token.id, merchant: "m_1"))
    }

    @Test("a restarted vault reads what the previous one stored; key events are audited")
    func restartAndKeyEvents() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        let token = try await fixture.vault.tokenize(card("3566002020360505"), merchant: "m_1")
        let restarted = fixture.reopened()
        let again = try await restarted.initializeKeys()
        #expect(!again.createdDataKey && !again.createdFingerprintKey)
        #expect(try await restarted.detokenize(token: token.id, merchant: "m_1", purpose: .refund).number.string
            == "3566002020360505")
        let kinds = fixture.audit.events.map(\.kind)
        #expect(kinds.contains { if case .dataKeyCreated = $0 { true } else { false } })
        #expect(kinds.contains { if case .fingerprintKeyCreated = $0 { true } else { false } })
    }

    @Test("without keys, tokenize says to run till keys init")
    func uninitialized() async throws {
        let fixture = try await VaultFixture(initializeKeys: false)
        defer { fixture.cleanup() }
        let error = await #expect(throws: VaultError.self) { try await fixture.vault.tokenize(card("4242424242424242"), merchant: "m_1") }
        #expect(error?.code == .keysNotInitialized)
        #expect(error?.message.contains("till keys init") == true)
    }
}

@Suite("Request digests")
struct RequestDigestTests {
    @Test("digests are keyed: stable within a vault, different across vaults, never the plain SHA-256")
    func keyed() async throws {
        let first = try await VaultFixture()
        let second = try await VaultFixture()
        defer {
            first.cleanup()
            second.cleanup()
        }
        let body = Array(#"{"card":{"number":"4242424242424242"}}"#.utf8)
        let a = try await first.vault.requestDigest(body)
        #expect(try await first.vault.requestDigest(body) == a)
        #expect(try await second.vault.requestDigest(body) != a)
        #expect(a != SHA256.hash(data: body).hexString)
        #expect(try await first.vault.requestDigest(body + [0x20]) != a)
    }

    @Test("the fingerprint key is read once: later digests need no database read and stay the same")
    func cachedKey() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        let body = Array(#"{"amount":100}"#.utf8)
        let before = try await fixture.vault.requestDigest(body)
        // Spoil the stored fingerprint key: a vault that read it now could not unwrap it.
        try await fixture.store.pool.write { db in
            try db.execute(
                sql: "UPDATE vault_keys SET wrapped_key = ? WHERE purpose = 'fingerprint'",
                arguments: [Data(repeating: 0x5a, count: 40)])
        }
        #expect(try await fixture.vault.requestDigest(body) == before)
        let fresh = fixture.reopened()
        let error = await #expect(throws: VaultError.self) { try await fresh.requestDigest(body) }
        #expect(error?.code == .keyUnavailable)
    }
}

@Suite("Vault: sealing with remembered keys")
struct SealingKeyCacheTests {
    @Test("a data key rotated and retired by another process: tokenize reseals under the active key")
    func staleDataKey() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        let first = try await fixture.vault.tokenize(card("4242424242424242"), merchant: "m_1")
        let old = try await fixture.vault.keys().first { $0.purpose == "data" && $0.status == .active }

        // Another process rotates, moves every row and retires the key this vault remembers.
        let other = fixture.reopened()
        let fresh = try await other.rotateDataKey()
        let report = try await other.reencryptAll()
        #expect(report.retiredKeyIDs == [old?.id].compactMap { $0 })

        let second = try await fixture.vault.tokenize(card("5555555555554444"), merchant: "m_1")
        let keyIDs = try await fixture.store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT key_id FROM vault_cards ORDER BY token")
        }
        #expect(keyIDs == [fresh.id, fresh.id])
        for (token, number) in [(first.id, "4242424242424242"), (second.id, "5555555555554444")] {
            #expect(try await fixture.reopened().detokenize(token: token, merchant: "m_1", purpose: .refund).number.string == number)
        }
        let keys = try await fixture.vault.keys().filter { $0.purpose == "data" }
        #expect(keys.first { $0.id == fresh.id }?.usageCount == 2)

        // And later tokenizations seal under the new key straight away.
        let third = try await fixture.vault.tokenize(card("4000056655665556"), merchant: "m_1")
        #expect(try await fixture.vault.detokenize(token: third.id, merchant: "m_1", purpose: .refund).number.string == "4000056655665556")
    }

    @Test("a requested rotation in this vault: the next card is sealed under the new key")
    func rotationHere() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        _ = try await fixture.vault.tokenize(card("4242424242424242"), merchant: "m_1")
        let fresh = try await fixture.vault.rotateDataKey()
        let token = try await fixture.vault.tokenize(card("5555555555554444"), merchant: "m_1")
        let keyID = try await fixture.store.pool.read { db in
            try String.fetchOne(db, sql: "SELECT key_id FROM vault_cards WHERE token = ?", arguments: [token.id])
        }
        #expect(keyID == fresh.id)
        #expect(try await fixture.reopened().detokenize(token: token.id, merchant: "m_1", purpose: .refund).number.string == "5555555555554444")
    }
}
