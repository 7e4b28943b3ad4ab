import Foundation
public import Logging
import TillCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Measures the audit log against the machine's own limits, so every figure comes with
/// the ceiling it should be read against: durable appends per second next to the raw
/// `write`+`fsync` rate of the same disk, and verification throughput next to raw SHA-256.
public enum AuditBenchmark {
    public struct Result: Sendable, Hashable, Codable {
        /// Entries appended (and acknowledged) in the append run.
        public var appends: Int
        /// Concurrent appenders.
        public var concurrency: Int
        public var appendsPerSecond: Double
        /// Commits (fsyncs) in the append run, so entries per batch is appends / batches.
        public var batches: UInt64
        /// Signed checkpoints in the log, each one Ed25519 verification for the verifier.
        public var checkpoints: Int
        /// Small `write` + `fsync` pairs per second on the same directory.
        public var rawFsyncsPerSecond: Double
        /// Log size verified, bytes.
        public var verifiedBytes: Int
        /// Full verification: every line, link and root, and every checkpoint's signature.
        public var verifyMegabytesPerSecond: Double
        /// The same log checked against its newest checkpoint only: the streaming cost
        /// (hashing, parsing, chain, tree) without one Ed25519 verification per commit.
        public var verifyStreamMegabytesPerSecond: Double
        /// SHA-256 over 1 MiB buffers, MB/s (10^6 bytes).
        public var rawSHA256MegabytesPerSecond: Double

        /// Durable appends per raw fsync: above 1 thanks to group commit.
        public var appendsPerFsyncRatio: Double { appendsPerSecond / rawFsyncsPerSecond }
        /// Verification speed as a fraction of raw SHA-256.
        public var verifyToSHA256Ratio: Double { verifyMegabytesPerSecond / rawSHA256MegabytesPerSecond }
        /// Streaming verification speed as a fraction of raw SHA-256.
        public var verifyStreamToSHA256Ratio: Double { verifyStreamMegabytesPerSecond / rawSHA256MegabytesPerSecond }
    }

    /// Runs the benchmark in `directory` (created; its audit files are replaced).
    public static func run(
        directory: String, appends: Int, concurrency: Int, logger: Logger
    ) async throws(AuditError) -> Result {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = AuditLog.Configuration(directory: directory, origin: "bench.till.local/audit")
        for path in [configuration.logPath, configuration.checkpointsPath, configuration.keyringPath, configuration.signingKeyPath] {
            unlink(path)
        }
        configuration.maximumBatchSize = 8192

        let fsyncRate = try rawFsyncRate(path: directory + "/fsync-probe", seconds: 1.0)
        let shaRate = rawSHA256Rate(seconds: 1.0)

        let log = try await AuditLog.open(configuration, logger: logger)
        let perTask = max(1, appends / max(1, concurrency))
        let event = try AuditEvent(
            actor: "merchant:acct_bench", action: .paymentTransition, subject: "pay_0123456789abcdef", origin: "127.0.0.1",
            details: ["from": "authorized", "to": "captured", "operation": "capture", "amount": "1999", "currency": "usd"])
        let started = ContinuousClock.now
        let firstCommits = log.commitCount
        let outcome: Swift.Result<Void, AuditError> = await withTaskGroup(of: Swift.Result<Void, AuditError>.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    do throws(AuditError) {
                        for _ in 0..<perTask { try await log.append(event) }
                        return .success(())
                    } catch {
                        return .failure(error)
                    }
                }
            }
            for await result in group {
                if case .failure = result { return result }
            }
            return .success(())
        }
        try outcome.get()
        let appendSeconds = seconds(since: started)
        let appended = perTask * concurrency
        let batches = log.commitCount - firstCommits
        try await log.close()

        let verifyStarted = ContinuousClock.now
        let report = try AuditVerifier.verify(
            log: configuration.logPath, checkpoints: configuration.checkpointsPath, keyring: configuration.keyringPath)
        let verifySeconds = seconds(since: verifyStarted)
        guard report.status == .intact else {
            throw .io("the benchmark's own log did not verify: \(report.problem.map(String.init(describing:)) ?? "\(report.status)")")
        }
        let notes = CheckpointsFile.parse(try FileIO.readAll(configuration.checkpointsPath)).entries
        let newestOnly = directory + "/newest.checkpoints"
        if let newest = notes.last?.note {
            try FileIO.writeAtomically(CheckpointsFile.serialize(newest), to: newestOnly, mode: 0o644)
        }
        let streamStarted = ContinuousClock.now
        let streamed = try AuditVerifier.verify(
            log: configuration.logPath, checkpoints: newestOnly, keyring: configuration.keyringPath)
        let streamSeconds = seconds(since: streamStarted)
        guard streamed.status == .intact else { throw .io("the benchmark's log did not verify against its newest checkpoint") }
        return Result(
            appends: appended, concurrency: concurrency, appendsPerSecond: Double(appended) / appendSeconds,
            batches: batches, checkpoints: notes.count, rawFsyncsPerSecond: fsyncRate, verifiedBytes: report.bytes,
            verifyMegabytesPerSecond: Double(report.bytes) / 1e6 / verifySeconds,
            verifyStreamMegabytesPerSecond: Double(streamed.bytes) / 1e6 / streamSeconds,
            rawSHA256MegabytesPerSecond: shaRate)
    }

    /// 256-byte appends each followed by `fsync`, per second.
    static func rawFsyncRate(path: String, seconds budget: Double) throws(AuditError) -> Double {
        let file = try FileIO.File(path: path, flags: O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, mode: 0o600)
        defer {
            file.close()
            unlink(path)
        }
        let line = [UInt8](repeating: 0x61, count: 255) + [0x0A]
        let started = ContinuousClock.now
        var count = 0
        repeat {
            try file.write(line)
            try file.sync()
            count += 1
        } while seconds(since: started) < budget
        return Double(count) / seconds(since: started)
    }

    /// SHA-256 throughput over 1 MiB buffers, MB/s.
    static func rawSHA256Rate(seconds budget: Double) -> Double {
        let block = [UInt8](repeating: 0x5a, count: 1 << 20)
        let started = ContinuousClock.now
        var bytes = 0
        var sink: UInt8 = 0
        repeat {
            sink ^= SHA256.hash(data: block).bytes[0]
            bytes += block.count
        } while seconds(since: started) < budget
        if sink == 0xFF { bytes += 0 }
        return Double(bytes) / 1e6 / seconds(since: started)
    }

    private static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
