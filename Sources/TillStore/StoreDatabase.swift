public import GRDB
import Foundation
import Synchronization

/// Why the database could not be opened or prepared.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// One schema step a module contributes. Identifiers are unique across modules and never
/// change once released: the migrator records which steps a database has run.
public struct Migration: Sendable {
    public let identifier: String
    public let migrate: @Sendable (Database) throws -> Void

    public init(_ identifier: String, migrate: @escaping @Sendable (Database) throws -> Void) {
        self.identifier = identifier
        self.migrate = migrate
    }
}

/// Till's SQLite database: one file in WAL mode with durable commits, `secure_delete` on
/// (deleted rows are overwritten, not left in free pages), temporary storage in memory,
/// foreign keys enforced, and the file readable by its owner only.
///
/// Blocking SQLite work runs on GRDB's own serial writer and reader threads, never on the
/// Swift cooperative pool's threads: use the `async` `read`/`write` of ``pool``, or
/// ``groupWrite(_:)``. The one exception is ``quickRead(_:)``, for indexed point lookups.
public final class StoreDatabase: Sendable {
    public let pool: DatabasePool
    public let path: String
    /// Batches concurrent ``groupWrite(_:)`` calls into shared transactions.
    public let groupCommit: GroupCommit
    /// Read-only connections kept for ``quickRead(_:)``, apart from the pool's readers.
    private let quickReaders = Mutex<[DatabaseQueue]>([])
    private let readerConfiguration: Configuration
    private static let keptQuickReaders = 4

    private init(pool: DatabasePool, path: String, readerConfiguration: Configuration) {
        self.pool = pool
        self.path = path
        self.groupCommit = GroupCommit(writer: pool)
        self.readerConfiguration = readerConfiguration
    }

    /// Runs a short read on the calling thread, in its own read transaction that sees every
    /// commit made before it began.
    ///
    /// For indexed point lookups on the request path (an API key, an idempotency record, a
    /// payment by id): an asynchronous read hops to a reader's queue and back, and those two
    /// thread switches cost more than such a lookup does in the page cache. The connections
    /// used here belong to no pool and are only ever used synchronously, so a caller can
    /// wait only for SQLite itself, never for a task that is suspended (WAL readers do not
    /// wait for the writer). Anything that scans or sorts belongs in ``pool``'s async `read`.
    public func quickRead<T>(_ body: (Database) throws -> T) throws -> T {
        let reader = try quickReaders.withLock { $0.popLast() } ?? DatabaseQueue(path: path, configuration: readerConfiguration)
        defer { quickReaders.withLock { if $0.count < Self.keptQuickReaders { $0.append(reader) } } }
        return try reader.read(body)
    }

    /// Opens (creating if needed) the database at `path` and runs `migrations` in order.
    public static func open(path: String, migrations: [Migration]) throws -> StoreDatabase {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw StoreError("cannot create the database directory \(directory): \(error.localizedDescription)")
            }
        }
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // Overwrite deleted content so no removed row lingers in free pages or the WAL.
            try db.execute(sql: "PRAGMA secure_delete = ON")
            // An acknowledged commit survives power loss, not only a process crash.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Sorts and temporary tables stay in memory: no temporary file can hold a copy.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        let pool: DatabasePool
        do {
            // SQLite creates the file with the process umask; tighten it before any data lands.
            if !FileManager.default.fileExists(atPath: path),
                !FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            {
                throw StoreError("cannot create the database file \(path)")
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB turns the writer connection to `synchronous = NORMAL` when it enables WAL,
            // after `prepareDatabase` ran: a commit would then survive a crash of the process
            // but not a power loss. Writes go through this one connection, so it must be FULL.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        } catch {
            throw StoreError("cannot open the database at \(path): \(error)")
        }
        var migrator = DatabaseMigrator()
        for migration in migrations {
            migrator.registerMigration(migration.identifier) { db in try migration.migrate(db) }
        }
        do {
            try migrator.migrate(pool)
        } catch {
            throw StoreError("cannot migrate the database at \(path): \(error)")
        }
        var readerConfiguration = configuration
        readerConfiguration.readonly = true
        return StoreDatabase(pool: pool, path: path, readerConfiguration: readerConfiguration)
    }

    /// What a storage error says, without the SQL or its arguments (which could carry the
    /// values being written), for error messages above the store.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return "SQLite \(error.resultCode): \(error.message ?? "no message")"
        }
        return String(describing: error)
    }
}
