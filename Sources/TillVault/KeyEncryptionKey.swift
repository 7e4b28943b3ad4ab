public import Foundation
public import TillCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The key that wraps the vault's data and fingerprint keys. It never enters the database:
/// it comes from an environment variable or from a key file readable by its owner only.
///
/// Both hold 32 bytes as 64 hex digits or as base64 (44 characters); surrounding whitespace
/// is ignored.
public struct KeyEncryptionKey: Sendable {
    /// The environment variable that, when set, supplies the key and wins over any file.
    public static let environmentVariable = "TILL_VAULT_KEK"

    let key: SymmetricKey
    /// Where the key came from, for messages: never the key itself.
    public let origin: String

    /// A key held by the caller (tests, a secrets manager integration).
    public init(key: SymmetricKey, origin: String = "a key given in code") {
        self.key = key
        self.origin = origin
    }

    /// The key's public identifier (`kek_…`), recorded beside every key it wraps.
    public var identifier: String { VaultEncoding.kekIdentifier(key) }

    /// The key from `environment[name]`, or nil when the variable is unset or empty.
    ///
    /// - Throws: ``VaultError/Code/invalidKeyEncryptionKey`` if it is set but not 32 bytes
    ///   in hex or base64.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment,
        name: String = environmentVariable
    ) throws(VaultError) -> KeyEncryptionKey? {
        guard let text = environment[name], !text.isEmpty else { return nil }
        let key = try parse(SecureBytes(Array(text.utf8)), origin: "environment variable \(name)")
        return KeyEncryptionKey(key: key, origin: "environment variable \(name)")
    }

    /// Whether the environment variable supplies the key.
    public static func isSetInEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        !(environment[environmentVariable] ?? "").isEmpty
    }

    /// Reads the key file at `path`.
    ///
    /// - Throws: ``VaultError/Code/insecureKeyFile`` if the file is not a regular file
    ///   owned by this user, or if group or others have any permission on it;
    ///   ``VaultError/Code/keyEncryptionKeyMissing`` if it does not exist;
    ///   ``VaultError/Code/invalidKeyEncryptionKey`` if it does not hold a 32-byte key.
    public static func load(fileAt path: String) throws(VaultError) -> KeyEncryptionKey {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT {
                throw VaultError(
                    .keyEncryptionKeyMissing,
                    "no key-encryption key file at \(path); run `till keys init` or set \(environmentVariable)")
            }
            if code == ELOOP {
                throw VaultError(.insecureKeyFile, "the key-encryption key file \(path) is a symbolic link; use the file itself")
            }
            throw VaultError(.keyFileFailure, "cannot open the key-encryption key file \(path): \(String(cString: strerror(code)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw VaultError(.keyFileFailure, "cannot inspect the key-encryption key file \(path): \(String(cString: strerror(errno)))")
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw VaultError(.insecureKeyFile, "the key-encryption key file \(path) is not a regular file")
        }
        guard status.st_uid == geteuid() else {
            throw VaultError(
                .insecureKeyFile,
                "the key-encryption key file \(path) belongs to user \(status.st_uid), not to this user (\(geteuid()))")
        }
        let permissions = status.st_mode & 0o777
        guard permissions & 0o077 == 0 else {
            throw VaultError(
                .insecureKeyFile,
                "the key-encryption key file \(path) has mode \(String(permissions, radix: 8)): group and others "
                    + "must have no access; run `chmod 600 \(path)`")
        }
        // Read into a wipeable buffer; a key file is never longer than a line of text.
        var buffer = SecureBytes(zeroedCount: 256)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count >= 0 else {
            throw VaultError(.keyFileFailure, "cannot read the key-encryption key file \(path): \(String(cString: strerror(errno)))")
        }
        let contents = buffer.withUnsafeBytes { SecureBytes(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        let key = try parse(contents, origin: "key file \(path)")
        return KeyEncryptionKey(key: key, origin: "key file \(path)")
    }

    /// Makes a new random key and writes it, in hex, to a new file at `path` with mode
    /// 0600 (its directory is created with mode 0700 if needed).
    ///
    /// - Throws: ``VaultError/Code/keyFileFailure`` if the file exists already or cannot
    ///   be written; an existing key is never overwritten.
    public static func create(fileAt path: String) throws(VaultError) -> KeyEncryptionKey {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw VaultError(.keyFileFailure, "cannot create the directory \(directory): \(error.localizedDescription)")
            }
        }
        let key: SymmetricKey
        do {
            key = try SymmetricKey.generate()
        } catch {
            throw .crypto("generating the key-encryption key", error)
        }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            let code = errno
            throw VaultError(
                .keyFileFailure,
                code == EEXIST
                    ? "a key-encryption key file already exists at \(path); it is never overwritten"
                    : "cannot create the key-encryption key file \(path): \(String(cString: strerror(code)))")
        }
        defer { close(descriptor) }
        // The umask can only remove permissions, but be explicit about the result.
        _ = fchmod(descriptor, 0o600)
        let text = hexLine(key)
        let written = text.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == text.count, fsync(descriptor) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw VaultError(.keyFileFailure, "cannot write the key-encryption key file \(path): \(reason)")
        }
        return KeyEncryptionKey(key: key, origin: "key file \(path)")
    }

    /// The key for a data directory: the environment variable if set, else the file.
    ///
    /// - Throws: as ``fromEnvironment(_:name:)`` and ``load(fileAt:)``.
    public static func resolve(
        keyFile path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(VaultError) -> KeyEncryptionKey {
        if let key = try fromEnvironment(environment) { return key }
        return try load(fileAt: path)
    }

    /// 64 lowercase hex digits and a newline, written straight into secure memory.
    private static func hexLine(_ key: SymmetricKey) -> SecureBytes {
        let digits = Array("0123456789abcdef".utf8)
        return key.withUnsafeBytes { bytes in
            SecureBytes(count: bytes.count * 2 + 1) { (out: UnsafeMutableRawBufferPointer) in
                for (index, byte) in bytes.enumerated() {
                    out[2 * index] = digits[Int(byte >> 4)]
                    out[2 * index + 1] = digits[Int(byte & 0x0f)]
                }
                out[bytes.count * 2] = UInt8(ascii: "\n")
            }
        }
    }

    /// 32 bytes from hex or base64 text (whitespace around it ignored), decoded without
    /// leaving copies outside secure memory.
    static func parse(_ text: SecureBytes, origin: String) throws(VaultError) -> SymmetricKey {
        let decoded: SecureBytes? = text.withUnsafeBytes { raw in
            var start = 0
            var end = raw.count
            while start < end, isSpace(raw[start]) { start += 1 }
            while end > start, isSpace(raw[end - 1]) { end -= 1 }
            let trimmed = UnsafeRawBufferPointer(rebasing: raw[start..<end])
            if trimmed.count == 64 { return decodeHex(trimmed) }
            return decodeBase64(trimmed)
        }
        guard let decoded, decoded.count == SymmetricKey.byteCount else {
            throw VaultError(
                .invalidKeyEncryptionKey,
                "the key-encryption key from \(origin) must be 32 bytes written as 64 hex digits or in base64")
        }
        do {
            return try SymmetricKey(bytes: decoded)
        } catch {
            throw .crypto("loading the key-encryption key", error)
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d
    }

    private static func decodeHex(_ text: UnsafeRawBufferPointer) -> SecureBytes? {
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var valid = true
        let out = SecureBytes(count: text.count / 2) { (out: UnsafeMutableRawBufferPointer) in
            for index in 0..<out.count {
                guard let high = nibble(text[2 * index]), let low = nibble(text[2 * index + 1]) else {
                    valid = false
                    return
                }
                out[index] = high << 4 | low
            }
        }
        return valid ? out : nil
    }

    private static func decodeBase64(_ text: UnsafeRawBufferPointer) -> SecureBytes? {
        func value(_ c: UInt8) -> UInt32? {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): UInt32(c - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(c - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"), UInt8(ascii: "-"): 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): 63
            default: nil
            }
        }
        var length = text.count
        while length > 0, text[length - 1] == UInt8(ascii: "=") { length -= 1 }
        guard length > 0, length % 4 != 1, text.count - length <= 2 else { return nil }
        let outputCount = length * 3 / 4
        var valid = true
        let out = SecureBytes(count: outputCount) { (out: UnsafeMutableRawBufferPointer) in
            var accumulator: UInt32 = 0
            var bits = 0
            var written = 0
            for index in 0..<length {
                guard let sextet = value(text[index]) else {
                    valid = false
                    return
                }
                accumulator = (accumulator << 6 | sextet) & 0xffffff
                bits += 6
                if bits >= 8 {
                    bits -= 8
                    if written < out.count { out[written] = UInt8((accumulator >> UInt32(bits)) & 0xff) }
                    written += 1
                }
            }
            accumulator = 0
        }
        return valid ? out : nil
    }
}
