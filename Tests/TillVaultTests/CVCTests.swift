import Foundation
import Synchronization
@testable import TillCrypto
import Testing
@testable import TillVault

@Suite("Vault: CVC in memory only")
struct CVCTests {
    @Test("take hands the CVC over once; a second take gives nothing")
    func takeOnce() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        let token = try await fixture.vault.tokenize(card("378282246310005", cvc: "7319"), merchant: "m_1")
        #expect(fixture.vault.holdsCVC(token: token.id, merchant: "m_1"))
        #expect(fixture.vault.takeCVC(token: token.id, merchant: "m_1")?.string == "7319")
        #expect(fixture.vault.takeCVC(token: token.id, merchant: "m_1") == nil)
        #expect(!fixture.vault.holdsCVC(token: token.id, merchant: "m_1"))
    }

    @Test("detokenizing for authorization takes the CVC; other purposes leave it")
    func detokenizeTakes() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        let token = try await fixture.vault.tokenize(card("4242424242424242", cvc: "123"), merchant: "m_1")
        let refund = try await fixture.vault.detokenize(token: token.id, merchant: "m_1", purpose: .refund)
        #expect(refund.cvc == nil)
        #expect(fixture.vault.holdsCVC(token: token.id, merchant: "m_1"))
        let first = try await fixture.vault.detokenize(token: token.id, merchant: "m_1", purpose: .authorization)
        #expect(first.cvc?.string == "123")
        let second = try await fixture.vault.detokenize(token: token.id, merchant: "m_1", purpose: .authorization)
        #expect(second.cvc == nil)
    }

    @Test("after the lifetime the CVC is gone (default 10 minutes)")
    func expiry() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        let token = try await fixture.vault.tokenize(card("4242424242424242", cvc: "123"), merchant: "m_1")
        fixture.clock.advance(seconds: 599)
        #expect(fixture.vault.holdsCVC(token: token.id, merchant: "m_1"))
        fixture.clock.advance(seconds: 1)
        #expect(!fixture.vault.holdsCVC(token: token.id, merchant: "m_1"))
        #expect(fixture.vault.takeCVC(token: token.id, merchant: "m_1") == nil)
        let card = try await fixture.vault.detokenize(token: token.id, merchant: "m_1", purpose: .authorization)
        #expect(card.cvc == nil)
    }

    @Test("a configured lifetime, and expired CVCs are wiped from memory by the purge")
    func purgeWipes() async throws {
        let fixture = try await VaultFixture(configuration: .init(cvcLifetime: .seconds(30)))
        defer { fixture.cleanup() }
        let wiped = Mutex<[UInt8]?>(nil)
        var input = card("4242424242424242", cvc: "456")
        input.cvc?.storage.wipeObserver = { buffer in wiped.withLock { $0 = Array(buffer) } }
        let token = try await fixture.vault.tokenize(input, merchant: "m_1")
        input.cvc = nil  // the vault now holds the only copy
        #expect(wiped.withLock { $0 } == nil)
        fixture.clock.advance(seconds: 29)
        #expect(fixture.vault.purgeExpiredCVCs() == 0)
        fixture.clock.advance(seconds: 1)
        #expect(fixture.vault.purgeExpiredCVCs() == 1)
        #expect(wiped.withLock { $0 } == [0, 0, 0])
        #expect(!fixture.vault.holdsCVC(token: token.id, merchant: "m_1"))
    }

    @Test("a CVC taken and dropped is wiped")
    func takenIsWiped() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        let wiped = Mutex<[UInt8]?>(nil)
        var input = card("4242424242424242", cvc: "789")
        input.cvc?.storage.wipeObserver = { buffer in wiped.withLock { $0 = Array(buffer) } }
        let token = try await fixture.vault.tokenize(input, merchant: "m_1")
        input.cvc = nil
        do {
            let cvc = fixture.vault.takeCVC(token: token.id, merchant: "m_1")
            #expect(cvc?.string == "789")
        }
        #expect(wiped.withLock { $0 } == [0, 0, 0])
    }
}
