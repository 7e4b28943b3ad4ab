public import GRDB
import Synchronization

/// Group commit: concurrent writes share one SQLite transaction, so one `fsync` makes a
/// whole batch durable instead of one `fsync` per write.
///
/// Each caller's closure runs in its own savepoint inside the batch's transaction:
/// - a closure that throws rolls back only its own work, and only its caller gets the error;
/// - every caller is answered after the batch's `COMMIT` has returned, so with
///   `synchronous = FULL` an answered write is on disk;
/// - if the `COMMIT` (or the transaction itself) fails, every caller in the batch gets that
///   error and none of their work is kept.
///
/// There is no timer: a write that finds the writer idle starts a batch at once, so a lone
/// caller pays for exactly one transaction. Writes that arrive while a batch runs wait for
/// it and form the next batch, up to ``maximumBatchSize`` closures. Each batch is queued
/// on the database's writer like any other write, so plain `pool.write` callers are not
/// starved.
///
/// Closures run on GRDB's writer thread, one after the other, and see the work of the
/// closures before them in the batch. They must not begin, commit or roll back
/// transactions themselves.
public final class GroupCommit: Sendable {
    /// How many batches committed and how many writes they carried.
    public struct Statistics: Sendable, Hashable {
        /// Transactions committed.
        public var batches: Int
        /// Closures whose work those transactions committed.
        public var writes: Int
    }

    /// The most closures one transaction runs.
    public let maximumBatchSize: Int
    private let writer: any DatabaseWriter
    private let state = Mutex(State())

    private struct State {
        var queue: [Job] = []
        /// Whether a batch is queued on, or running on, the writer.
        var scheduled = false
        var statistics = Statistics(batches: 0, writes: 0)
    }

    /// One caller: its closure, and how to answer it.
    private struct Job: Sendable {
        /// Runs the closure; what it returns answers the caller once the batch is durable.
        let run: @Sendable (Database) throws -> @Sendable () -> Void
        let fail: @Sendable (any Error) -> Void
    }

    /// Group commit over `writer`, at most `maximumBatchSize` (at least 1) closures per
    /// transaction.
    public init(writer: any DatabaseWriter, maximumBatchSize: Int = 128) {
        self.writer = writer
        self.maximumBatchSize = max(1, maximumBatchSize)
    }

    /// What has been committed so far.
    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// Writes waiting for a batch to take them (for tests).
    var queued: Int { state.withLock { $0.queue.count } }

    /// Runs `body` in a savepoint of the next batch's transaction and returns its result
    /// once that transaction is durable.
    ///
    /// Cancellation: a task already cancelled when it calls this throws `CancellationError`
    /// and writes nothing. Once queued, cancellation is ignored: the closure runs, and the
    /// caller waits for its batch and gets the result or the error, so a cancelled caller
    /// never returns while its write is still undecided, and its work is committed whole or
    /// not at all.
    ///
    /// - Throws: The error `body` threw (its work is rolled back, the batch's other work is
    ///   not), or the error that failed the batch's transaction (nothing of it is kept).
    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try Task.checkCancellation()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(
                run: { db in
                    let value = try body(db)
                    return { continuation.resume(returning: value) }
                },
                fail: { continuation.resume(throwing: $0) })
            let start = state.withLock { state in
                state.queue.append(job)
                defer { state.scheduled = true }
                return !state.scheduled
            }
            if start { writer.asyncWriteWithoutTransaction(runBatch) }
        }
    }

    /// On the writer: takes the waiting jobs (up to the batch size), commits them together,
    /// answers them, and queues the next batch if more arrived meanwhile.
    private func runBatch(_ db: Database) {
        let jobs = state.withLock { state in
            let jobs = Array(state.queue.prefix(maximumBatchSize))
            state.queue.removeFirst(jobs.count)
            return jobs
        }
        var answers: [@Sendable () -> Void] = []
        answers.reserveCapacity(jobs.count)
        var committed = 0
        do {
            try db.inTransaction(.immediate) {
                for job in jobs {
                    do {
                        let answer = try Self.inSavepoint(db) { try job.run(db) }
                        answers.append(answer)
                        committed += 1
                    } catch {
                        // SQLite may abort the whole transaction (disk full, I/O error):
                        // then nothing of the batch survives, and everyone hears why.
                        guard db.isInsideTransaction else { throw error }
                        answers.append { job.fail(error) }
                    }
                }
                return .commit
            }
        } catch {
            for job in jobs { job.fail(error) }
            committed = -1
        }
        let again = state.withLock { state in
            if committed >= 0 {
                state.statistics.batches += 1
                state.statistics.writes += committed
            }
            if state.queue.isEmpty { state.scheduled = false }
            return state.scheduled
        }
        if committed >= 0 {
            for answer in answers { answer() }
        }
        if again { writer.asyncWriteWithoutTransaction(runBatch) }
    }
}

extension GroupCommit {
    /// Runs `body` in a savepoint: released when it returns, rolled back (and released)
    /// when it throws. The statements are cached: `Database.inSavepoint` prepares its
    /// `SAVEPOINT` and `RELEASE` afresh for every call, which was about a third of a small
    /// write's cost on the writer thread.
    private static func inSavepoint<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        try db.cachedStatement(sql: "SAVEPOINT till_group_write").execute()
        let value: T
        do {
            value = try body()
        } catch {
            // After an abort (disk full, I/O error) SQLite has no savepoint left to roll back
            // to: the caller sees the transaction gone and fails the whole batch.
            if db.isInsideTransaction {
                try db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT till_group_write").execute()
                try db.cachedStatement(sql: "RELEASE SAVEPOINT till_group_write").execute()
            }
            throw error
        }
        try db.cachedStatement(sql: "RELEASE SAVEPOINT till_group_write").execute()
        return value
    }
}

extension StoreDatabase {
    /// Runs `body` in a write transaction shared with other concurrent callers (one
    /// `fsync` for all of them) and returns once that transaction is durable. See
    /// ``GroupCommit`` for the guarantees; use it for small, independent writes on hot
    /// paths.
    public func groupWrite<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await groupCommit.write(body)
    }
}
