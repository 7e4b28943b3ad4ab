import TillCore
import Foundation
import Logging
import ServiceLifecycle
import TillAudit
import TillVault

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

/// Who ran an admin command: the operating-system account (its name from the password
/// database, not from `$USER`, which the caller controls) and uid, plus the name an operator
/// gave with `--operator` when several people share one account.
public struct AdminActor: Sendable, Hashable {
    public let user: String
    public let uid: UInt32
    public let operatorName: String?

    public init(user: String, uid: UInt32, operatorName: String? = nil) {
        self.user = user
        self.uid = uid
        self.operatorName = operatorName
    }

    /// This process's account.
    public static func current(operatorName: String? = nil) -> AdminActor {
        let uid = getuid()
        var name = "uid\(uid)"
        if let entry = getpwuid(uid), let pointer = entry.pointee.pw_name { name = String(cString: pointer) }
        let trimmed = operatorName?.trimmingCharacters(in: .whitespacesAndNewlines)
        return AdminActor(user: name, uid: uid, operatorName: trimmed?.isEmpty == false ? trimmed : nil)
    }

    /// `till.admin:<user>(uid <uid>)`, with `/<operator>` when one was named.
    var auditActor: String {
        "till.admin:\(user)(uid \(uid))" + (operatorName.map { "/\($0)" } ?? "")
    }
}

/// Audit entries for admin commands run from the command line (`till api-keys …`,
/// `till merchants create`, `till keys …`).
///
/// ``perform(in:action:subject:details:actor:logger:_:)`` records the intent (result
/// `attempt`) before the act, durably, and the outcome (`success`, or `failure` with the
/// reason) after it, each with the time it happened in the `at` detail: spooled entries
/// reach the log up to a second later, so the entry's own time is when it was logged, not
/// when the act happened. If the intent cannot be recorded, the act does not happen.
///
/// A command writes to the audit log itself when no daemon holds it. While a daemon runs
/// (one writer per log), the command appends its entries to a spool file beside the log,
/// durably; the daemon moves spooled entries into the log within a second.
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

    /// Records the intent, runs `act`, and records how it ended; returns what `act` returned
    /// and rethrows what it threw.
    public static func perform<T>(
        in dataDirectory: String, action: AuditAction, subject: String, details: [String: String] = [:],
        actor: AdminActor, logger: Logger, _ act: () async throws -> T
    ) async throws -> T {
        try await record(
            in: dataDirectory, action: action, subject: subject, result: .attempt, details: details, actor: actor,
            logger: logger)
        let value: T
        do {
            value = try await act()
        } catch {
            try await record(
                in: dataDirectory, action: action, subject: subject, result: .failure,
                details: details.merging(["error": String(describing: error)]) { $1 }, actor: actor, logger: logger)
            throw error
        }
        try await record(
            in: dataDirectory, action: action, subject: subject, result: .success, details: details, actor: actor,
            logger: logger)
        return value
    }

    /// Records one admin entry, through the log if it is free, else through the spool.
    /// Text from the operator (names, error messages) is masked, not refused.
    public static func record(
        in dataDirectory: String, action: AuditAction, subject: String, result: AuditResult = .success,
        details: [String: String] = [:], actor: AdminActor, at time: Date = Date(), logger: Logger
    ) async throws {
        let directory = (dataDirectory as NSString).appendingPathComponent("audit")
        var details = details
        details["at"] = RFC3339.format(time)
        if let name = actor.operatorName { details["operator"] = name }
        let event = try AuditEvent.redacting(
            actor: actor.auditActor, action: action, subject: subject, result: result, origin: "cli", details: details)
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
    let actor: AdminActor
    let logger: Logger

    public init(dataDirectory: String, actor: AdminActor, logger: Logger) {
        self.dataDirectory = dataDirectory
        self.actor = actor
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
        // The vault reports each key operation as it completes it, at the time it happened.
        try await AdminAudit.record(
            in: dataDirectory, action: action, subject: subject, details: details, actor: actor, at: event.time,
            logger: logger)
    }
}
