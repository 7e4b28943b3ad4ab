import Foundation
import Logging
import TillAudit
import TillVault

/// What the daemon writes to the tamper-evident audit log: payment transitions,
/// detokenizations, key operations, API-key creation, authentication failures and webhook
/// verification failures (the log records its own start and stop).
public struct AuditTrail: Sendable {
    let log: AuditLog?
    let logger: Logger

    /// A trail that writes to `log`, or records nothing when `log` is `nil` (tests that do
    /// not look at it).
    public init(log: AuditLog?, logger: Logger) {
        self.log = log
        self.logger = logger
    }

    /// Appends an entry and returns once it is durable. Failures are thrown: callers decide
    /// whether an unaudited act may go ahead.
    func append(
        actor: String, action: AuditAction, subject: String, result: AuditResult = .success, origin: String,
        details: [String: String] = [:]
    ) async throws {
        guard let log else { return }
        try await log.append(
            AuditEvent(actor: actor, action: action, subject: subject, result: result, origin: origin, details: details))
    }

    /// Appends an entry for an act that has already happened: a failure to record it is
    /// logged loudly, but cannot undo the act.
    func record(
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

/// The vault's audit hook, writing to the audit log. A detokenization that cannot be
/// recorded is refused by the vault.
struct AuditVaultSink: VaultAuditSink {
    let trail: AuditTrail

    func record(_ event: VaultAuditEvent) async throws {
        switch event.kind {
        case .detokenized(let token, let merchant, let purpose, let outcome):
            try await trail.append(
                actor: "till.vault", action: .detokenization, subject: token,
                result: outcome == .succeeded ? .success : .denied, origin: merchant,
                details: ["purpose": purpose.rawValue, "outcome": outcome.rawValue])
        case .dataKeyCreated(let keyID):
            try await trail.append(actor: "till.vault", action: .keyCreation, subject: keyID, origin: "local", details: ["purpose": "data"])
        case .fingerprintKeyCreated(let keyID):
            try await trail.append(
                actor: "till.vault", action: .keyCreation, subject: keyID, origin: "local", details: ["purpose": "fingerprint"])
        case .dataKeyRotated(let from, let to, let reason):
            try await trail.append(
                actor: "till.vault", action: .keyRotation, subject: to, origin: "local",
                details: from.map { ["from": $0, "reason": reason.rawValue] } ?? ["reason": reason.rawValue])
        case .dataKeyRetired(let keyID):
            try await trail.append(actor: "till.vault", action: .keyRetirement, subject: keyID, origin: "local")
        }
    }
}
