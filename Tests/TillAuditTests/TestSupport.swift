import Foundation
import Logging
import TillCrypto
@testable import TillAudit

/// A fresh directory under the system temporary directory, removed by `cleanup()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "till-audit-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

let quietLogger: Logger = {
    var logger = Logger(label: "till.audit.tests")
    logger.logLevel = .critical
    return logger
}()

func event(_ number: Int, actor: String = "merchant:acct_1") throws -> AuditEvent {
    try AuditEvent(
        actor: actor, action: .paymentTransition, subject: "pay_\(number)", origin: "127.0.0.1",
        details: ["from": "authorized", "to": "captured", "n": String(number)])
}

/// A log's files, read and rewritten by attack tests.
struct LogFiles {
    let configuration: AuditLog.Configuration

    var lines: [String] {
        get {
            let text = (try? String(contentsOfFile: configuration.logPath, encoding: .utf8)) ?? ""
            return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        }
        nonmutating set { write(newValue.map { $0 + "\n" }.joined()) }
    }

    func write(_ text: String) {
        _ = FileManager.default.createFile(atPath: configuration.logPath, contents: Data(text.utf8))
    }

    var checkpointNotes: [String] {
        get {
            let text = (try? String(contentsOfFile: configuration.checkpointsPath, encoding: .utf8)) ?? ""
            return text.components(separatedBy: "\n\n").chunked().map { $0[0] + "\n\n" + $0[1] }
        }
        nonmutating set {
            _ = FileManager.default.createFile(
                atPath: configuration.checkpointsPath, contents: Data(newValue.map { $0 + "\n\n" }.joined().utf8))
        }
    }

    func verify(trusted: String? = nil) throws -> AuditVerificationReport {
        try AuditVerifier.verify(
            log: configuration.logPath, checkpoints: configuration.checkpointsPath, keyring: configuration.keyringPath,
            trusted: trusted)
    }

    var signingKey: AuditSigningKey { get throws { try AuditSigningKey.load(from: configuration.signingKeyPath) } }

    /// Signs `checkpoint` as the log's current key would.
    func sign(_ checkpoint: Checkpoint, with key: AuditSigningKey? = nil) throws -> String {
        let key = try key ?? signingKey
        let note = try NoteKey.sign(checkpoint.text, name: key.name, key: key.privateKey).serialized
        return String(note.dropLast())  // the stored form without its last newline; `checkpointNotes` adds "\n\n"
    }

    /// Rewrites every line from `start` on with correct `prev` links, as an attacker who
    /// changed history and knows the format would.
    func rechain(from start: Int, editing edit: (Int, String) -> String) throws {
        var lines = self.lines
        var previous = start == 0 ? MerkleHash.zero : MerkleHash.leaf(Array(lines[start - 1].utf8))
        for index in start..<lines.count {
            let entry = try AuditEntry(line: Array(edit(index, lines[index]).utf8))
            let rebuilt = AuditEntry(sequence: entry.sequence, previousHash: previous, time: entry.time, event: entry.event)
            lines[index] = String(decoding: rebuilt.line, as: UTF8.self)
            previous = MerkleHash.leaf(rebuilt.line)
        }
        self.lines = lines
    }

    /// Re-signs every checkpoint over the current lines with the current key.
    func resignCheckpoints() throws {
        let leaves = lines.map { MerkleHash.leaf(Array($0.utf8)) }
        checkpointNotes = try checkpointNotes.map { note in
            let checkpoint = try Checkpoint(text: String(note[..<note.range(of: "\n\n")!.lowerBound]) + "\n")
            let root = MerkleProofBuilder.root(of: leaves[0..<Int(checkpoint.size)])
            return try sign(Checkpoint(origin: checkpoint.origin, size: checkpoint.size, root: root))
        }
    }
}

extension Array where Element == String {
    /// Pairs of (text, signatures) from a checkpoints file split on blank lines.
    func chunked() -> [[String]] {
        var out: [[String]] = []
        var index = 0
        while index + 1 < count {
            out.append([self[index], self[index + 1]])
            index += 2
        }
        return out
    }
}

/// A closed log of `count` appended events (plus start and stop), one commit and one
/// signed checkpoint each (the cadence set to sign after every commit).
func makeLog(in directory: TemporaryDirectory, count: Int, origin: String = "test.till.local/audit") async throws -> LogFiles {
    var configuration = AuditLog.Configuration(directory: directory.path, origin: origin)
    configuration.checkpointInterval = .zero
    let log = try await AuditLog.open(configuration, logger: quietLogger)
    for number in 0..<count { try await log.append(event(number)) }
    try await log.close()
    return LogFiles(configuration: configuration)
}

/// The built `till` executable beside this test bundle, if it was built.
let tillExecutable: String? = {
    let bundle = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? CommandLine.arguments[0])
    var directory = bundle.deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent("till").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory.deleteLastPathComponent()
    }
    return nil
}()
