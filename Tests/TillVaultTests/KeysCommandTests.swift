import Foundation
import TillCrypto
import Testing
@testable import TillVault

/// The built `till` executable beside this test bundle, if it was built.
let tillExecutable: String? = {
    let bundle = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? CommandLine.arguments[0])
    var directory = bundle.deletingLastPathComponent()
    // On Linux the tests run from `<build>/tillPackageTests.xctest`; on macOS from inside a bundle.
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent("till").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory.deleteLastPathComponent()
    }
    return nil
}()

struct CommandResult {
    var status: Int32
    var output: String
    var error: String
}

func runTill(_ arguments: [String], environment extra: [String: String] = [:]) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try #require(tillExecutable))
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment["TILL_VAULT_KEK"] = nil
    for (name, value) in extra { environment[name] = value }
    process.environment = environment
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    let errData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(
        status: process.terminationStatus, output: String(decoding: outData, as: UTF8.self),
        error: String(decoding: errData, as: UTF8.self))
}

@Suite("till keys")
struct KeysCommandTests {
    @Test("initialize creates the key file, the data key and the fingerprint key once; rotate re-encrypts and retires")
    func library() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let data = directory.file("data")
        let first = try await VaultKeyAdministration.initialize(dataDirectory: data, environment: [:])
        #expect(first.createdKeyFile)
        #expect(first.keys.createdDataKey && first.keys.createdFingerprintKey)
        let keyFile = VaultKeyAdministration.keyFilePath(in: data)
        #expect((try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let second = try await VaultKeyAdministration.initialize(dataDirectory: data, environment: [:])
        #expect(!second.createdKeyFile && !second.keys.createdDataKey && !second.keys.createdFingerprintKey)
        #expect(second.keys == VaultKeyInitialization(
            dataKeyID: first.keys.dataKeyID, fingerprintKeyID: first.keys.fingerprintKeyID,
            createdDataKey: false, createdFingerprintKey: false))

        let kek = try KeyEncryptionKey.load(fileAt: keyFile)
        let vault = try VaultKeyAdministration.openVault(dataDirectory: data, kek: kek)
        let token = try await vault.tokenize(card("4242424242424242"), merchant: "m_1")

        let rotation = try await VaultKeyAdministration.rotate(dataDirectory: data, environment: [:], batchSize: 1)
        #expect(rotation.reencryption.reencrypted == 1)
        #expect(rotation.reencryption.retiredKeyIDs == [first.keys.dataKeyID])
        let reopened = try VaultKeyAdministration.openVault(dataDirectory: data, kek: kek)
        #expect(try await reopened.detokenize(token: token.id, merchant: "m_1", purpose: .refund).number.string == "4242424242424242")
        #expect(try await reopened.keys().first { $0.id == rotation.newDataKeyID }?.cardCount == 1)
    }

    @Test("with TILL_VAULT_KEK set, no key file is written; rotate without any key fails clearly")
    func environmentKey() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let data = directory.file("data")
        let environment = ["TILL_VAULT_KEK": Hex.encode(try SecureRandom.bytes(count: 32))]
        let report = try await VaultKeyAdministration.initialize(dataDirectory: data, environment: environment)
        #expect(!report.createdKeyFile)
        #expect(report.keyEncryptionKeyOrigin == "environment variable TILL_VAULT_KEK")
        #expect(!FileManager.default.fileExists(atPath: VaultKeyAdministration.keyFilePath(in: data)))
        _ = try await VaultKeyAdministration.rotate(dataDirectory: data, environment: environment)
        let missing = await #expect(throws: VaultError.self) {
            try await VaultKeyAdministration.rotate(dataDirectory: data, environment: [:])
        }
        #expect(missing?.code == .keyEncryptionKeyMissing)
    }

    @Test("the built binary: init, init again, rotate, status, and refusal of an open key file",
          .enabled(if: tillExecutable != nil, "the till executable is built by `swift build --build-tests`"))
    func binary() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let data = directory.file("data")
        let initialized = try runTill(["keys", "init", "--data", data])
        #expect(initialized.status == 0, "\(initialized.error)")
        #expect(initialized.output.contains("(created)"))
        #expect(FileManager.default.fileExists(atPath: data + "/till.sqlite"))
        #expect(FileManager.default.fileExists(atPath: data + "/vault.kek"))
        let again = try runTill(["keys", "init", "--data", data])
        #expect(again.status == 0)
        #expect(!again.output.contains("(created)"))
        let rotated = try runTill(["keys", "rotate", "--data", data])
        #expect(rotated.status == 0, "\(rotated.error)")
        #expect(rotated.output.contains("new data key"))
        let status = try runTill(["keys", "status", "--data", data])
        #expect(status.output.contains("retired"))
        #expect(status.output.contains("active"))
        #expect(status.error.contains("WARNING") && status.error.contains("inside the data directory"))

        // A key file elsewhere: no warning, and nothing key-like in the data directory.
        let other = directory.file("other-data")
        let keyFile = directory.file("kek/vault.kek")
        let elsewhere = try runTill(["keys", "init", "--data", other, "--kek-file", keyFile])
        #expect(elsewhere.status == 0, "\(elsewhere.error)")
        #expect(FileManager.default.fileExists(atPath: keyFile))
        #expect(!FileManager.default.fileExists(atPath: other + "/vault.kek"))
        let quiet = try runTill(["keys", "status", "--data", other, "--kek-file", keyFile])
        #expect(quiet.status == 0, "\(quiet.error)")
        #expect(!quiet.error.contains("WARNING"))

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: data + "/vault.kek")
        let refused = try runTill(["keys", "rotate", "--data", data])
        #expect(refused.status != 0)
        #expect(refused.error.contains("insecure_key_file"))

        let wrong = try runTill(
            ["keys", "status", "--data", data], environment: ["TILL_VAULT_KEK": Hex.encode(try SecureRandom.bytes(count: 32))])
        #expect(wrong.status != 0)
        #expect(wrong.error.contains("wrong_key_encryption_key"))
    }

    @Test("the built binary honours TILL_VAULT_KEK",
          .enabled(if: tillExecutable != nil, "the till executable is built by `swift build --build-tests`"))
    func binaryEnvironment() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let data = directory.file("data")
        let key = Data(try SecureRandom.bytes(count: 32)).base64EncodedString()
        let initialized = try runTill(["keys", "init", "--data", data], environment: ["TILL_VAULT_KEK": key])
        #expect(initialized.status == 0, "\(initialized.error)")
        #expect(initialized.output.contains("environment variable TILL_VAULT_KEK"))
        #expect(!FileManager.default.fileExists(atPath: data + "/vault.kek"))
        let rotated = try runTill(["keys", "rotate", "--data", data], environment: ["TILL_VAULT_KEK": key])
        #expect(rotated.status == 0, "\(rotated.error)")
    }
}

