import ArgumentParser
import Foundation
import Logging
import TillAudit
import TillServer
import TillVault

/// `till keys`: the vault's key-encryption key, data keys and fingerprint key.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create and rotate the card vault's keys.",
        discussion: """
            The key-encryption key (KEK) wraps every other key and never enters the database. \
            It comes from the \(KeyEncryptionKey.environmentVariable) environment variable (32 bytes, \
            hex or base64) when set, else from the file --kek-file names, else from <data>/vault.kek \
            (mode 0600; a file that group or others can access is refused).

            A key file inside the data directory is for sandboxes only: any copy of the data \
            directory would carry the cards and the key that opens them, and `till serve --config` \
            refuses it. For real cards keep the key elsewhere (--kek-file outside the data \
            directory, or the environment variable from a secrets manager).
            """,
        subcommands: [Init.self, Rotate.self, Status.self]
    )

    struct Options: ParsableArguments {
        @Option(name: .customLong("data"), help: "The data directory (database till.sqlite, key file vault.kek).")
        var dataDirectory = VaultKeyAdministration.defaultDataDirectory

        @Option(help: "The key-encryption key file, when TILL_VAULT_KEK is unset (default <data>/vault.kek, sandboxes only).")
        var kekFile: String?

        @Option(name: .customLong("operator"), help: "Your name, recorded in the audit log beside the account and uid.")
        var operatorName: String?

        var actor: AdminActor { AdminActor.current(operatorName: operatorName) }

        var location: KeyEncryptionKeyLocation {
            KeyEncryptionKeyLocation(dataDirectory: dataDirectory, keyFile: kekFile, allowsKeyInDataDirectory: true)
        }

        /// Says loudly, on standard error, when the key sits beside the cards it protects.
        func warnIfKeyInDataDirectory() {
            guard KeyEncryptionKey.isSetInEnvironment() == false, location.keyFileIsInDataDirectory else { return }
            let line = String(repeating: "!", count: 78)
            FileHandle.standardError.write(
                Data(
                    """
                    \(line)
                    WARNING: the key-encryption key \(location.keyFilePath) is inside the data directory.
                    Any copy of \(dataDirectory) carries the cards AND the key that opens them.
                    This is for sandboxes only; `till serve --config` refuses it. For real cards,
                    move the file out of the data directory and pass --kek-file PATH, or set
                    \(KeyEncryptionKey.environmentVariable).
                    \(line)

                    """.utf8))
        }
    }

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the KEK file (unless it exists or the variable is set), the first data key and the fingerprint key.")

        @OptionGroup var options: Options

        func run() async throws {
            try ProcessHardening.disableCoreDumps()
            let report = try await AdminAudit.perform(
                in: options.dataDirectory, action: .adminCommand, subject: "keys init", actor: options.actor,
                logger: cliLogger
            ) {
                try await VaultKeyAdministration.initialize(
                    dataDirectory: options.dataDirectory, keyFile: options.kekFile,
                    audit: AdminVaultSink(dataDirectory: options.dataDirectory, actor: options.actor, logger: cliLogger),
                    logger: Logger(label: "till.keys"))
            }
            options.warnIfKeyInDataDirectory()
            print(
                """
                key-encryption key  \(report.keyEncryptionKeyOrigin)\(report.createdKeyFile ? " (created)" : "")
                data key            \(report.keys.dataKeyID)\(report.keys.createdDataKey ? " (created)" : "")
                fingerprint key     \(report.keys.fingerprintKeyID)\(report.keys.createdFingerprintKey ? " (created)" : "")
                """)
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new active data key, re-encrypt every card under it, and retire the old keys.")

        @OptionGroup var options: Options

        @Option(help: "Cards re-encrypted per transaction.")
        var batchSize = 500

        func validate() throws {
            guard batchSize > 0 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
        }

        func run() async throws {
            try ProcessHardening.disableCoreDumps()
            options.warnIfKeyInDataDirectory()
            let report = try await AdminAudit.perform(
                in: options.dataDirectory, action: .adminCommand, subject: "keys rotate", actor: options.actor,
                logger: cliLogger
            ) {
                try await VaultKeyAdministration.rotate(
                    dataDirectory: options.dataDirectory, keyFile: options.kekFile, batchSize: batchSize,
                    audit: AdminVaultSink(dataDirectory: options.dataDirectory, actor: options.actor, logger: cliLogger),
                    logger: Logger(label: "till.keys"))
            }
            var lines = [
                "new data key        \(report.newDataKeyID)",
                "re-encrypted        \(report.reencryption.reencrypted) card(s)",
                "retired             \(report.reencryption.retiredKeyIDs.isEmpty ? "none" : report.reencryption.retiredKeyIDs.joined(separator: ", "))",
            ]
            if !report.reencryption.unreadableTokens.isEmpty {
                lines.append(
                    "unreadable          \(report.reencryption.unreadableTokens.joined(separator: ", ")) "
                        + "(altered outside the vault; their old key stays until they are dealt with)")
            }
            print(lines.joined(separator: "\n"))
            if !report.reencryption.unreadableTokens.isEmpty { throw ExitCode(2) }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the vault's keys and how many cards each seals.")

        @OptionGroup var options: Options

        func run() async throws {
            try ProcessHardening.disableCoreDumps()
            options.warnIfKeyInDataDirectory()
            let kek = try options.location.resolve(createIfMissing: false).key
            let vault = try VaultKeyAdministration.openVault(
                dataDirectory: options.dataDirectory, kek: kek,
                logger: Logger(label: "till.keys"))
            try await vault.checkKeyEncryptionKey()
            print("key-encryption key  \(kek.identifier) from \(kek.origin)")
            for key in try await vault.keys() {
                let purpose = key.purpose.padding(toLength: 12, withPad: " ", startingAt: 0)
                let status = key.status.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
                print("\(key.id)  \(purpose)\(status)  \(key.cardCount) card(s), \(key.usageCount) use(s)")
            }
        }
    }
}
