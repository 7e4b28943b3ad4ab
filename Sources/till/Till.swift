import ArgumentParser
import TillCore

@main
struct TillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "till",
        abstract: "Till: a checkout daemon and payment-gateway abstraction.",
        discussion: """
            Till tokenizes cards and authorizes, captures, voids and refunds payments \
            through pluggable gateways, and keeps a tamper-evident audit log.
            """,
        version: Till.version,
        subcommands: [
            ServeCommand.self, SandboxCommand.self, MerchantsCommand.self, APIKeysCommand.self, KeysCommand.self,
            AuditCommand.self, LoadCommand.self, BenchCommand.self,
        ]
    )
}
