import TillCore
import ArgumentParser
import Foundation
import Logging
import TillAudit
import TillServer
import TillStore

/// `till api-keys`: issuing and revoking a merchant's API keys.
struct APIKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-keys",
        abstract: "Create, list and revoke API keys.",
        discussion: """
            Secret keys (sk_…) are for the merchant's servers; publishable keys (pk_…) may only \
            create tokens. A key is shown once when it is created and stored hashed; a revoked \
            key is refused (401) from the next request on.
            """,
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key for a merchant (secret unless --publishable).")

        @Option(help: "The merchant's id (mer_…).")
        var merchant: String

        @Flag(help: "Create a publishable key instead of a secret key.")
        var publishable = false

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let store = try database.openStore()
            guard try await store.merchant(id: merchant) != nil else {
                throw ServeError("no merchant \(merchant) in \(database.dataDirectory)")
            }
            let (record, key) = try await AdminAudit.perform(
                in: database.dataDirectory, action: .apiKeyCreation, subject: merchant,
                details: ["kind": publishable ? "publishable" : "secret"], actor: database.actor, logger: cliLogger
            ) {
                try await Merchants.createKey(publishable ? .publishable : .secret, merchantID: merchant, in: store)
            }
            print(
                """
                key id   \(record.id)
                key      \(key)

                The key is shown once: Till stores only its hash.
                """)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a merchant's keys (prefixes only).")

        @Option(help: "The merchant's id (mer_…).")
        var merchant: String

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let store = try database.openStore()
            for key in try await store.apiKeys(merchantID: merchant) {
                let state = key.revokedAt.map { "revoked \(RFC3339.format($0))" } ?? "live"
                print("\(key.id)  \(key.kind.rawValue)  \(key.prefix)  created \(RFC3339.format(key.createdAt))  \(state)")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by its id (key_…).")

        @Argument(help: "The key's id (key_…), as `till api-keys list` shows it.")
        var keyID: String

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let store = try database.openStore()
            let revoked = try await AdminAudit.perform(
                in: database.dataDirectory, action: .apiKeyRevocation, subject: keyID, actor: database.actor,
                logger: cliLogger
            ) {
                guard let revoked = try await store.revokeAPIKey(id: keyID, at: Date()) else {
                    throw ServeError("no live key \(keyID) in \(database.dataDirectory)")
                }
                return revoked
            }
            print("revoked  \(revoked.id)  \(revoked.kind.rawValue)  \(revoked.prefix)  merchant \(revoked.merchantId)")
        }
    }
}
