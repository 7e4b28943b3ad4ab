import ArgumentParser
import Logging
import TillCore
import TillServer

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
            AuditCommand.self, LoadCommand.self, BenchCommand.self, BillingCommand.self,
        ]
    )

    /// Every logger of the process masks PAN-like text (a card number in a URL, a gateway's
    /// message) before a line is written; the daemon wraps its logger again, harmlessly.
    static func main() async {
        LoggingSystem.bootstrap { label in PANMaskingLogHandler(wrapping: StreamLogHandler.standardError(label: label)) }
        await main(nil)
    }
}