@Suite("Process hardening")
struct ProcessHardeningTests {
    @Test("core dumps off: RLIMIT_CORE 0 and not dumpable")
    func coreDumps() throws {
        try ProcessHardening.disableCoreDumps()
        #expect(ProcessHardening.coreDumpsDisabled)
    }

    @Test("a key file is inside the data directory however its path is spelled, symbolic links included")
    func location() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let data = directory.file("data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: directory.file("alias"), withDestinationPath: data)
        for spelling in [data + "/vault.kek", data + "/./sub/../vault.kek", directory.file("alias/vault.kek"), data] {
            let location = KeyEncryptionKeyLocation(
                dataDirectory: data, keyFile: spelling, allowsKeyInDataDirectory: false, environment: [:])
            #expect(location.keyFileIsInDataDirectory, "\(spelling)")
            let error = #expect(throws: VaultError.self) { try location.resolve(createIfMissing: true) }
            #expect(error?.code == .keyFileInDataDirectory)
        }
        #expect(!FileManager.default.fileExists(atPath: data + "/vault.kek"), "a refused key file is never created")
        let outside = KeyEncryptionKeyLocation(
            dataDirectory: data, keyFile: directory.file("data-kek/vault.kek"), allowsKeyInDataDirectory: false,
            environment: [:])
        #expect(!outside.keyFileIsInDataDirectory, "a sibling whose name starts like the directory is outside it")
        #expect(try outside.resolve(createIfMissing: true).createdKeyFile)
        let fromEnvironment = KeyEncryptionKeyLocation(
            dataDirectory: data, allowsKeyInDataDirectory: false,
            environment: [KeyEncryptionKey.environmentVariable: Hex.encode(try SecureRandom.bytes(count: 32))])
        #expect(try !fromEnvironment.resolve(createIfMissing: false).inDataDirectory)
    }
}
