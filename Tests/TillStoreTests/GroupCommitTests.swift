import Dispatch
import Foundation
import GRDB
import Synchronization
import Testing
@testable import TillStore

/// A fresh database with one table `t (id INTEGER PRIMARY KEY, value TEXT)` and a child
/// table whose foreign key is checked only at COMMIT.
private struct Fixture {
    let directory: String
    let store: StoreDatabase

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("till-group-\(UUID().uuidString)", isDirectory: true).path
        store = try StoreDatabase.open(
            path: directory + "/till.sqlite",
            migrations: [
                Migration("t_v1") { db in
                    try db.execute(
                        sql: """
                            CREATE TABLE t (id INTEGER PRIMARY KEY, value TEXT NOT NULL);
                            CREATE TABLE child (
                                id INTEGER PRIMARY KEY,
                                parent INTEGER NOT NULL REFERENCES t (id) DEFERRABLE INITIALLY DEFERRED);
                            """)
                }
            ])
    }

    func ids() async throws -> [Int] {
        try await store.pool.read { db in try Int.fetchAll(db, sql: "SELECT id FROM t ORDER BY id") }
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: directory) }
}

/// Keeps GRDB's writer busy until opened, so group writes pile up and must share a batch.
private final class WriterGate: Sendable {
    private let release = DispatchSemaphore(value: 0)
    private let started = Mutex(false)

    init(_ store: StoreDatabase) async throws {
        store.pool.asyncWriteWithoutTransaction { [self] _ in
            started.withLock { $0 = true }
            release.wait()
        }
        while !started.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(1)) }
    }

    func open() { release.signal() }
}

/// Waits until `count` writes wait in `commit`'s queue.
private func waitUntilQueued(_ count: Int, in commit: GroupCommit) async throws {
    while commit.queued < count { try await Task.sleep(for: .milliseconds(1)) }
}

private struct Refused: Error, Equatable {
    let id: Int
}

