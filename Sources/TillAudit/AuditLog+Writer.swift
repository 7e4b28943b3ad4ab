import Foundation
import Logging
import TillCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension AuditLog {
    /// The log's file state. Touched only by the writer thread (after `open`, which also
    /// runs there), hence the unchecked sendability.
    final class Writer: @unchecked Sendable {
        let configuration: AuditLog.Configuration
        let logger: Logger
        private var logFile: FileIO.File?
        private var checkpointsFile: FileIO.File?
        /// Held for the writer's lifetime: one writer per log, across processes.
        private var lockFile: FileIO.File?
        private var signingKey: AuditSigningKey?
        private var keyring = AuditKeyring(origin: "", keys: [])
        private var tree = CompactMerkleTree()
        private var lastHash = MerkleHash.zero
        /// Reused between batches; byte 0 is spare (leaf hashing feeds the 0x00 prefix separately).
        private var buffer: [UInt8] = []
        /// The size of the newest signed checkpoint, and when it was signed (or last tried).
        private var signedSize: UInt64 = 0
        private var signedAt = ContinuousClock.now

        init(configuration: AuditLog.Configuration, logger: Logger) {
            self.configuration = configuration
            self.logger = logger
        }

        /// Loads or creates the keys, recovers the log and checkpoints, records the start.
        func open() throws(AuditError) -> Receipt {
            // Two writers would interleave lines and fork the chain: take the log exclusively
            // before reading anything, and say who to ask when another process has it.
            let directory = (configuration.logPath as NSString).deletingLastPathComponent
            if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
                do {
                    try FileManager.default.createDirectory(
                        atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                } catch {
                    throw .io("cannot create the audit directory \(directory): \(error)")
                }
            }
            let lock = try FileIO.File(path: configuration.logPath + ".lock", flags: O_RDWR | O_CREAT, mode: 0o600)
            guard flock(lock.descriptor, LOCK_EX | LOCK_NB) == 0 else {
                lock.close()
                throw .io(
                    "the audit log \(configuration.logPath) is in use by another process (a running daemon?); "
                        + "one writer at a time")
            }
            lockFile = lock
            try loadKeys()
            var recoveredFrom: Int?
            if FileIO.exists(configuration.logPath) {
                recoveredFrom = try recover()
            }
            try recoverCheckpoints()
            logFile = try FileIO.File(path: configuration.logPath, flags: O_WRONLY | O_APPEND | O_CREAT, mode: 0o640)
            checkpointsFile = try FileIO.File(
                path: configuration.checkpointsPath, flags: O_WRONLY | O_APPEND | O_CREAT, mode: 0o644)
            FileIO.syncDirectory(of: configuration.logPath)
            var details = ["size": String(tree.size)]
            if let recoveredFrom { details["torn_tail_removed_at_byte"] = String(recoveredFrom) }
            let start = try AuditEvent(
                actor: configuration.actor, action: .logStart, subject: configuration.origin, origin: "local",
                details: details)
            let (receipts, _) = try commit([start], closing: false, sign: true)
            logger.info(
                "audit log open",
                metadata: ["path": "\(configuration.logPath)", "entries": "\(tree.size)", "key": "\(signingKey?.id ?? "")"])
            return receipts[0]
        }

        private func loadKeys() throws(AuditError) {
            let haveKey = FileIO.exists(configuration.signingKeyPath)
            let haveKeyring = FileIO.exists(configuration.keyringPath)
            switch (haveKey, haveKeyring) {
            case (false, false):
                let key = try AuditSigningKey.generate(name: configuration.origin)
                keyring = AuditKeyring(
                    origin: configuration.origin,
                    keys: [AuditKeyring.Key(name: key.name, publicKey: key.privateKey.publicKey, firstEntry: 0)])
                try key.save(to: configuration.signingKeyPath)
                try keyring.save(to: configuration.keyringPath)
                signingKey = key
            case (true, true):
                let key = try AuditSigningKey.load(from: configuration.signingKeyPath)
                keyring = try AuditKeyring.load(from: configuration.keyringPath)
                guard keyring.origin == configuration.origin else {
                    throw .keys("the keyring's origin \(keyring.origin) is not \(configuration.origin)")
                }
                guard keyring.keys.contains(where: { $0.id == key.id && $0.name == key.name && $0.lastEntry == nil }) else {
                    throw .keys("the signing key \(key.id) is not the keyring's current (open-ended) key")
                }
                signingKey = key
            case (true, false):
                throw .keys("\(configuration.signingKeyPath) exists but the keyring \(configuration.keyringPath) does not")
            case (false, true):
                throw .keys("\(configuration.keyringPath) exists but the signing key \(configuration.signingKeyPath) does not")
            }
        }

        /// Verifies the chain and cuts a torn final line. Returns where it cut, if it did.
        private func recover() throws(AuditError) -> Int? {
            var chain = ChainChecker(largestCheckpoint: 0)
            var problem: AuditProblem?
            var tornAt: Int?
            try LogScanner.scan(path: configuration.logPath) { line throws(AuditError) in
                guard problem == nil else { return }
                if case .torn = line.kind {
                    tornAt = line.byteOffset
                    problem = chain.finish { _, _ in nil }
                    return
                }
                problem = chain.feed(line) { _, _ in nil }
            }
            if problem == nil, tornAt == nil { problem = chain.finish { _, _ in nil } }
            if let problem { throw .tampered(problem) }
            tree = chain.tree
            lastHash = chain.previousHash.digest
            guard let tornAt else { return nil }
            let file = try FileIO.File(path: configuration.logPath, flags: O_WRONLY)
            defer { file.close() }
            try file.truncate(to: tornAt)
            try file.sync()
            logger.warning(
                "audit log ended in a torn line (a write interrupted by a crash, never acknowledged); removed it",
                metadata: ["path": "\(configuration.logPath)", "byte": "\(tornAt)", "entries": "\(tree.size)"])
            return tornAt
        }

        private func recoverCheckpoints() throws(AuditError) {
            guard FileIO.exists(configuration.checkpointsPath) else { return }
            let contents = CheckpointsFile.parse(try FileIO.readAll(configuration.checkpointsPath))
            guard contents.tornAt != nil else { return }
            let file = try FileIO.File(path: configuration.checkpointsPath, flags: O_WRONLY)
            defer { file.close() }
            try file.truncate(to: contents.completeLength)
            try file.sync()
            logger.warning(
                "audit checkpoints ended in a torn note; removed it",
                metadata: ["path": "\(configuration.checkpointsPath)", "byte": "\(contents.completeLength)"])
        }

        /// When the uncovered entries must be signed, if any are.
        var checkpointDue: DispatchTime? {
            guard logFile != nil, tree.size > signedSize else { return nil }
            let left = configuration.checkpointInterval - (ContinuousClock.now - signedAt)
            guard left > .zero else { return .now() }
            let nanoseconds = left.components.seconds * 1_000_000_000 + left.components.attoseconds / 1_000_000_000
            return .now() + .nanoseconds(Int(clamping: nanoseconds))
        }

        /// Signs a checkpoint over every committed entry if some are uncovered and the
        /// interval has run out (or `force`). Returns the checkpoint it signed.
        func signUncovered(force: Bool) throws(AuditError) -> Checkpoint? {
            guard logFile != nil, tree.size > signedSize else { return nil }
            guard force || ContinuousClock.now - signedAt >= configuration.checkpointInterval else { return nil }
            return try signCheckpoint()
        }

        /// Signs the checkpoint of the whole tree and appends it to the checkpoints file.
        private func signCheckpoint() throws(AuditError) -> Checkpoint {
            guard let checkpointsFile, let signingKey else { throw .closed("the audit log is not open") }
            // A failure waits out a full interval before the idle writer tries again.
            signedAt = ContinuousClock.now
            let checkpoint = Checkpoint(origin: configuration.origin, size: tree.size, root: tree.root)
            let note: SignedNote
            do {
                note = try NoteKey.sign(checkpoint.text, name: signingKey.name, key: signingKey.privateKey)
            } catch {
                throw .keys("signing the checkpoint failed: \(error)")
            }
            // Not synced here: a lost checkpoint loses nothing (the entries are durable and
            // the next checkpoint, at the latest the one `open` signs, covers them).
            try checkpointsFile.write(CheckpointsFile.serialize(note))
            signedSize = tree.size
            return checkpoint
        }

        /// Writes `events` as one batch: one write, one fsync; then a signed checkpoint if
        /// `sign` or `closing`, or the cadence (interval or uncovered entries) says so.
        func commit(_ events: [AuditEvent], closing: Bool, sign: Bool = false) throws(AuditError) -> ([Receipt], Checkpoint?) {
            guard let logFile, let checkpointsFile, signingKey != nil else {
                throw .closed("the audit log is not open")
            }
            buffer.removeAll(keepingCapacity: true)
            buffer.append(0)
            var hashes: [SHA256Digest] = []
            hashes.reserveCapacity(events.count)
            var next = tree
            var previous = lastHash
            let time = Self.timestamp()
            for event in events {
                let entry = AuditEntry(sequence: next.size, previousHash: previous, time: time, event: event)
                let start = buffer.count
                AuditLineFormat.append(entry, to: &buffer)
                let end = buffer.count
                buffer.append(0x0A)
                let hash = buffer.withUnsafeMutableBytes { MerkleHash.leaf(inPlace: $0, start: start, end: end) }
                hashes.append(hash)
                next.append(leafHash: hash)
                previous = hash
            }
            try logFile.write(Array(buffer[1...]), chunk: configuration.writeChunkSize)
            try logFile.sync()
            tree = next
            lastHash = previous
            var checkpoint: Checkpoint?
            if sign || closing || tree.size - signedSize >= configuration.checkpointEntries
                || ContinuousClock.now - signedAt >= configuration.checkpointInterval
            {
                checkpoint = try signCheckpoint()
            }
            if closing {
                try checkpointsFile.sync()
                logFile.close()
                checkpointsFile.close()
                self.logFile = nil
                self.checkpointsFile = nil
                lockFile?.close()
                lockFile = nil
            }
            let first = tree.size - UInt64(events.count)
            let receipts = hashes.enumerated().map { offset, hash in
                Receipt(sequence: first + UInt64(offset), leafHash: hash, checkpoint: checkpoint)
            }
            return (receipts, checkpoint)
        }

        /// Makes and installs a new signing key; returns the rotation entry to commit, which
        /// will be the first entry the new key's range covers.
        func rotate() throws(AuditError) -> AuditEvent {
            guard let old = signingKey else { throw .closed("the audit log is not open") }
            let key = try AuditSigningKey.generate(name: configuration.origin)
            let rotationIndex = tree.size
            let event = try AuditEvent(
                actor: configuration.actor, action: .signingKeyRotation, subject: key.id, origin: "local",
                details: [
                    "old_key_id": old.id, "new_key_id": key.id, "key_name": key.name,
                    "new_public_key": Data(key.privateKey.publicKey.rawRepresentation).base64EncodedString(),
                    "first_entry": String(rotationIndex),
                ])
            var updated = keyring
            for index in updated.keys.indices where updated.keys[index].lastEntry == nil {
                updated.keys[index].lastEntry = rotationIndex - 1
            }
            updated.keys.append(AuditKeyring.Key(name: key.name, publicKey: key.privateKey.publicKey, firstEntry: rotationIndex))
            // Keyring first, then the key: a crash in between leaves a keyring naming a key
            // that never signed, which `open` reports rather than signing with a stale key.
            try updated.save(to: configuration.keyringPath)
            try key.save(to: configuration.signingKeyPath)
            keyring = updated
            signingKey = key
            logger.notice("audit signing key rotated", metadata: ["old": "\(old.id)", "new": "\(key.id)"])
            return event
        }

        /// Now in RFC 3339, UTC, milliseconds.
        static func timestamp() -> String {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            var seconds = now.tv_sec
            var parts = tm()
            gmtime_r(&seconds, &parts)
            func pad(_ value: Int32, _ width: Int) -> String {
                let text = String(value)
                return String(repeating: "0", count: max(0, width - text.count)) + text
            }
            return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
                + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
        }
    }
}
