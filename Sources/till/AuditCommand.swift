import ArgumentParser
import Foundation
import Logging
import TillAudit

/// `till audit`: verify the tamper-evident audit log offline, print proofs, benchmark it.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify the tamper-evident audit log and print Merkle proofs.",
        discussion: """
            The audit log is JSON Lines; its entries are chained by hash and are the leaves of \
            an RFC 6962 Merkle tree. Checkpoints are C2SP signed notes (Ed25519). Verification \
            needs only the log, the checkpoints and the public keyring: no secrets.
            """,
        subcommands: [Verify.self, Prove.self, Consistency.self, Bench.self, AppendLoad.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute every hash, link, root and signature; report the first problem.",
            discussion: """
                Exit status: 0 intact; 1 tampered (the first problem is printed with its reason \
                code and position); 2 usage or I/O error; 3 intact, but the newest entries are \
                not yet covered by a checkpoint. Reason codes: \
                \(AuditProblem.Reason.allCases.map(\.rawValue).joined(separator: ", ")).
                """)

        @Option(help: "The audit log (JSON Lines).") var log: String
        @Option(help: "The checkpoints file beside it.") var checkpoints: String
        @Option(help: "The public keyring (JSON).") var keyring: String
        @Option(help: "A checkpoint note you kept earlier: detects rollback and forks.") var trusted: String?
        @Flag(help: "Print the report as JSON.") var json = false

        func run() throws {
            let report: AuditVerificationReport
            do {
                report = try AuditVerifier.verify(log: log, checkpoints: checkpoints, keyring: keyring, trusted: trusted)
            } catch {
                FileHandle.standardError.write(Data("till audit verify: \(error)\n".utf8))
                throw ExitCode(2)
            }
            if json {
                print(try encodeJSON(report))
            } else {
                var lines = [
                    "status       \(report.status.rawValue)",
                    "entries      \(report.entries) (\(report.bytes) bytes)",
                    "checkpoints  \(report.checkpoints) verified, newest covers \(report.coveredSize)",
                    "root         \(report.root)",
                ]
                if let problem = report.problem { lines.append("problem      \(problem)") }
                if report.status == .uncovered {
                    lines.append("note         entries \(report.coveredSize)..<\(report.entries) are not covered by a checkpoint yet")
                }
                print(lines.joined(separator: "\n"))
            }
            if report.exitCode != 0 { throw ExitCode(report.exitCode) }
        }
    }

    struct Prove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an RFC 6962 inclusion proof for one entry (base64 hashes, lowest level first).")

        @Option(help: "The audit log.") var log: String
        @Option(help: "The entry's sequence number (leaf index, from 0).") var index: UInt64
        @Option(help: "The tree size to prove against (default: the whole log).") var size: UInt64?
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let proof: AuditProofs.Inclusion
            do {
                proof = try AuditProofs.inclusion(log: log, index: index, size: size)
            } catch {
                FileHandle.standardError.write(Data("till audit prove: \(error)\n".utf8))
                throw ExitCode(2)
            }
            if json {
                print(try encodeJSON(proof))
            } else {
                print(
                    (["index \(proof.index)", "size \(proof.size)", "leaf \(proof.leafHash)", "root \(proof.root)"]
                        + proof.proof.map { "proof \($0)" }).joined(separator: "\n"))
            }
        }
    }

    struct Consistency: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an RFC 6962 consistency proof between two tree sizes (base64 hashes).")

        @Option(help: "The audit log.") var log: String
        @Option(help: "The older tree size.") var from: UInt64
        @Option(help: "The newer tree size.") var to: UInt64
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let proof: AuditProofs.Consistency
            do {
                proof = try AuditProofs.consistency(log: log, from: from, to: to)
            } catch {
                FileHandle.standardError.write(Data("till audit consistency: \(error)\n".utf8))
                throw ExitCode(2)
            }
            if json {
                print(try encodeJSON(proof))
            } else {
                print(
                    (["from \(proof.from)", "to \(proof.to)", "root1 \(proof.root1)", "root2 \(proof.root2)"]
                        + proof.proof.map { "proof \($0)" }).joined(separator: "\n"))
            }
        }
    }

    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure durable appends/s and verification MB/s against raw fsync and SHA-256 on this disk.",
            discussion: """
                Rerunnable: it replaces the audit files in --dir (default: a fresh temporary \
                directory) each time. Build with -c release for meaningful numbers.
                """)

        @Option(help: "Where to write the benchmark log (on the disk you want to measure).") var dir: String?
        @Option(help: "Entries to append.") var appends = 50_000
        @Option(help: "Concurrent appenders (group commit batches them).") var concurrency = 64
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            guard appends > 0, concurrency > 0 else { throw ValidationError("--appends and --concurrency must be positive") }
        }

        func run() async throws {
            let directory = dir ?? NSTemporaryDirectory() + "till-audit-bench-\(getpid())"
            var logger = Logger(label: "till.audit.bench")
            logger.logLevel = .warning
            let result = try await AuditBenchmark.run(
                directory: directory, appends: appends, concurrency: concurrency, logger: logger)
            if json {
                print(try encodeJSON(result))
                return
            }
            func f(_ value: Double) -> String { String(format: "%.1f", value) }
            print(
                """
                directory            \(directory)
                durable appends/s    \(f(result.appendsPerSecond))  (\(result.appends) entries, \(result.concurrency) appenders, \(result.batches) commits)
                raw write+fsync/s    \(f(result.rawFsyncsPerSecond))
                  ratio              \(String(format: "%.2f", result.appendsPerFsyncRatio)) appends per raw fsync
                verify MB/s          \(f(result.verifyMegabytesPerSecond))  (\(result.verifiedBytes) bytes, \(result.checkpoints) checkpoint signatures)
                  ratio              \(String(format: "%.2f", result.verifyToSHA256Ratio)) of raw SHA-256
                verify MB/s, newest  \(f(result.verifyStreamMegabytesPerSecond))  (same log, newest checkpoint only: the streaming cost)
                  ratio              \(String(format: "%.2f", result.verifyStreamToSHA256Ratio)) of raw SHA-256
                raw SHA-256 MB/s     \(f(result.rawSHA256MegabytesPerSecond))
                """)
        }
    }

    /// A writer for crash tests: appends and prints `ack <seq>` after each acknowledgement,
    /// so a test can kill it at any moment and check every acknowledged entry survives.
    struct AppendLoad: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "append-load", abstract: "Append test entries, printing each acknowledgement.",
            shouldDisplay: false)

        @Option var dir: String
        @Option var origin = "crash.till.local/audit"
        @Option var count = 1_000_000
        @Option var concurrency = 8
        @Option(help: "Largest single write, to make torn lines likely.") var chunk: Int?

        func run() async throws {
            var configuration = AuditLog.Configuration(directory: dir, origin: origin)
            configuration.writeChunkSize = chunk
            var logger = Logger(label: "till.audit.load")
            logger.logLevel = .warning
            let log = try await AuditLog.open(configuration, logger: logger)
            let perTask = max(1, count / concurrency)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<concurrency {
                    group.addTask {
                        for number in 0..<perTask {
                            let event = try AuditEvent(
                                actor: "worker:\(worker)", action: .adminCommand, subject: "load-\(number)", origin: "127.0.0.1",
                                details: ["padding": String(repeating: "x", count: 64 + number % 200)])
                            let receipt = try await log.append(event)
                            let line = "ack \(receipt.sequence)\n"
                            FileHandle.standardOutput.write(Data(line.utf8))
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await log.close()
        }
    }
}

private func encodeJSON(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
