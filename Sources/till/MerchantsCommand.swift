import TillCore
import ArgumentParser
import Foundation
import Logging
import TillAudit
import TillServer
import TillStore

/// Options shared by the commands that open the daemon's database directly.
/// Logging for one-shot admin commands: warnings and worse, to standard error.
let cliLogger: Logger = {
    var logger = Logger(label: "till.cli")
    logger.logLevel = .warning
    return logger
}()

struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("data"), help: "The data directory holding till.sqlite.")
    var dataDirectory = "./till-data"

    @Option(name: .customLong("operator"), help: "Your name, recorded in the audit log beside the account and uid.")
    var operatorName: String?

    /// Who the audit log says ran the command.
    var actor: AdminActor { AdminActor.current(operatorName: operatorName) }

    /// The daemon's store, migrated like the daemon migrates it (SQLite in WAL mode lets
    /// this run beside a serving daemon).
    func openStore() throws -> Store {
        try SandboxSetup.makeDataDirectory(dataDirectory)
        let path = (dataDirectory as NSString).appendingPathComponent("till.sqlite")
        do {
            return Store(database: try StoreDatabase.open(path: path, migrations: Daemon.migrations))
        } catch {
            throw ServeError("cannot open the database \(path): \(error)")
        }
    }
}

/// `till merchants`: who may call the API.
struct MerchantsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merchants",
        abstract: "Create and list merchants.",
        subcommands: [Create.self, List.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a merchant with a secret and a publishable key (shown once; stored hashed).")

        @Option(help: "The merchant's name.")
        var name: String

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty, trimmed.count <= 200 else {
                throw ValidationError("--name must be 1 to 200 characters")
            }
        }

        func run() async throws {
            let store = try database.openStore()
            let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
            let created = try await AdminAudit.perform(
                in: database.dataDirectory, action: .adminCommand, subject: "merchants create", details: ["name": trimmed],
                actor: database.actor, logger: cliLogger
            ) {
                try await Merchants.create(name: trimmed, in: store)
            }
            print(
                """
                merchant          \(created.merchant.id)
                secret key        \(created.secretKey)
                publishable key   \(created.publishableKey)

                The keys are shown once: Till stores only their hashes.
                """)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List merchants.")

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let store = try database.openStore()
            for merchant in try await store.merchants() {
                print("\(merchant.id)  \(RFC3339.format(merchant.createdAt))  \(merchant.name)")
            }
        }
    }
}
