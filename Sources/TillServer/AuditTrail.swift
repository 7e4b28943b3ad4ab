import Foundation
import Logging
import ServiceLifecycle
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

/// Audit entries for admin commands run from the command line (`till api-keys …`,
/// `till merchants create`).
///
/// A command writes to the audit log itself when no daemon holds it. While a daemon runs
/// (one writer per log), the command appends its entry to a spool file beside the log,
/// durably, before making its change; the daemon moves spooled entries into the log within
/// a second. Either way the act is recorded before it happens.
public enum AdminAudit {
    static func spoolPath(_ auditDirectory: String) -> String {
        (auditDirectory as NSString).appendingPathComponent("admin-spool.jsonl")
    }

    private struct Spooled: Codable {
        var actor: String
        var action: String
        var subject: String
        var result: String
        var origin: String
        var details: [String: String]
    }

    /// Records an admin act, through the log if it is free, else through the spool.
    public static func record(
        in dataDirectory: String, action: AuditAction, subject: String, origin: String, details: [String: String] = [:],
        logger: Logger
    ) async throws {
        let directory = (dataDirectory as NSString).appendingPathComponent("audit")
        let actor = "till.admin:" + (ProcessInfo.processInfo.environment["USER"] ?? "cli")
        let event = try AuditEvent(actor: actor, action: action, subject: subject, origin: origin, details: details)
        if let log = try? await AuditLog.open(AuditLog.Configuration(directory: directory, origin: DaemonConfiguration.defaultAuditOrigin), logger: logger) {
            try await log.append(event)
            try await log.close()
            return
        }
        let line = try JSONEncoder().encode(
            Spooled(
                actor: event.actor, action: event.action.rawValue, subject: event.subject, result: event.result.rawValue,
                origin: event.origin, details: event.details)) + Data("\n".utf8)
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let fd = open(spoolPath(directory), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AuditSpoolError("cannot open the audit spool in \(directory)") }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw AuditSpoolError("cannot lock the audit spool") }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(fd) == 0 else { throw AuditSpoolError("cannot write the audit spool") }
    }

    /// Moves spooled entries into `log`; returns how many. Entries are appended before the
    /// spool is emptied, so a crash in between repeats them rather than losing them.
    static func ingest(spool path: String, into log: AuditLog) async throws -> Int {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { return 0 }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            bytes += buffer[0..<count]
        }
        var appended = 0
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            guard let spooled = try? JSONDecoder().decode(Spooled.self, from: Data(line)) else { continue }
            try await log.append(
                AuditEvent(
                    actor: spooled.actor, action: AuditAction(rawValue: spooled.action), subject: spooled.subject,
                    result: AuditResult(rawValue: spooled.result), origin: spooled.origin, details: spooled.details))
            appended += 1
        }
        if !bytes.isEmpty {
            guard ftruncate(fd, 0) == 0, fsync(fd) == 0 else { throw AuditSpoolError("cannot empty the audit spool") }
        }
        return appended
    }
}

struct AuditSpoolError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Moves admin commands' spooled audit entries into the log while the daemon holds it.
struct AuditSpoolIngest: Service {
    let log: AuditLog
    let spool: String
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let moved = try await AdminAudit.ingest(spool: spool, into: log)
                    if moved > 0 { logger.info("recorded admin commands in the audit log", metadata: ["entries": "\(moved)"]) }
                } catch {
                    logger.error("could not move spooled admin entries into the audit log", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        // One last pass so nothing spooled before shutdown waits for the next start.
        _ = try? await AdminAudit.ingest(spool: spool, into: log)
    }
}

/// The vault's audit hook for `till keys …`: key operations go to the audit log like any
/// admin command (directly, or through the spool while a daemon holds the log).
public struct AdminVaultSink: VaultAuditSink {
    let dataDirectory: String
    let logger: Logger

    public init(dataDirectory: String, logger: Logger) {
        self.dataDirectory = dataDirectory
        self.logger = logger
    }

    public func record(_ event: VaultAuditEvent) async throws {
        let (action, subject, details): (AuditAction, String, [String: String])
        switch event.kind {
        case .detokenized(let token, _, let purpose, let outcome):
            (action, subject, details) = (.detokenization, token, ["purpose": purpose.rawValue, "outcome": outcome.rawValue])
        case .dataKeyCreated(let keyID):
            (action, subject, details) = (.keyCreation, keyID, ["purpose": "data"])
        case .fingerprintKeyCreated(let keyID):
            (action, subject, details) = (.keyCreation, keyID, ["purpose": "fingerprint"])
        case .dataKeyRotated(let from, let to, let reason):
            (action, subject, details) = (.keyRotation, to, from.map { ["from": $0, "reason": reason.rawValue] } ?? ["reason": reason.rawValue])
        case .dataKeyRetired(let keyID):
            (action, subject, details) = (.keyRetirement, keyID, [:])
        }
        try await AdminAudit.record(
            in: dataDirectory, action: action, subject: subject, origin: "cli", details: details, logger: logger)
    }
}
