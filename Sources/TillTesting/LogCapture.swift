import Foundation
import Logging
import Synchronization

/// A log handler that appends every line, with its metadata, to a file: tests scan what
/// the daemon logged exactly as an operator's log collector would store it.
public struct FileLogHandler: LogHandler {
    final class Sink: Sendable {
        let handle: Mutex<FileHandle?>

        init(path: String) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            handle = Mutex(FileHandle(forWritingAtPath: path))
        }

        func write(_ line: String) {
            handle.withLock { $0?.write(Data(line.utf8)) }
        }
    }

    let label: String
    let sink: Sink
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    /// A factory for `Logger(label:factory:)` writing to `path`.
    public static func factory(path: String) -> @Sendable (String) -> any LogHandler {
        let sink = Sink(path: path)
        return { label in FileLogHandler(label: label, sink: sink) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        sink.write("\(event.level) \(label): \(event.message) \(fields)\n")
    }
}
