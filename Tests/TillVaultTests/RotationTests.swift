import Foundation
import GRDB
import TillCore
import TillStore
import Testing
@testable import TillVault

@Suite("Vault: key rotation")
struct RotationTests {
    static func keyOf(_ token: String, _ store: StoreDatabase) async throws -> String? {
        try await store.pool.read { db in
            try String.fetchOne(db, sql: "SELECT key_id FROM vault_cards WHERE token = ?", arguments: [token])
        }
    }

    @Test("rows stay readable while re-encryption runs; afterwards none is left on the retired key")
    func rotation() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        let vault = fixture.vault
        var numbers: [String: String] = [:]
        for index in 0..<7 {
            let number = luhnNumber(prefix: "4", length: 16)
            let token = try await vault.tokenize(card(number), merchant: "m_\(index % 2)")
            numbers[token.id] = number
        }
        let oldKey = try #require(try await vault.keys().first { $0.purpose == "data" && $0.status == .active })
        #expect(oldKey.cardCount == 7)
        #expect(oldKey.usageCount == 7)

        let newKey = try await vault.rotateDataKey()
        #expect(newKey.status == .active)
        #expect(newKey.id != oldKey.id)

        let first = try await vault.reencryptBatch(limit: 3)
        #expect(first.reencrypted == 3)
        #expect(first.cursor != nil)
        // Midway: some rows on each key, all readable, and new cards go to the new key.
        var onOld = 0
        for (token, number) in numbers {
            if try await Self.keyOf(token, fixture.store) == oldKey.id { onOld += 1 }
            let merchant = try await fixture.store.pool.read { db in
                try String.fetchOne(db, sql: "SELECT merchant FROM vault_cards WHERE token = ?", arguments: [token])!
            }
            #expect(try await vault.detokenize(token: token, merchant: merchant, purpose: .refund).number.string == number)
        }
        #expect(onOld == 4)
        let fresh = try await vault.tokenize(card("4242424242424242"), merchant: "m_0")
        #expect(try await Self.keyOf(fresh.id, fixture.store) == newKey.id)

        let report = try await vault.reencryptAll(batchSize: 2)
        #expect(report.reencrypted == 4)
        #expect(report.unreadableTokens.isEmpty)
        #expect(report.retiredKeyIDs == [oldKey.id])

