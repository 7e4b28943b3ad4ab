import Foundation
public import Logging
public import TillCrypto
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The tamper-evident audit log: an append-only JSON Lines file whose entries are chained
/// by hash and are the leaves of an RFC 6962 Merkle tree, covered by signed checkpoints.
///
/// Appends use group commit. Callers `await` ``append(_:)``; one dedicated writer thread
/// (blocking file I/O stays off the cooperative pool) takes everything queued, writes it
/// with one `write`, makes it durable with one `fsync`, and only then answers every caller
/// in the batch. Callers that arrive while a batch syncs form the next batch, so
/// throughput grows with load.
///
/// Checkpoints are signed on a cadence, not per commit: after a commit once
/// ``Configuration/checkpointInterval`` has passed or ``Configuration/checkpointEntries``
/// entries are uncovered (whichever comes first), by the idle writer when the interval
/// runs out, on open, on close, and with the old key just before a key rotation. Between
/// checkpoints the newest entries are durable but *uncovered*: `till audit verify` reports
/// them as such (exit 3), exactly as after a crash, until the next checkpoint signs them.
///
/// Opening verifies the existing chain, cuts a torn final line (the unacknowledged tail
/// of a write interrupted by a crash) and appends an `audit.log.start` entry;
/// ``close()`` appends `audit.log.stop`. After a failed write or sync the log refuses
/// further appends (fail closed): what reached the disk is unknown until it is reopened.
public final class AuditLog: Sendable {
    /// Where the log and its companions live, and how it batches.
    public struct Configuration: Sendable {
        /// The JSON Lines log.
        public var logPath: String
        /// The signed checkpoints, one note per commit.
        public var checkpointsPath: String
        /// The public keyring (JSON) a reviewer needs.
        public var keyringPath: String
        /// The private signing key (mode 0600), never copied into the log.
        public var signingKeyPath: String
        /// The log's name: the first line of every checkpoint, and the signing key's name.
        public var origin: String
        /// The actor recorded on the log's own start, stop and key-rotation entries.
        public var actor = "till.audit"
        /// The most entries one commit takes.
        public var maximumBatchSize = 4096
        /// The longest committed entries wait for a signed checkpoint. `.zero` signs one
        /// after every commit.
        public var checkpointInterval: Duration = .seconds(1)
        /// The most committed entries left uncovered: a commit that reaches this many signs.
        public var checkpointEntries: UInt64 = 10_000
        /// The largest single `write`; nil writes each batch at once. Small values exist
        /// so crash tests can interrupt a batch halfway.
        public var writeChunkSize: Int?

        /// The files `audit.jsonl`, `audit.checkpoints`, `audit-keyring.json` and
        /// `audit-signing.key` in `directory`.
        public init(directory: String, origin: String) {
            let base = directory.hasSuffix("/") ? directory : directory + "/"
            logPath = base + "audit.jsonl"
            checkpointsPath = base + "audit.checkpoints"
            keyringPath = base + "audit-keyring.json"
            signingKeyPath = base + "audit-signing.key"
            self.origin = origin
        }
    }

    /// What an acknowledged append got: its place in the log, and the checkpoint signed
    /// with its batch if there was one.
    ///
    /// When you hold a receipt, the entry is on disk (written and `fsync`ed). A signed
    /// checkpoint covers it at once when ``checkpoint`` is set; otherwise a later one will,
    /// within ``Configuration/checkpointInterval`` (or at the next close or key rotation)
    /// while the process lives. Until then it is durable but uncovered: verification
    /// reports `uncovered` rather than `intact`, and a crash leaves it so until the next
    /// open signs it.
    public struct Receipt: Sendable, Hashable {
        /// The entry's sequence number (its leaf index).
        public let sequence: UInt64
        /// The entry's leaf hash.
        public let leafHash: SHA256Digest
        /// The checkpoint signed right after the entry's batch, which covers it; nil when
        /// the cadence left it to a later checkpoint (see ``AuditLog/latestCheckpoint``).
        public let checkpoint: Checkpoint?
    }

