public import Foundation

/// Where the key-encryption key is looked for, and the rule that keeps it apart from what it
/// protects.
///
/// The vault's ciphertext lives in the data directory's database. A key file in the same
/// directory means any copy of that directory (a backup, a snapshot, a support tarball)
/// carries both the cards and the key that opens them. So only sandbox setups may keep
/// the key there (`<data>/vault.kek`, created on first start); anywhere else the key comes
/// from ``KeyEncryptionKey/environmentVariable`` or from a key file outside the data
/// directory, and a key file inside it is refused with a message saying how to move it.
public struct KeyEncryptionKeyLocation: Sendable, Hashable {
    /// The directory that holds the database.
    public var dataDirectory: String
    /// A key file the operator named (`--kek-file`); nil means `<data>/vault.kek`.
    public var keyFile: String?
    /// Sandbox setups only: the key file may live in the data directory.
    public var allowsKeyInDataDirectory: Bool
    /// The process environment, for ``KeyEncryptionKey/environmentVariable``.
    public var environment: [String: String]

    public init(
        dataDirectory: String, keyFile: String? = nil, allowsKeyInDataDirectory: Bool,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.dataDirectory = dataDirectory
        self.keyFile = keyFile
        self.allowsKeyInDataDirectory = allowsKeyInDataDirectory
        self.environment = environment
    }

    /// The key file this location uses when the environment variable is unset.
    public var keyFilePath: String { keyFile ?? VaultKeyAdministration.keyFilePath(in: dataDirectory) }

    /// Whether ``keyFilePath`` lies inside the data directory, symbolic links and `..`
    /// resolved (for the parts that exist), so no spelling of the path slips past.
    public var keyFileIsInDataDirectory: Bool {
        Self.isInside(keyFilePath, directory: dataDirectory)
    }

    /// What ``resolve(createIfMissing:)`` found.
    public struct Resolved: Sendable {
        public let key: KeyEncryptionKey
        /// A new key file was written.
        public let createdKeyFile: Bool
        /// The key came from a file inside the data directory (allowed in sandbox setups only).
        public let inDataDirectory: Bool
    }

    /// The key: the environment variable when set, else the key file, which is created when
    /// missing if `createIfMissing`.
    ///
    /// - Throws: ``VaultError/Code/keyFileInDataDirectory`` for a key file inside the data
    ///   directory when that is not allowed (checked before the file is read or made), and
    ///   what ``KeyEncryptionKey/load(fileAt:)`` and ``KeyEncryptionKey/create(fileAt:)`` throw.
    public func resolve(createIfMissing: Bool) throws(VaultError) -> Resolved {
        if let key = try KeyEncryptionKey.fromEnvironment(environment) {
            return Resolved(key: key, createdKeyFile: false, inDataDirectory: false)
        }
        let path = keyFilePath
        let inside = keyFileIsInDataDirectory
        if inside && !allowsKeyInDataDirectory {
            throw VaultError(
                .keyFileInDataDirectory,
                "the key-encryption key file \(path) is inside the data directory \(dataDirectory); a copy of that "
                    + "directory would carry the cards and the key that opens them. Outside sandbox mode keep the key "
                    + "elsewhere: set \(KeyEncryptionKey.environmentVariable), or move the file out of the data directory "
                    + "(mode 0600) and pass --kek-file PATH")
        }
        if createIfMissing, !FileManager.default.fileExists(atPath: path) {
            return Resolved(key: try KeyEncryptionKey.create(fileAt: path), createdKeyFile: true, inDataDirectory: inside)
        }
        return Resolved(key: try KeyEncryptionKey.load(fileAt: path), createdKeyFile: false, inDataDirectory: inside)
    }

    /// Whether `path` names something inside `directory` (or the directory itself), after
    /// making both absolute and resolving symbolic links in the parts that exist.
    static func isInside(_ path: String, directory: String) -> Bool {
        let file = canonical(path)
        let folder = canonical(directory)
        return file == folder || file.hasPrefix(folder.hasSuffix("/") ? folder : folder + "/")
    }

    /// An absolute, standardized path with symbolic links resolved as far as the path exists
    /// (a key file that is yet to be created has a parent that does).
    private static func canonical(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var existing = (absolute as NSString).standardizingPath
        var rest: [String] = []
        while !FileManager.default.fileExists(atPath: existing), existing != "/" {
            rest.insert((existing as NSString).lastPathComponent, at: 0)
            existing = (existing as NSString).deletingLastPathComponent
        }
        let resolved = (existing as NSString).resolvingSymlinksInPath
        return rest.reduce(resolved) { ($0 as NSString).appendingPathComponent($1) }
    }
}