@Suite("Group commit")
struct GroupCommitTests {
    @Test("many concurrent writers: every write committed, each caller gets its own result, visible on return")
    func concurrentWriters() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanup() }
        let store = fixture.store
        let writers = 200
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in 1...writers {
                group.addTask {
                    let echoed = try await store.groupWrite { db in
                        try db.execute(sql: "INSERT INTO t (id, value) VALUES (?, ?)", arguments: [id, "v\(id)"])
                        return id * 2
                    }
                    #expect(echoed == id * 2)
                    // Another connection sees it as soon as the caller is answered.
                    let seen = try await store.pool.read { db in
                        try String.fetchOne(db, sql: "SELECT value FROM t WHERE id = ?", arguments: [id])
                    }
                    #expect(seen == "v\(id)")
                }
            }
            try await group.waitForAll()
        }
        #expect(try await fixture.ids() == Array(1...writers))
        let statistics = store.groupCommit.statistics
        #expect(statistics.writes == writers)
        #expect(statistics.batches >= 1 && statistics.batches <= writers)
    }

    @Test("writes that queue up behind a busy writer share one transaction")
    func sharedTransaction() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanup() }
        let store = fixture.store
        let gate = try await WriterGate(store)
        let writers = 50
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in 1...writers {
                group.addTask {
                    try await store.groupWrite { db in
                        try db.execute(sql: "INSERT INTO t (id, value) VALUES (?, 'x')", arguments: [id])
                    }
                }
            }
            try await waitUntilQueued(writers, in: store.groupCommit)
            gate.open()
            try await group.waitForAll()
        }
        #expect(store.groupCommit.statistics == .init(batches: 1, writes: writers))
        #expect(try await fixture.ids() == Array(1...writers))
    }

    @Test("a batch holds at most maximumBatchSize writes; the rest form the next batches")
    func boundedBatches() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanup() }
        let commit = GroupCommit(writer: fixture.store.pool, maximumBatchSize: 16)
        let gate = try await WriterGate(fixture.store)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in 1...50 {
                group.addTask {
                    try await commit.write { db in
                        try db.execute(sql: "INSERT INTO t (id, value) VALUES (?, 'x')", arguments: [id])
                    }
                }
            }
            try await waitUntilQueued(50, in: commit)
            gate.open()
            try await group.waitForAll()
        }
        #expect(commit.statistics == .init(batches: 4, writes: 50))  // 16 + 16 + 16 + 2
        #expect(try await fixture.ids() == Array(1...50))
    }

    @Test("a lone caller costs one transaction per write")
    func loneCaller() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanup() }
        for id in 1...5 {
            try await fixture.store.groupWrite { db in
                try db.execute(sql: "INSERT INTO t (id, value) VALUES (?, 'x')", arguments: [id])
            }
        }
        #expect(fixture.store.groupCommit.statistics == .init(batches: 5, writes: 5))
    }

    @Test("a closure that throws rolls back only its own work, and only its caller gets the error")
    func throwingClosure() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanup() }
        let store = fixture.store
        try await store.pool.write { db in try db.execute(sql: "INSERT INTO t (id, value) VALUES (100, 'taken')") }
        let gate = try await WriterGate(store)
        let outcomes = try await withThrowingTaskGroup(of: (Int, Result<Int, any Error>).self) { group in
            for id in 1...10 {
                group.addTask {
                    do {
                        let value = try await store.groupWrite { db -> Int in
                            try db.execute(sql: "INSERT INTO t (id, value) VALUES (?, 'x')", arguments: [id])
                            if id == 4 { throw Refused(id: id) }
                            // A constraint failure inside SQLite, after this closure's own insert.
                            if id == 7 { try db.execute(sql: "INSERT INTO t (id, value) VALUES (100, 'again')") }
                            return id
                        }
                        return (id, .success(value))
                    } catch {
                        return (id, .failure(error))
                    }
                }
            }
            try await waitUntilQueued(10, in: store.groupCommit)
            gate.open()
            var outcomes: [Int: Result<Int, any Error>] = [:]
            for try await (id, outcome) in group { outcomes[id] = outcome }
            return outcomes
        }
        for id in 1...10 {
            switch (id, outcomes[id]) {
            case (4, .failure(let error)?): #expect(error as? Refused == Refused(id: 4))
            case (7, .failure(let error)?): #expect((error as? DatabaseError)?.resultCode == .SQLITE_CONSTRAINT)
            case (_, .success(let value)?): #expect(value == id && id != 4 && id != 7)
            default: Issue.record("write \(id) ended as \(String(describing: outcomes[id]))")
            }
        }
        #expect(try await fixture.ids() == [1, 2, 3, 5, 6, 8, 9, 10, 100])
        #expect(store.groupCommit.statistics == .init(batches: 1, writes: 8))
    }

    @Test("a failed COMMIT fails every caller in the batch and keeps none of their work")
    func failedCommit() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanup() }
        let store = fixture.store
        let gate = try await WriterGate(store)
        let failures = try await withThrowingTaskGroup(of: (any Error)?.self) { group in
            for id in 1...6 {
                group.addTask {
                    do {
                        try await store.groupWrite { db in
                            try db.execute(sql: "INSERT INTO t (id, value) VALUES (?, 'x')", arguments: [id])
                            // A deferred foreign key: fine here, refused at COMMIT.
                            if id == 3 { try db.execute(sql: "INSERT INTO child (id, parent) VALUES (1, 999)") }
                        }
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            try await waitUntilQueued(6, in: store.groupCommit)
            gate.open()
            var failures: [any Error] = []
            for try await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
        #expect(failures.count == 6)
        #expect(failures.allSatisfy { ($0 as? DatabaseError)?.resultCode == .SQLITE_CONSTRAINT })
        #expect(try await fixture.ids() == [])
        #expect(store.groupCommit.statistics == .init(batches: 0, writes: 0))
        // The writer is usable again afterwards.
        try await store.groupWrite { db in try db.execute(sql: "INSERT INTO t (id, value) VALUES (1, 'x')") }
        #expect(try await fixture.ids() == [1])
    }

    @Test("cancelled before the call: nothing written; cancelled while queued: the write still completes whole")
    func cancellation() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanup() }
        let store = fixture.store
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await store.groupWrite { db in try db.execute(sql: "INSERT INTO t (id, value) VALUES (1, 'x')") }
        }
        await #expect(throws: CancellationError.self) { try await early.value }

        let gate = try await WriterGate(store)
        let queued = Task {
            try await store.groupWrite { db -> Int in
                try db.execute(sql: "INSERT INTO t (id, value) VALUES (2, 'x')")
                return 2
            }
        }
        try await waitUntilQueued(1, in: store.groupCommit)
        queued.cancel()
        gate.open()
        #expect(try await queued.value == 2)
        #expect(try await fixture.ids() == [2])
    }
}