    typealias Reply = CheckedContinuation<Result<Receipt, AuditError>, Never>

    enum Work {
        case event(AuditEvent, Reply)
        case rotate(Reply)
        case close(Reply)
    }

    struct Queue {
        var work: [Work] = []
        var accepting = true
        var latest: Checkpoint?
        /// Batches written and synced (for the benchmark).
        var commits: UInt64 = 0
    }

    private let queue = Mutex(Queue())
    private let wakeup = DispatchSemaphore(value: 0)
    private let writer: Writer

    private init(writer: Writer) {
        self.writer = writer
    }

    /// Opens (or creates) the log, its keys and its checkpoints, and records the start.
    ///
    /// A missing signing key and keyring are created together (key mode 0600). An existing
    /// log is verified first; a torn final line is cut away and logged as a warning.
    ///
    /// - Throws: ``AuditError``: `keys` for a missing or mismatched key, `tampered` if the
    ///   existing chain is broken, `io` for file errors.
    public static func open(_ configuration: Configuration, logger: Logger) async throws(AuditError) -> AuditLog {
        guard NoteKey.isValidName(configuration.origin) else {
            throw .keys("origin \(configuration.origin) must be non-empty, without spaces or +")
        }
        let log = AuditLog(writer: Writer(configuration: configuration, logger: logger))
        let result: Result<Receipt, AuditError> = await withCheckedContinuation { reply in
            let thread = Thread { [log] in log.run(opening: reply) }
            thread.name = "till.audit.writer"
            thread.start()
        }
        _ = try result.get()
        return log
    }

    /// Appends `event` and returns once it is durable. A signed checkpoint covers it now
    /// or within ``Configuration/checkpointInterval`` (see ``Receipt``).
    ///
    /// - Throws: ``AuditError`` (`closed`) after ``close()`` or a failed write; `io` if
    ///   this entry's batch could not be written.
    @discardableResult
    public func append(_ event: AuditEvent) async throws(AuditError) -> Receipt {
        try await submit { .event(event, $0) }
    }

    /// Replaces the checkpoint-signing key: a new key is written to the key file, the
    /// keyring closes the old key's range before the rotation entry and opens the new
    /// key's range at it, and an `audit.signing_key.rotate` entry naming both is appended.
    @discardableResult
    public func rotateSigningKey() async throws(AuditError) -> Receipt {
        try await submit { .rotate($0) }
    }

    /// Appends `audit.log.stop`, syncs both files and stops the writer. Later appends throw.
    @discardableResult
    public func close() async throws(AuditError) -> Receipt {
        try await submit { .close($0) }
    }

    /// Batches committed (one `write` and `fsync` each) since open.
    var commitCount: UInt64 { queue.withLock { $0.commits } }

    /// The newest signed checkpoint: it may not cover the newest acknowledged entries yet.
    public var latestCheckpoint: Checkpoint? { queue.withLock { $0.latest } }

    private func submit(_ make: (Reply) -> Work) async throws(AuditError) -> Receipt {
        let result: Result<Receipt, AuditError> = await withCheckedContinuation { reply in
            let accepted = queue.withLock { queue in
                guard queue.accepting else { return false }
                queue.work.append(make(reply))
                if case .close = queue.work.last { queue.accepting = false }
                return true
            }
            if accepted {
                wakeup.signal()
            } else {
                reply.resume(returning: .failure(.closed("the audit log is closed")))
            }
        }
        return try result.get()
    }

    // MARK: The writer thread

