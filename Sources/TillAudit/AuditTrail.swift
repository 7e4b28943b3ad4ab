import Foundation
public import Logging

/// What the daemon writes to the tamper-evident audit log: payment transitions,
/// detokenizations, key operations, API-key creation, authentication failures and webhook
/// verification failures (the log records its own start and stop).
public struct AuditTrail: Sendable {
    public let log: AuditLog?
    let logger: Logger

    /// A trail that writes to `log`, or records nothing when `log` is `nil` (tests that do
    /// not look at it).
    public init(log: AuditLog?, logger: Logger) {
        self.log = log
        self.logger = logger
    }

    /// Appends an entry and returns once it is durable. Failures are thrown: callers decide
    /// whether an unaudited act may go ahead.
    ///
    /// Text that looks like a card number or a secret is masked, not refused
    /// (``AuditEvent/redacting(actor:action:subject:result:origin:details:)``): much of what
    /// is recorded (request paths, gateway names, reasons) comes from outside, and an attempt
    /// must never go unrecorded because of what the attacker typed.
    public func append(
        actor: String, action: AuditAction, subject: String, result: AuditResult = .success, origin: String,
        details: [String: String] = [:]
    ) async throws {
        guard let log else { return }
        try await log.append(
            AuditEvent.redacting(
                actor: actor, action: action, subject: subject, result: result, origin: origin, details: details))
    }

    /// Appends an entry for an act that has already happened: a failure to record it is
    /// logged loudly, but cannot undo the act.
    public func record(
        actor: String, action: AuditAction, subject: String, result: AuditResult = .success, origin: String,
        details: [String: String] = [:]
    ) async {
        do {
            try await append(actor: actor, action: action, subject: subject, result: result, origin: origin, details: details)
        } catch {
            logger.critical(
                "could not write to the audit log",
                metadata: ["action": "\(action.rawValue)", "subject": "\(subject)", "error": "\(error)"])
        }
    }
}
