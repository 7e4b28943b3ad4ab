import Foundation
import GRDB
import TillStore
import Testing

private func temporaryPath() -> String {
    FileManager.default.temporaryDirectory
        .appendingPathComponent("till-store-\(UUID().uuidString)", isDirectory: true)
        .appendingPathComponent("till.sqlite").path
}

@Suite("Store database")
struct StoreDatabaseTests {
    @Test("opens with WAL, durable commits, secure_delete, in-memory temp storage and foreign keys; the file is private")
    func pragmas() async throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let store = try StoreDatabase.open(path: path, migrations: [])
        let (journal, synchronous, secureDelete, foreignKeys, tempStore) = try await store.pool.read { db in
            (
                try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                try Int.fetchOne(db, sql: "PRAGMA synchronous"),
                try Int.fetchOne(db, sql: "PRAGMA secure_delete"),
                try Int.fetchOne(db, sql: "PRAGMA foreign_keys"),
                try Int.fetchOne(db, sql: "PRAGMA temp_store")
            )
        }
        #expect(tempStore == 2)  // MEMORY
        #expect(journal == "wal")
        #expect(synchronous == 2)  // FULL
        #expect(secureDelete == 1)
        #expect(foreignKeys == 1)
        // The writer too: GRDB turns WAL on with `synchronous = NORMAL` after our setup ran.
        let writerSynchronous = try await store.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(writerSynchronous == 2)  // FULL: every commit is fsynced
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let directory = try FileManager.default.attributesOfItem(atPath: (path as NSString).deletingLastPathComponent)
        #expect((directory[.posixPermissions] as? NSNumber)?.intValue == 0o700)
    }

    @Test("migrations run once, in order, across reopenings")
    func migrations() async throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let first = [
            Migration("a_v1") { db in try db.execute(sql: "CREATE TABLE a (id INTEGER PRIMARY KEY)") },
        ]
        _ = try StoreDatabase.open(path: path, migrations: first)
        let second = first + [
            Migration("b_v1") { db in try db.execute(sql: "CREATE TABLE b (a_id INTEGER REFERENCES a(id))") },
        ]
        let store = try StoreDatabase.open(path: path, migrations: second)
        let tables = try await store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('a', 'b') ORDER BY name")
        }
        #expect(tables == ["a", "b"])
        await #expect(throws: (any Error).self) {
            try await store.pool.write { db in try db.execute(sql: "INSERT INTO b (a_id) VALUES (42)") }
        }
    }

    @Test("a database that cannot be opened says where and why")
    func unopenable() {
        #expect(throws: StoreError.self) {
            _ = try StoreDatabase.open(path: "/proc/till-cannot-be-here/till.sqlite", migrations: [])
        }
    }
}
