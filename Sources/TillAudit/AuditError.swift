/// An error from TillAudit, naming what was wrong.
///
/// A struct over a closed set of ``Code``s, so new codes do not break callers; compare
/// ``code`` against the static members.
public struct AuditError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure, without the details.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// An event field held what looks like a card number or a secret; nothing was logged.
        public static let sensitiveData = Code("sensitive_data")
        /// An event was incomplete (an empty actor, action, origin or result).
        public static let invalidEvent = Code("invalid_event")
        /// A stored line is not a well-formed audit entry.
        public static let malformedEntry = Code("malformed_entry")
        /// Reading, writing or syncing a file failed.
        public static let io = Code("io")
        /// The existing log failed verification on open; it was left untouched.
        public static let tampered = Code("tampered")
        /// The keyring or signing-key file is missing, unreadable, malformed or too open.
        public static let keys = Code("keys")
        /// A checkpoint or signed note could not be parsed.
        public static let malformedCheckpoint = Code("malformed_checkpoint")
        /// The log is closed, or stopped after a write failure (fail closed).
        public static let closed = Code("closed")

        public var description: String { name }
    }

    public let code: Code
    /// What was wrong, for people. Never contains the rejected value itself.
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    static func sensitiveData(field: String, kind: String) -> AuditError {
        AuditError(.sensitiveData, "\(field) looks like it holds \(kind); audit entries never carry card data or secrets")
    }
    static func invalidEvent(_ message: String) -> AuditError { AuditError(.invalidEvent, message) }
    static func malformedEntry(_ message: String) -> AuditError { AuditError(.malformedEntry, message) }
    static func io(_ operation: String, path: String, errno code: Int32) -> AuditError {
        AuditError(.io, "\(operation) \(path): \(String(cString: strerror(code))) (errno \(code))")
    }
    static func io(_ message: String) -> AuditError { AuditError(.io, message) }
    static func tampered(_ problem: AuditProblem) -> AuditError {
        AuditError(.tampered, "the existing log failed verification: \(problem)")
    }
    static func keys(_ message: String) -> AuditError { AuditError(.keys, message) }
    static func malformedCheckpoint(_ message: String) -> AuditError { AuditError(.malformedCheckpoint, message) }
    static func closed(_ message: String) -> AuditError { AuditError(.closed, message) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
