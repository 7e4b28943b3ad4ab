import ArgumentParser
import Foundation
import TillBilling
import TillBillingEngine
import TillCore
import TillStore

/// `till billing`: a merchant's invoices, subscriptions and credit notes, read from the
/// database (beside a serving daemon, or from a copy of its data directory).
struct BillingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billing",
        abstract: "Show a merchant's invoices, subscriptions and credit notes.",
        subcommands: [Invoices.self, Subscriptions.self, CreditNotes.self]
    )

    struct Selection: ParsableArguments {
        @Option(help: "The merchant (mer_…).")
        var merchant: String

        @Option(help: "How many, newest first (1 to 1000).")
        var limit = 50

        @Flag(help: "Print JSON Lines, one object per line, as the API shows them.")
        var json = false

        func validate() throws {
            guard (1...1_000).contains(limit) else { throw ValidationError("--limit must be 1 to 1000") }
        }
    }

    struct Invoices: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List invoices: number, status, total, amount due, period.")

        @OptionGroup var selection: Selection
        @Option(help: "Only invoices in this status (draft, open, paid, void, uncollectible).")
        var status: String?
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let wanted = try status.map { name in
                guard let status = InvoiceStatus(rawValue: name) else { throw ValidationError("unknown invoice status \(name)") }
                return status
            }
            let documents = BillingDocuments(store: try database.openStore())
            let invoices = try await documents.invoices(merchantID: selection.merchant, status: wanted, limit: selection.limit)
            if selection.json {
                for invoice in invoices { print(String(decoding: try BillingViews.invoice(invoice).data, as: UTF8.self)) }
                return
            }
            print("id\tnumber\tstatus\tcustomer\ttotal\tamount_remaining\tperiod_start")
            for invoice in invoices {
                let total = try invoice.computedTotals().total
                let due = try invoice.amountRemaining()
                print(
                    [
                        invoice.id, invoice.number ?? "-", invoice.status.rawValue, invoice.customerID, total.description,
                        due.description, invoice.periodStart.map(RFC3339.format) ?? "-",
                    ].joined(separator: "\t"))
            }
        }
    }

    struct Subscriptions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List subscriptions: status, customer, current period.")

        @OptionGroup var selection: Selection
        @Option(help: "Only subscriptions in this status (active, past_due, …).")
        var status: String?
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let wanted = try status.map { name in
                guard let status = SubscriptionStatus(rawValue: name) else { throw ValidationError("unknown subscription status \(name)") }
                return status
            }
            let documents = BillingDocuments(store: try database.openStore())
            let subscriptions = try await documents.subscriptions(
                merchantID: selection.merchant, status: wanted, limit: selection.limit)
            if selection.json {
                for subscription in subscriptions {
                    print(String(decoding: try BillingViews.subscription(subscription).data, as: UTF8.self))
                }
                return
            }
            print("id\tstatus\tcustomer\tcurrent_period_start\tcurrent_period_end\tcancel_at_period_end")
            for subscription in subscriptions {
                print(
                    [
                        subscription.id, subscription.status.rawValue, subscription.customerID,
                        RFC3339.format(subscription.schedule.current.start), RFC3339.format(subscription.schedule.current.end),
                        String(subscription.cancelAtPeriodEnd),
                    ].joined(separator: "\t"))
            }
        }
    }

    struct CreditNotes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "credit-notes", abstract: "List credit notes.")

        @OptionGroup var selection: Selection
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let documents = BillingDocuments(store: try database.openStore())
            let notes = try await documents.creditNotes(merchantID: selection.merchant, limit: selection.limit)
            if selection.json {
                for note in notes { print(String(decoding: BillingViews.creditNote(note).data, as: UTF8.self)) }
                return
            }
            print("id\tnumber\tinvoice\toutcome\ttotal")
            for note in notes {
                print([note.id, note.number, note.invoiceID, note.outcome.rawValue, note.totals.total.description].joined(separator: "\t"))
            }
        }
    }
}
