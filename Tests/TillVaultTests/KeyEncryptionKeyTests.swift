import Foundation
import GRDB
import Synchronization
import TillCrypto
import TillStore
import Testing
@testable import TillVault

@Suite("Key-encryption key: file and environment")
struct KeyEncryptionKeyTests {
    @Test("create writes a 0600 file that loads back to the same key, and never overwrites it")
    func createAndLoad() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let path = directory.file("nested/vault.kek")
        let created = try KeyEncryptionKey.create(fileAt: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let loaded = try KeyEncryptionKey.load(fileAt: path)
        #expect(loaded.identifier == created.identifier)
        #expect(loaded.origin.contains(path))
        let again = #expect(throws: VaultError.self) { try KeyEncryptionKey.create(fileAt: path) }
        #expect(again?.code == .keyFileFailure)
        #expect(try KeyEncryptionKey.load(fileAt: path).identifier == created.identifier)
    }

    @Test("a key file group or others can access is refused", arguments: [0o640, 0o604, 0o620, 0o602, 0o644, 0o660, 0o610])
    func insecureModes(mode: Int) throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let path = directory.file("vault.kek")
        _ = try KeyEncryptionKey.create(fileAt: path)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        let error = #expect(throws: VaultError.self) { try KeyEncryptionKey.load(fileAt: path) }
        #expect(error?.code == .insecureKeyFile)
        #expect(error?.message.contains("chmod 600") == true)
        #expect(error?.message.contains(String(mode, radix: 8)) == true)
    }

    @Test("a symbolic link, a directory, a missing file and a malformed key are refused clearly")
    func otherRefusals() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let real = directory.file("real.kek")
        _ = try KeyEncryptionKey.create(fileAt: real)
        try FileManager.default.createSymbolicLink(atPath: directory.file("link.kek"), withDestinationPath: real)
        #expect((#expect(throws: VaultError.self) { try KeyEncryptionKey.load(fileAt: directory.file("link.kek")) })?.code == .insecureKeyFile)
        try FileManager.default.createDirectory(atPath: directory.file("dir.kek"), withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        #expect((#expect(throws: VaultError.self) { try KeyEncryptionKey.load(fileAt: directory.file("dir.kek")) })?.code == .insecureKeyFile)
        let missing = #expect(throws: VaultError.self) { try KeyEncryptionKey.load(fileAt: directory.file("none.kek")) }
        #expect(missing?.code == .keyEncryptionKeyMissing)
        #expect(missing?.message.contains("till keys init") == true)
        let short = directory.file("short.kek")
        _ = FileManager.default.createFile(atPath: short, contents: Data("abcd\n".utf8), attributes: [.posixPermissions: 0o600])
        #expect((#expect(throws: VaultError.self) { try KeyEncryptionKey.load(fileAt: short) })?.code == .invalidKeyEncryptionKey)
    }

    @Test("the environment variable takes hex or base64 of 32 bytes and wins over the file")
    func environment() throws {
        let bytes = try SecureRandom.bytes(count: 32)
        let hex = Hex.encode(bytes)
        let base64 = Data(bytes).base64EncodedString()
        let fromHex = try #require(try KeyEncryptionKey.fromEnvironment(["TILL_VAULT_KEK": hex]))
        let fromBase64 = try #require(try KeyEncryptionKey.fromEnvironment(["TILL_VAULT_KEK": " \(base64)\n"]))
        let fromUpperHex = try #require(try KeyEncryptionKey.fromEnvironment(["TILL_VAULT_KEK": hex.uppercased()]))
        #expect(fromHex.identifier == fromBase64.identifier)
        #expect(fromHex.identifier == fromUpperHex.identifier)
        #expect(fromHex.origin == "environment variable TILL_VAULT_KEK")
        #expect(try KeyEncryptionKey.fromEnvironment([:]) == nil)
        #expect(try KeyEncryptionKey.fromEnvironment(["TILL_VAULT_KEK": ""]) == nil)
        for bad in [String(hex.dropLast(2)), hex + "00", "zz" + hex.dropFirst(2), Data(bytes.prefix(31)).base64EncodedString(), "not a key"] {
            let error = #expect(throws: VaultError.self) { try KeyEncryptionKey.fromEnvironment(["TILL_VAULT_KEK": bad]) }
            #expect(error?.code == .invalidKeyEncryptionKey)
            #expect(error?.message.contains(bad) == false)
        }
        // The variable wins even when the file is missing.
        let resolved = try KeyEncryptionKey.resolve(keyFile: "/nonexistent/vault.kek", environment: ["TILL_VAULT_KEK": hex])
        #expect(resolved.identifier == fromHex.identifier)
    }

    @Test("a vault opened with another key-encryption key says so")
    func wrongKey() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        let token = try await fixture.vault.tokenize(card("4242424242424242"), merchant: "m_1")
        let other = fixture.reopened(kek: KeyEncryptionKey(key: try SymmetricKey.generate(), origin: "another key"))
        let initialize = await #expect(throws: VaultError.self) { try await other.initializeKeys() }
        #expect(initialize?.code == .wrongKeyEncryptionKey)
        let check = await #expect(throws: VaultError.self) { try await other.checkKeyEncryptionKey() }
        #expect(check?.code == .wrongKeyEncryptionKey)
        let detokenize = await #expect(throws: VaultError.self) {
            try await other.detokenize(token: token.id, merchant: "m_1", purpose: .refund)
        }
        #expect(detokenize?.code == .wrongKeyEncryptionKey)
        let tokenize = await #expect(throws: VaultError.self) { try await other.tokenize(card("4242424242424242"), merchant: "m_1") }
        #expect(tokenize?.code == .wrongKeyEncryptionKey)
    }

    @Test("data keys rest only wrapped: no stored blob equals a key the vault uses")
    func keysRestWrapped() async throws {
        let fixture = try await VaultFixture()
        defer { fixture.cleanup() }
        _ = try await fixture.vault.tokenize(card("4242424242424242"), merchant: "m_1")
        let blobs = try await fixture.store.pool.read { db in
            try Data.fetchAll(db, sql: "SELECT wrapped_key FROM vault_keys WHERE wrapped_key IS NOT NULL")
        }
        let keys = fixture.vault.unwrapped.withLock { Array($0.values) }
        #expect(blobs.count == 2)
        #expect(blobs.allSatisfy { $0.count == 40 })
        for key in keys {
            let raw = key.withUnsafeBytes { Data($0) }
            #expect(blobs.allSatisfy { $0.range(of: raw) == nil })
        }
    }
}

@Suite("Key ids")
struct KeyIDTests {
    @Test("no key id holds 13 digits in a row, which the audit log would take for a card number")
    func keyIDsNeverLookLikeCardNumbers() throws {
        #expect(VaultEncoding.longestDigitRun("dk_ab1234567890123c") == 13)
        #expect(VaultEncoding.longestDigitRun("dk_a1b2") == 1)
        // About one raw 16-hex-digit id in 4,000 has such a run; 40,000 draws would show it.
        for _ in 0..<40_000 {
            let id = try VaultEncoding.newKeyID(prefix: "dk_")
            #expect(VaultEncoding.longestDigitRun(id) < 13, "\(id)")
            #expect(id.count == 19)
        }
    }
}
