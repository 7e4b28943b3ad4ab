import Foundation
import SandboxSupport
import TillHTTP

/// After the run: waiting for every payment to settle, and comparing Till with the ledgers.
enum LoadCheck {
    /// Every payment as the API lists it, and how many still have a pending or unknown
    /// transaction when the wait ended.
    struct Settled {
        var payments: [[String: Any]]
        var unsettled: Int
        var waited: Duration
    }

    /// Lists the merchant's payments until none has a transaction in flight, or `limit` passes.
    static func settle(client: LoadClient, within limit: Duration) async throws -> Settled {
        let started = ContinuousClock.now
        while true {
            let payments = try await allPayments(client: client)
            let unsettled = payments.filter(isInFlight).count
            if unsettled == 0 || ContinuousClock.now - started >= limit {
                return Settled(payments: payments, unsettled: unsettled, waited: ContinuousClock.now - started)
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    static func isInFlight(_ payment: [String: Any]) -> Bool {
        (payment["transactions"] as? [[String: Any]] ?? []).contains {
            ["pending", "unknown"].contains($0["status"] as? String ?? "")
        }
    }

    private static func allPayments(client: LoadClient) async throws -> [[String: Any]] {
        var payments: [[String: Any]] = []
        var cursor: String?
        repeat {
            let page = await client.call(.GET, "/v1/payments?limit=100" + (cursor.map { "&starting_after=\($0)" } ?? ""))
            guard page.status == 200 else {
                throw LoadError("listing payments failed: \(page.outcome)")
            }
            payments += page.json["data"] as? [[String: Any]] ?? []
            cursor = (page.json["has_more"] as? Bool == true) ? page.json["next_cursor"] as? String : nil
        } while cursor != nil
        return payments
    }

    /// What moved for one payment, by Till's records or a sandbox's ledger.
    typealias Totals = PaymentTotals

    /// How Till's payments compare with the gateways' ledgers.
    struct Agreement: Codable, Sendable {
        var agreeing = 0
        var disagreeing = 0
        /// Payments the gateways authorized more than once.
        var doubleCharged = 0
        /// Gateway payments with ledger entries that no Till payment refers to.
        var orphans = 0
        /// The first few disagreements, each naming the payment and both sides.
        var examples: [String] = []

        var isExact: Bool { disagreeing == 0 && doubleCharged == 0 && orphans == 0 }
    }

    static func compare(payments: [[String: Any]], ledger: [LedgerEntry]) -> Agreement {
        let gateways = Totals.byPayment(ledger)
        var agreement = Agreement()
        var known = Set<String>()
        func note(_ text: String) { if agreement.examples.count < 10 { agreement.examples.append(text) } }
        for payment in payments {
            let id = payment["id"] as? String ?? "?"
            let reference = payment["gateway_payment_reference"] as? String
            if let reference { known.insert(reference) }
            let till = Totals(payment: payment)
            let gateway = reference.flatMap { gateways[$0] } ?? Totals()
            if till == gateway {
                agreement.agreeing += 1
            } else {
                agreement.disagreeing += 1
                note("\(id) (\(payment["gateway"] as? String ?? "?")): Till says \(till); the gateway \(gateway)")
            }
            if gateway.authorizations > 1 {
                agreement.doubleCharged += 1
                note("\(id) was authorized \(gateway.authorizations) times")
            }
        }
        let orphans = Set(gateways.keys).subtracting(known)
        agreement.orphans = orphans.count
        for orphan in orphans.sorted().prefix(3) { note("the gateway moved money for \(orphan), which Till does not know") }
        return agreement
    }
}

/// The daemon's resident memory over the run, from one-second samples.
struct MemoryFigures: Codable, Sendable {
    var samples: Int
    /// Medians of the first and the last third of the samples, and the largest sample.
    var startMB: Double
    var endMB: Double
    var peakMB: Double
    var growthMB: Double
    var toleranceMB: Double
    var withinTolerance: Bool

    init(samples kilobytes: [Int], toleranceMB: Double) {
        func median(_ values: ArraySlice<Int>) -> Double {
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return 0 }
            return Double(sorted[sorted.count / 2]) / 1024
        }
        let third = max(1, kilobytes.count / 3)
        samples = kilobytes.count
        startMB = median(kilobytes.prefix(third))
        endMB = median(kilobytes.suffix(third))
        peakMB = Double(kilobytes.max() ?? 0) / 1024
        growthMB = endMB - startMB
        self.toleranceMB = toleranceMB
        // Too few samples to tell a trend from noise is a failure to measure, not a pass.
        withinTolerance = kilobytes.count >= 3 && growthMB <= toleranceMB
    }
}

/// Everything a load run found.
struct LoadSummary: Codable, Sendable {
    var durationSeconds: Double
    var concurrency: Int
    var faultShare: Double
    var operations: Int
    var operationsPerSecond: Double
    var byOperation: [String: Int]
    var outcomes: [String: Int]
    var payments: Int
    var settled: Int
    var unsettled: Int
    var settleSeconds: Double
    var ledger: LoadCheck.Agreement
    var memory: MemoryFigures
    var passed: Bool

    init(
        settings: LoadSettings, elapsed: Duration, stats: LoadStats.Counts, payments: Int, unsettled: Int,
        settleTime: Duration, agreement: LoadCheck.Agreement, memory: MemoryFigures
    ) {
        durationSeconds = Self.seconds(elapsed)
        concurrency = settings.concurrency
        faultShare = settings.faultShare
        operations = stats.total
        operationsPerSecond = durationSeconds > 0 ? Double(stats.total) / durationSeconds : 0
        byOperation = stats.operations
        outcomes = stats.outcomes
        self.payments = payments
        settled = payments - unsettled
        self.unsettled = unsettled
        settleSeconds = Self.seconds(settleTime)
        ledger = agreement
        self.memory = memory
        passed = unsettled == 0 && agreement.isExact && memory.withinTolerance
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    func table() -> String {
        func f(_ value: Double) -> String { String(format: "%.1f", value) }
        var lines = [
            "",
            "Load run: \(f(durationSeconds)) s, \(concurrency) clients, fault share \(faultShare)",
            "  operations       \(operations) (\(f(operationsPerSecond))/s)",
        ]
        for (name, count) in byOperation.sorted(by: { $0.key < $1.key }) {
            lines.append("    \(name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(count)")
        }
        lines.append("  outcomes")
        for (name, count) in outcomes.sorted(by: { $0.value > $1.value }) {
            lines.append("    \(name.padding(toLength: 38, withPad: " ", startingAt: 0)) \(count)")
        }
        lines += [
            "  payments         \(payments): \(settled) settled, \(unsettled) unsettled (waited \(f(settleSeconds)) s)",
            "  ledgers          \(ledger.agreeing) agree, \(ledger.disagreeing) disagree, "
                + "\(ledger.doubleCharged) charged twice, \(ledger.orphans) unknown to Till",
        ]
        lines += ledger.examples.map { "    \($0)" }
        lines += [
            "  daemon memory    \(f(memory.startMB)) MB -> \(f(memory.endMB)) MB (first/last third medians of "
                + "\(memory.samples) samples; peak \(f(memory.peakMB)) MB; growth \(f(memory.growthMB)) MB, "
                + "tolerance \(f(memory.toleranceMB)) MB)",
            passed ? "PASSED" : "FAILED",
            "",
        ]
        return lines.joined(separator: "\n")
    }
}
