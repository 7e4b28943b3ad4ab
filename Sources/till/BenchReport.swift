import Foundation
import TillAudit

/// Everything one `till bench` run measured, each figure beside its baseline from the same run.
struct BenchReport: Sendable, Codable {
    /// One operation at one concurrency, through Till and straight to the sandbox.
    struct Comparison: Sendable, Codable {
        var operation: String
        var clients: Int
        var till: BenchLatency
        var direct: BenchLatency
        var throughputRatio: Double { ratio(till.operationsPerSecond, direct.operationsPerSecond) }
        var addedMedianMilliseconds: Double { till.p50Milliseconds - direct.p50Milliseconds }
    }

    struct Vault: Sendable, Codable {
        var clients: Int
        var tokenize: BenchLatency
        var detokenize: BenchLatency
        /// Single-threaded AES-256-GCM seals and opens of the same 16-digit number with the
        /// same size of associated data: the ceiling the vault is read against.
        var rawSealsPerSecond: Double
        var rawOpensPerSecond: Double
    }

    struct Target: Sendable, Codable {
        var name: String
        var measured: String
        var target: String
        var met: Bool
    }

    var command: String
    var machine: String
    var date: String
    var quick: Bool
    var secondsPerRun: Double
    var comparisons: [Comparison]
    /// Each section is absent when `--only` left it out.
    var vault: Vault?
    var audit: AuditBenchmark.Result?
    var memory: BenchMemory?
    /// PaymentIntent creations (no confirm) straight to the Stripe-like sandbox.
    var sandboxCreations: [BenchLatency]
    var usage: BenchUsage?
    var targets: [Target] = []

    func comparison(_ operation: String, _ clients: Int) -> Comparison? {
        comparisons.first { $0.operation == operation && $0.clients == clients }
    }

    /// The issue's targets for 2 cores, checked against this run.
    mutating func evaluateTargets() {
        var targets: [Target] = []
        for operation in [BenchOperation.authorize.rawValue, BenchOperation.authorizeCapture.rawValue] {
            if let at64 = comparison(operation, 64) {
                targets.append(
                    Target(
                        name: "\(operation) @64: Till/direct throughput", measured: fixed(at64.throughputRatio, 2),
                        target: ">= 0.50", met: at64.throughputRatio >= 0.5))
            }
            for clients in [1, 64] {
                guard let row = comparison(operation, clients) else { continue }
                targets.append(
                    Target(
                        name: "\(operation) @\(clients): added median latency",
                        measured: fixed(row.addedMedianMilliseconds, 2) + " ms", target: "< 2 ms",
                        met: row.addedMedianMilliseconds < 2))
                targets.append(
                    Target(
                        name: "\(operation) @\(clients): Till p99.9", measured: fixed(row.till.p999Milliseconds, 2) + " ms",
                        target: "< 25 ms", met: row.till.p999Milliseconds < 25))
            }
        }
        if let vault {
            targets.append(
                Target(
                    name: "vault tokenize/s", measured: fixed(vault.tokenize.operationsPerSecond, 0), target: ">= 20000",
                    met: vault.tokenize.operationsPerSecond >= 20_000))
        }
        if let audit {
            targets.append(
                Target(
                    name: "audit durable appends/s", measured: fixed(audit.appendsPerSecond, 0), target: ">= 20000",
                    met: audit.appendsPerSecond >= 20_000))
            targets.append(
                Target(
                    name: "audit verify / raw SHA-256", measured: fixed(audit.verifyToSHA256Ratio, 2), target: ">= 0.50",
                    met: audit.verifyToSHA256Ratio >= 0.5))
        }
        if let memory {
            targets.append(
                Target(
                    name: "daemon peak memory @\(memory.connections) connections",
                    measured: fixed(memory.peakMegabytes, 1) + " MB", target: "< 150 MB",
                    met: memory.peakMegabytes < 150 && memory.connectionsAnswered == memory.connections))
        }
        if let usage {
            targets.append(
                Target(
                    name: "usage events acknowledged/s (durable, batches of \(usage.batchSize))",
                    measured: fixed(usage.eventsPerSecond, 0), target: ">= 20000", met: usage.eventsPerSecond >= 20_000))
            targets.append(
                Target(
                    name: "one customer's period aggregated at \(usage.storedEvents) stored events",
                    measured: fixed(usage.aggregateMilliseconds, 2) + " ms", target: "< 50 ms", met: usage.aggregateMilliseconds < 50))
        }
        for run in sandboxCreations {
            targets.append(
                Target(
                    name: "sandbox PaymentIntent creations/s @\(run.clients)", measured: fixed(run.operationsPerSecond, 0),
                    target: ">= 6000", met: run.operationsPerSecond >= 6000))
        }
        self.targets = targets
    }