        let keys = try await vault.keys()
        let retired = try #require(keys.first { $0.id == oldKey.id })
        #expect(retired.status == .retired)
        #expect(retired.cardCount == 0)
        #expect(retired.retired != nil)
        let erased = try await fixture.store.pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT wrapped_key IS NULL FROM vault_keys WHERE id = ?", arguments: [oldKey.id])
        }
        #expect(erased == true)
        let left = try await fixture.store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM vault_cards WHERE key_id = ?", arguments: [oldKey.id])
        }
        #expect(left == 0)
        // A restarted process (no cached keys) reads everything under the new key.
        let restarted = fixture.reopened()
        for (token, number) in numbers {
            let merchant = try await fixture.store.pool.read { db in
                try String.fetchOne(db, sql: "SELECT merchant FROM vault_cards WHERE token = ?", arguments: [token])!
            }
            #expect(try await restarted.detokenize(token: token, merchant: merchant, purpose: .refund).number.string == number)
        }
        let kinds = fixture.audit.events.map(\.kind)
        #expect(kinds.contains(.dataKeyRotated(from: oldKey.id, to: newKey.id, reason: .requested)))
        #expect(kinds.contains(.dataKeyRetired(keyID: oldKey.id)))
    }

    @Test("the usage counter forces rotation at the configured limit, and persists")
    func usageLimit() async throws {
        let fixture = try await VaultFixture(configuration: .init(dataKeyUsageLimit: 3))
        defer { fixture.cleanup() }
        var tokens: [String] = []
        for _ in 0..<5 {
            tokens.append(try await fixture.vault.tokenize(card("6011111111111117"), merchant: "m_1").id)
        }
        // A restart keeps counting where the database says.
        let restarted = fixture.reopened(configuration: .init(dataKeyUsageLimit: 3))
        for _ in 0..<2 {
            tokens.append(try await restarted.tokenize(card("6011111111111117"), merchant: "m_1").id)
        }
        let dataKeys = try await restarted.keys().filter { $0.purpose == "data" }
        #expect(dataKeys.map(\.usageCount) == [3, 3, 1])
        #expect(dataKeys.map(\.status) == [.full, .full, .active])
        #expect(dataKeys.map(\.cardCount) == [3, 3, 1])
        for token in tokens {
            #expect(try await restarted.detokenize(token: token, merchant: "m_1", purpose: .refund).number.string == "6011111111111117")
        }
        let rotations = fixture.audit.events.filter {
            if case .dataKeyRotated(_, _, .usageLimit) = $0.kind { true } else { false }
        }
        #expect(rotations.count == 2)

        // A requested rotation moves all seven cards; no key ever exceeds the limit.
        _ = try await restarted.rotateDataKey()
        let report = try await restarted.reencryptAll(batchSize: 2)
        #expect(report.reencrypted == 7)
        #expect(Set(report.retiredKeyIDs) == Set(dataKeys.map(\.id)))
        let after = try await restarted.keys().filter { $0.purpose == "data" }
        #expect(after.allSatisfy { $0.usageCount <= 3 })
        #expect(after.filter { $0.status != .retired }.map(\.cardCount).reduce(0, +) == 7)
        #expect(after.filter { $0.status == .retired }.allSatisfy { $0.cardCount == 0 })
        for token in tokens {
            #expect(try await restarted.detokenize(token: token, merchant: "m_1", purpose: .refund).number.string == "6011111111111117")
        }
    }

    @Test("concurrent tokenizations share transactions, and the usage limit still holds for every key")
    func concurrentUsageLimit() async throws {
        let fixture = try await VaultFixture(configuration: .init(dataKeyUsageLimit: 5))
        defer { fixture.cleanup() }
        let vault = fixture.vault
        let count = 48
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<count {
                group.addTask {
                    try await vault.tokenize(card(index % 2 == 0 ? "4242424242424242" : "5555555555554444"), merchant: "m_1").id
                }
            }
            var tokens: [String] = []
            for try await token in group { tokens.append(token) }
            return tokens
        }
        #expect(Set(tokens).count == count)
        // Every tokenization went through group commit; none was lost or counted twice.
        #expect(fixture.store.groupCommit.statistics.writes == count)
        let dataKeys = try await vault.keys().filter { $0.purpose == "data" }
        #expect(dataKeys.allSatisfy { $0.usageCount <= 5 && Int64($0.cardCount) == $0.usageCount })
        #expect(dataKeys.map(\.cardCount).reduce(0, +) == count)
        #expect(dataKeys.filter { $0.status == .active }.count == 1)
        let rotations = fixture.audit.events.filter {
            if case .dataKeyRotated(_, _, .usageLimit) = $0.kind { true } else { false }
        }
        #expect(rotations.count == dataKeys.count - 1)
        for (index, token) in tokens.enumerated() {
            let number = try await vault.detokenize(token: token, merchant: "m_1", purpose: .refund).number.string
            #expect(number == "4242424242424242" || number == "5555555555554444", "token \(index)")
        }
    }

    @Test("a row altered outside the vault is reported, skipped, and keeps its key from retiring")
    func unreadableRowDuringRotation() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        let good = try await fixture.vault.tokenize(card("4242424242424242"), merchant: "m_1")
        let bad = try await fixture.vault.tokenize(card("5555555555554444"), merchant: "m_1")
        try await fixture.store.pool.write { db in
            try db.execute(sql: "UPDATE vault_cards SET merchant = 'm_9' WHERE token = ?", arguments: [bad.id])
        }
        let oldKey = try await Self.keyOf(good.id, fixture.store)
        _ = try await fixture.vault.rotateDataKey()
        let report = try await fixture.vault.reencryptAll(batchSize: 1)
        #expect(report.reencrypted == 1)
        #expect(report.unreadableTokens == [bad.id])
        #expect(report.retiredKeyIDs.isEmpty)
        #expect(try await fixture.vault.keys().first { $0.id == oldKey }?.status == .retiring)
    }

    @Test("a background re-encryption worker can be cancelled and resumed; rows stay readable")
    func cancellableWorker() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        var tokens: [String] = []
        for _ in 0..<20 { tokens.append(try await fixture.vault.tokenize(card("4242424242424242"), merchant: "m_1").id) }
        _ = try await fixture.vault.rotateDataKey()
        let worker = Task { try await fixture.vault.reencryptAll(batchSize: 1, pause: .milliseconds(1)) }
        worker.cancel()
        _ = try? await worker.value
        for token in tokens {
            #expect(try await fixture.vault.detokenize(token: token, merchant: "m_1", purpose: .refund).number.string == "4242424242424242")
        }
        let report = try await fixture.vault.reencryptAll()
        #expect(report.retiredKeyIDs.count == 1)
        let onRetiring = try await fixture.store.pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT count(*) FROM vault_cards c JOIN vault_keys k ON k.id = c.key_id WHERE k.status != 'active'")
        }
        #expect(onRetiring == 0)
    }
}
