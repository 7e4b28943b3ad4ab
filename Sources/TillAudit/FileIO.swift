import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin POSIX file helpers: the log needs `fsync`, `ftruncate` and exact modes, which
/// Foundation's file APIs do not promise.
enum FileIO {
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    static func mode(of path: String) throws(AuditError) -> mode_t {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .io("stat", path: path, errno: errno) }
        return info.st_mode & 0o7777
    }

    static func readAll(_ path: String) throws(AuditError) -> [UInt8] {
        let file = try File(path: path, flags: O_RDONLY)
        defer { file.close() }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = try file.read(into: &chunk)
            if count == 0 { return out }
            out += chunk[0..<count]
        }
    }

    /// Writes `bytes` to a temporary file, syncs it, renames it over `path`, syncs the
    /// directory: readers see the old file or the new one, never a mix.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws(AuditError) {
        let temporary = path + ".tmp"
        let file = try File(path: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        do throws(AuditError) {
            guard fchmod(file.descriptor, mode) == 0 else { throw .io("chmod", path: temporary, errno: errno) }
            try file.write(bytes)
            try file.sync()
            file.close()
        } catch {
            file.close()
            throw error
        }
        guard rename(temporary, path) == 0 else { throw .io("rename", path: temporary, errno: errno) }
        syncDirectory(of: path)
    }

    /// Makes a newly created or renamed file's directory entry durable. Best effort: some
    /// file systems refuse to open directories for syncing.
    static func syncDirectory(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        _ = Glibc.close(descriptor)
    }

    /// An open file descriptor. Not shared between threads.
    final class File {
        let descriptor: Int32
        let path: String

        init(path: String, flags: Int32, mode: mode_t = 0o644) throws(AuditError) {
            let descriptor = open(path, flags | O_CLOEXEC, mode)
            guard descriptor >= 0 else { throw .io("open", path: path, errno: errno) }
            self.descriptor = descriptor
            self.path = path
        }

        func read(into buffer: inout [UInt8]) throws(AuditError) -> Int {
            let result = buffer.withUnsafeMutableBytes { raw in
                Result { () throws(AuditError) -> Int in try read(into: raw) }
            }
            return try result.get()
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws(AuditError) -> Int {
            while true {
                let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
                if count >= 0 { return count }
                if errno == EINTR { continue }
                throw .io("read", path: path, errno: errno)
            }
        }

        /// Writes every byte, at most `chunk` bytes per system call when given.
        func write(_ bytes: [UInt8], chunk: Int? = nil) throws(AuditError) {
            let failure: Int32? = bytes.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return nil }
                var offset = 0
                while offset < raw.count {
                    let length = min(raw.count - offset, chunk ?? Int.max)
                    let written = Glibc.write(descriptor, base + offset, length)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return errno
                    }
                    offset += written
                }
                return nil
            }
            if let failure { throw .io("write", path: path, errno: failure) }
        }

        func sync() throws(AuditError) {
            guard fsync(descriptor) == 0 else { throw .io("fsync", path: path, errno: errno) }
        }

        func truncate(to length: Int) throws(AuditError) {
            guard ftruncate(descriptor, off_t(length)) == 0 else { throw .io("truncate", path: path, errno: errno) }
        }

        func size() throws(AuditError) -> Int {
            var info = stat()
            guard fstat(descriptor, &info) == 0 else { throw .io("stat", path: path, errno: errno) }
            return Int(info.st_size)
        }

        func close() {
            _ = Glibc.close(descriptor)
        }
    }
}
