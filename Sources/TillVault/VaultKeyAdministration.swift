public import Foundation
public import Logging
import TillStore

/// `till keys` as library calls, so tests and the daemon's tooling use the same code as the
/// command line.
///
/// A data directory holds the database (`till.sqlite`) and, unless the key-encryption key
/// comes from ``KeyEncryptionKey/environmentVariable``, the key file (`vault.kek`).
public enum VaultKeyAdministration {
    /// `./till-data`.
    public static let defaultDataDirectory = "./till-data"

    /// `<dataDirectory>/till.sqlite`.
    public static func databasePath(in dataDirectory: String) -> String {
        (dataDirectory as NSString).appendingPathComponent("till.sqlite")
    }

    /// `<dataDirectory>/vault.kek`.
    public static func keyFilePath(in dataDirectory: String) -> String {
        (dataDirectory as NSString).appendingPathComponent("vault.kek")
    }

    /// What `till keys init` did.
    public struct InitializationReport: Sendable, Hashable {
        /// Where the key-encryption key came from.
        public let keyEncryptionKeyOrigin: String
        /// Whether a new key file was written.
        public let createdKeyFile: Bool
        public let keys: VaultKeyInitialization
    }

    /// What `till keys rotate` did.
    public struct RotationReport: Sendable, Hashable {
        public let newDataKeyID: String
        public let reencryption: ReencryptionReport
    }

    /// Creates the key-encryption key file (unless one exists or the environment variable
    /// is set), the first data key and the fingerprint key. Running it again changes
    /// nothing.
    public static func initialize(
        dataDirectory: String = defaultDataDirectory,
        keyFile: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        audit: any VaultAuditSink = DiscardingVaultAuditSink(),
        logger: Logger = Logger(label: "till.vault", factory: { _ in SwiftLogNoOpLogHandler() })
    ) async throws(VaultError) -> InitializationReport {
        // The command line serves sandbox data directories too, so a key file inside the data
        // directory is allowed here; the daemon refuses one outside sandbox mode, and
        // `till keys status` warns about it.
        let resolved = try KeyEncryptionKeyLocation(
            dataDirectory: dataDirectory, keyFile: keyFile, allowsKeyInDataDirectory: true, environment: environment
        ).resolve(createIfMissing: true)
        let vault = try openVault(dataDirectory: dataDirectory, kek: resolved.key, audit: audit, logger: logger)
        let keys = try await vault.initializeKeys()
        return InitializationReport(
            keyEncryptionKeyOrigin: resolved.key.origin, createdKeyFile: resolved.createdKeyFile, keys: keys)
    }

    /// Makes a new active data key, re-encrypts every card under it and retires the keys
    /// no card uses any more.
    public static func rotate(
        dataDirectory: String = defaultDataDirectory,
        keyFile: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        batchSize: Int = 500,
        audit: any VaultAuditSink = DiscardingVaultAuditSink(),
        logger: Logger = Logger(label: "till.vault", factory: { _ in SwiftLogNoOpLogHandler() })
    ) async throws(VaultError) -> RotationReport {
        let kek = try KeyEncryptionKeyLocation(
            dataDirectory: dataDirectory, keyFile: keyFile, allowsKeyInDataDirectory: true, environment: environment
        ).resolve(createIfMissing: false).key
        let vault = try openVault(dataDirectory: dataDirectory, kek: kek, audit: audit, logger: logger)
        let fresh = try await vault.rotateDataKey()
        let report = try await vault.reencryptAll(batchSize: batchSize)
        return RotationReport(newDataKeyID: fresh.id, reencryption: report)
    }

    /// Opens the data directory's database with the vault's migrations.
    public static func openVault(
        dataDirectory: String,
        kek: KeyEncryptionKey,
        audit: any VaultAuditSink = DiscardingVaultAuditSink(),
        logger: Logger = Logger(label: "till.vault", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws(VaultError) -> Vault {
        let store: StoreDatabase
        do {
            store = try StoreDatabase.open(path: databasePath(in: dataDirectory), migrations: VaultSchema.migrations)
        } catch {
            throw VaultError(.storageFailure, "\(error)")
        }
        return Vault(store: store, kek: kek, audit: audit, logger: logger)
    }
}