    private func run(opening reply: Reply) {
        do throws(AuditError) {
            let receipt = try writer.open()
            queue.withLock { $0.latest = receipt.checkpoint }
            reply.resume(returning: .success(receipt))
        } catch {
            queue.withLock { $0.accepting = false }
            reply.resume(returning: .failure(error))
            return
        }
        while true {
            // With entries uncovered, wake when the interval runs out to sign them.
            if let due = writer.checkpointDue {
                if wakeup.wait(timeout: due) == .timedOut {
                    signUncovered()
                    continue
                }
            } else {
                wakeup.wait()
            }
            let batch: [Work] = queue.withLock { queue in
                let count = min(queue.work.count, writer.configuration.maximumBatchSize)
                let taken = Array(queue.work.prefix(count))
                queue.work.removeFirst(count)
                return taken
            }
            if batch.isEmpty {
                signUncovered()
                continue
            }
            let stop = process(batch)
            if stop {
                let left: [Work] = queue.withLock { queue in
                    queue.accepting = false
                    defer { queue.work.removeAll() }
                    return queue.work
                }
                for work in left { Self.reply(work, .failure(.closed("the audit log is closed"))) }
                return
            }
        }
    }

    /// Commits `batch` in order; returns whether the writer must stop.
    private func process(_ batch: [Work]) -> Bool {
        let closedError = AuditError.closed("an earlier write failed; the audit log is closed")
        var events: [AuditEvent] = []
        var replies: [Reply] = []
        func flush() -> Bool {
            guard !events.isEmpty else { return true }
            defer {
                events.removeAll()
                replies.removeAll()
            }
            return commit(events, replies: replies)
        }
        func refuse(from start: Int) {
            for item in batch[start...] { Self.reply(item, .failure(closedError)) }
        }
        for (index, work) in batch.enumerated() {
            switch work {
            case .event(let event, let reply):
                events.append(event)
                replies.append(reply)
            case .rotate(let reply):
                guard flush() else {
                    refuse(from: index)
                    return true
                }
                do throws(AuditError) {
                    // The old key signs what it still may, then hands over.
                    if let checkpoint = try writer.signUncovered(force: true) {
                        queue.withLock { $0.latest = checkpoint }
                    }
                    let event = try writer.rotate()
                    guard commit([event], replies: [reply], sign: true) else {
                        refuse(from: index + 1)
                        return true
                    }
                } catch {
                    reply.resume(returning: .failure(error))
                }
            case .close(let reply):
                guard flush() else {
                    refuse(from: index)
                    return true
                }
                do throws(AuditError) {
                    let stop = try AuditEvent(
                        actor: writer.configuration.actor, action: .logStop, subject: writer.configuration.origin,
                        origin: "local")
                    _ = commit([stop], replies: [reply], closing: true)
                } catch {
                    reply.resume(returning: .failure(error))
                }
                refuse(from: index + 1)
                return true
            }
        }
        return !flush()
    }

    private func commit(_ events: [AuditEvent], replies: [Reply], closing: Bool = false, sign: Bool = false) -> Bool {
        switch Result(catching: { () throws(AuditError) -> ([Receipt], Checkpoint?) in
            try writer.commit(events, closing: closing, sign: sign)
        }) {
        case .success(let (receipts, checkpoint)):
            queue.withLock { queue in
                queue.commits += 1
                if let checkpoint { queue.latest = checkpoint }
            }
            for (reply, receipt) in zip(replies, receipts) { reply.resume(returning: .success(receipt)) }
            return true
        case .failure(let error):
            writer.logger.error("audit log write failed; refusing further appends", metadata: ["error": "\(error)"])
            queue.withLock { $0.accepting = false }
            for reply in replies { reply.resume(returning: .failure(error)) }
            return false
        }
    }

    /// Signs the uncovered entries if the interval has run out. A failure here loses
    /// nothing (the entries are durable); the next commit or close tries again.
    private func signUncovered() {
        do throws(AuditError) {
            if let checkpoint = try writer.signUncovered(force: false) {
                queue.withLock { $0.latest = checkpoint }
            }
        } catch {
            writer.logger.warning("audit checkpoint signing failed; will retry", metadata: ["error": "\(error)"])
        }
    }

    private static func reply(_ work: Work, _ result: Result<Receipt, AuditError>) {
        switch work {
        case .event(_, let reply), .rotate(let reply), .close(let reply): reply.resume(returning: result)
        }
    }
}