    /// The report as Markdown tables (they read as plain text in a terminal too).
    var table: String {
        var lines: [String] = []
        lines.append("till bench — \(machine) — \(date)\(quick ? " — QUICK (smoke run, figures not meaningful)" : "")")
        lines.append("")
        lines.append("| operation | clients | Till ops/s | direct ops/s | Till/direct | Till p50 / p99 / p99.9 ms | direct p50 / p99 / p99.9 ms | errors Till/direct |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for row in comparisons {
            lines.append(
                "| \(row.operation) | \(row.clients) | \(fixed(row.till.operationsPerSecond, 0)) | \(fixed(row.direct.operationsPerSecond, 0)) | \(fixed(row.throughputRatio, 2)) | \(percentiles(row.till)) | \(percentiles(row.direct)) | \(row.till.errors)/\(row.direct.errors) |")
        }
        lines.append("")
        lines.append("| figure | value | baseline (same run) | ratio |")
        lines.append("|---|---:|---|---:|")
        if let vault {
            lines.append(
                "| vault tokenize/s (\(vault.clients) tasks, durable SQLite) | \(fixed(vault.tokenize.operationsPerSecond, 0)) | raw AES-256-GCM seal/s, 1 thread: \(fixed(vault.rawSealsPerSecond, 0)) | \(fixed(ratio(vault.tokenize.operationsPerSecond, vault.rawSealsPerSecond), 4)) |")
            lines.append(
                "| vault detokenize/s (\(vault.clients) tasks, each audited) | \(fixed(vault.detokenize.operationsPerSecond, 0)) | raw AES-256-GCM open/s, 1 thread: \(fixed(vault.rawOpensPerSecond, 0)) | \(fixed(ratio(vault.detokenize.operationsPerSecond, vault.rawOpensPerSecond), 4)) |")
        }
        if let audit {
            lines.append(
                "| audit durable appends/s (\(audit.concurrency) appenders, \(audit.appends) entries, \(audit.batches) commits) | \(fixed(audit.appendsPerSecond, 0)) | raw write+fsync/s: \(fixed(audit.rawFsyncsPerSecond, 0)) | \(fixed(audit.appendsPerFsyncRatio, 1)) |")
            lines.append(
                "| audit verify MB/s (full, every checkpoint signature) | \(fixed(audit.verifyMegabytesPerSecond, 1)) | raw SHA-256 MB/s: \(fixed(audit.rawSHA256MegabytesPerSecond, 1)) | \(fixed(audit.verifyToSHA256Ratio, 2)) |")
            lines.append(
                "| audit verify MB/s (newest checkpoint only) | \(fixed(audit.verifyStreamMegabytesPerSecond, 1)) | raw SHA-256 MB/s: \(fixed(audit.rawSHA256MegabytesPerSecond, 1)) | \(fixed(audit.verifyStreamToSHA256Ratio, 2)) |")
        }
        if let memory {
            lines.append(
                "| daemon peak RSS, \(memory.connectionsAnswered)/\(memory.connections) connections answered | \(fixed(memory.peakMegabytes, 1)) MB | idle peak RSS: \(fixed(memory.idlePeakMegabytes, 1)) MB | \(fixed(ratio(memory.peakMegabytes, memory.idlePeakMegabytes), 2)) |")
        }
        if let usage {
            lines.append(
                "| usage events/s through the API (\(usage.clients) clients, p50 \(fixed(usage.ingest.p50Milliseconds, 2)) ms a batch) | \(fixed(usage.eventsPerSecond, 0)) | raw durable store writes of the same batches: \(fixed(usage.rawEventsPerSecond, 0)) | \(fixed(ratio(usage.eventsPerSecond, usage.rawEventsPerSecond), 2)) |")
            lines.append(
                "| aggregate one customer's month (\(usage.periodEvents) of \(usage.storedEvents) events, exact sum), ms | \(fixed(usage.aggregateMilliseconds, 2)) | raw SQLite COUNT(*) of the same rows: \(fixed(usage.rawCountMilliseconds, 2)) ms | \(fixed(ratio(usage.aggregateMilliseconds, usage.rawCountMilliseconds), 2)) |")
        }
        for run in sandboxCreations {
            lines.append(
                "| sandbox PaymentIntent creations/s @\(run.clients) (p50 \(fixed(run.p50Milliseconds, 2)) ms) | \(fixed(run.operationsPerSecond, 0)) | stripe-mock, same machine class: ~6000 (issue 8) | \(fixed(run.operationsPerSecond / 6000, 2)) |")
        }
        lines.append("")
        lines.append("| target (issues 8 and 15, 2 cores) | measured | target | met |")
        lines.append("|---|---:|---:|---|")
        for target in targets {
            lines.append("| \(target.name) | \(target.measured) | \(target.target) | \(target.met ? "met" : "MISSED") |")
        }
        let failures = (comparisons.flatMap { [$0.till, $0.direct] } + [vault?.tokenize, vault?.detokenize, usage?.ingest].compactMap { $0 } + sandboxCreations)
            .compactMap(\.firstError)
        if let first = failures.first {
            lines.append("")
            lines.append("first error: \(first)")
        }
        return lines.joined(separator: "\n")
    }

    private func percentiles(_ latency: BenchLatency) -> String {
        "\(fixed(latency.p50Milliseconds, 2)) / \(fixed(latency.p99Milliseconds, 2)) / \(fixed(latency.p999Milliseconds, 2))"
    }
}

func ratio(_ value: Double, _ baseline: Double) -> Double { baseline > 0 ? value / baseline : 0 }

func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
