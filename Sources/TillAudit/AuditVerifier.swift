import Foundation
import Synchronization
import TillCrypto

/// The first thing wrong with an audit log, its checkpoints or a trusted checkpoint.
public struct AuditProblem: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    /// What kind of tampering (or damage) was found. The raw values are stable: scripts
    /// and the `--json` output use them.
    public enum Reason: String, Sendable, Hashable, Codable, CaseIterable {
        /// An entry's bytes changed: the next entry's `prev` no longer matches its hash.
        case modifiedEntry = "modified_entry"
        /// An entry's `prev` does not match the previous entry's hash.
        case prevHashMismatch = "prev_hash_mismatch"
        /// Sequence numbers skip: entries were deleted.
        case gap
        /// An entry appears out of order or twice.
        case reorderOrDuplicate = "reorder_or_duplicate"
        /// An entry that the chain skips over was added.
        case insertedEntry = "inserted_entry"
        /// The log ends before the size a signed checkpoint covers.
        case truncatedLog = "truncated_log"
        /// The last line has no newline: a write cut short (a crash, or a cut copy).
        case tornTail = "torn_tail"
        /// A line (or checkpoint note) is not well formed.
        case malformedEntry = "malformed_entry"
        /// The Merkle root of the log at a checkpoint's size is not the checkpoint's root.
        case rootMismatch = "root_mismatch"
        /// A checkpoint signature from a keyring key does not verify.
        case badSignature = "bad_signature"
        /// No signature on a checkpoint is from a key in the keyring.
        case unknownKey = "unknown_key"
        /// A checkpoint is signed by a keyring key outside the entries it may cover.
        case keyOutOfRange = "key_out_of_range"
        /// A checkpoint names another log.
        case wrongOrigin = "wrong_origin"
        /// The log (or its checkpoints) is smaller than a checkpoint seen before.
        case rollback
        /// The log's history differs from a trusted checkpoint of the same size.
        case fork
    }

    /// Which input holds the problem.
    public enum Source: String, Sendable, Hashable, Codable {
        case log, checkpoints, trusted
    }

    public let reason: Reason
    public let source: Source
    /// The entry index (the log's leaf index, from 0) the problem is at, or for checkpoint
    /// problems the checkpoint's size.
    public let entry: UInt64?
    /// The checkpoint's position in the checkpoints file, from 0.
    public let checkpoint: Int?
    /// The line in `source`, from 1.
    public let line: Int?
    /// The byte offset in `source`.
    public let byteOffset: Int?
    /// What was found, for people.
    public let message: String

    public init(
        reason: Reason, source: Source, entry: UInt64? = nil, checkpoint: Int? = nil, line: Int? = nil,
        byteOffset: Int? = nil, message: String
    ) {
        self.reason = reason
        self.source = source
        self.entry = entry
        self.checkpoint = checkpoint
        self.line = line
        self.byteOffset = byteOffset
        self.message = message
    }

    public var description: String {
        var place = source.rawValue
        if let checkpoint { place += " checkpoint \(checkpoint)" }
        if let entry { place += source == .log ? " entry \(entry)" : " size \(entry)" }
        if let line { place += " line \(line)" }
        if let byteOffset { place += " byte \(byteOffset)" }
        return "\(reason.rawValue) at \(place): \(message)"
    }
}

/// What ``AuditVerifier`` found.
public struct AuditVerificationReport: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        /// Every entry verifies and the newest checkpoint covers them all.
        case intact
        /// Everything verifies, but the newest entries are not yet covered by a checkpoint.
        case uncovered
        /// Something was wrong; see ``problem``.
        case tampered
    }

    public var status: Status
    /// Entries read before stopping (all of them unless tampered).
    public var entries: UInt64
    /// Bytes of log read.
    public var bytes: Int
    /// Checkpoints whose signatures verified.
    public var checkpoints: Int
    /// The largest checkpoint size whose root matched.
    public var coveredSize: UInt64
    /// The root of all entries read, base64.
    public var root: String
    public var problem: AuditProblem?

    /// The `till audit verify` exit status: 0 intact, 1 tampered, 3 uncovered.
    public var exitCode: Int32 {
        switch status {
        case .intact: 0
        case .tampered: 1
        case .uncovered: 3
        }
    }
}

/// Verifies an audit log offline from its stored bytes, its checkpoints and the public
/// keyring, and names the first problem.
///
/// Order of checks: every checkpoint note (syntax, origin, signature, key range, sizes
/// never shrinking), then the trusted checkpoint, then the log streamed once — each
/// line's hash computed from its stored bytes, its sequence number and `prev` link, and
/// the Merkle root at every checkpoint size — and finally whether the log is as long as
/// every checkpoint says.
public enum AuditVerifier {
    /// Verifies files on disk. `trusted` is a checkpoint note the reviewer kept earlier.
    ///
    /// - Throws: ``AuditError`` only for unreadable inputs or a malformed keyring (exit 2);
    ///   tampering is reported in the result.
    public static func verify(
        log: String, checkpoints: String, keyring keyringPath: String, trusted: String? = nil
    ) throws(AuditError) -> AuditVerificationReport {
        let keyring = try AuditKeyring.load(from: keyringPath)
        let checkpointBytes = FileIO.exists(checkpoints) ? try FileIO.readAll(checkpoints) : []
        let trustedBytes = try trusted.map { path throws(AuditError) in try FileIO.readAll(path) }
        return try verify(log: log, checkpointsFile: checkpointBytes, keyring: keyring, trustedNote: trustedBytes)
    }

    struct VerifiedCheckpoint {
        var index: Int?
        var size: UInt64
        var root: SHA256Digest
    }

    static func verify(
        log: String, checkpointsFile: [UInt8], keyring: AuditKeyring, trustedNote: [UInt8]?
    ) throws(AuditError) -> AuditVerificationReport {
        var report = AuditVerificationReport(
            status: .intact, entries: 0, bytes: 0, checkpoints: 0, coveredSize: 0, root: "", problem: nil)
        func tampered(_ problem: AuditProblem) -> AuditVerificationReport {
            report.status = .tampered
            report.problem = problem
            return report
        }
        let keys = try keyring.keys.map { key throws(AuditError) in (key, try key.ed25519Key()) }

        // 1. The checkpoints file: everything but the Ed25519 verifications, which are
        // queued and run beside the log scan (below); their outcome is read back in note order.
        let contents = CheckpointsFile.parse(checkpointsFile)
        var checkpoints: [VerifiedCheckpoint] = []
        var inspections: [Inspection] = []
        var signatureChecks: [SignatureCheck] = []
        var previousSize: UInt64?
        for (index, entry) in contents.entries.enumerated() {
            let place = (index: index, line: entry.line, offset: entry.byteOffset)
            guard let note = entry.note else {
                inspections.append(.failure(AuditProblem(
                    reason: .malformedEntry, source: .checkpoints, checkpoint: index, line: place.line,
                    byteOffset: place.offset, message: entry.error?.message ?? "not a signed note")))
                break
            }
            var inspection = inspect(note, keyring: keyring, keys: keys, source: .checkpoints, place: place, into: &signatureChecks)
            if case .pending(let checkpoint, let signatures, nil) = inspection {
                if let previousSize, checkpoint.size < previousSize {
                    inspection = .pending(checkpoint, signatures: signatures, then: AuditProblem(
                        reason: .rollback, source: .checkpoints, entry: checkpoint.size, checkpoint: index,
                        line: place.line, byteOffset: place.offset,
                        message: "checkpoint size \(checkpoint.size) is below the earlier checkpoint's \(previousSize)"))
                }
                previousSize = checkpoint.size
                checkpoints.append(VerifiedCheckpoint(index: index, size: checkpoint.size, root: checkpoint.root))
            }
            inspections.append(inspection)
            if case .failure = inspection { break }
            if case .pending(_, _, .some) = inspection { break }
        }
        let signatures = SignatureBatch(signatureChecks)
        let helper = signatures.startHelper()
        // Every way out waits for the helper: a thread still inside OpenSSL while the
        // process exits (an unreadable log ends the command at once) can crash it.
        var helperJoined = false
        func joinHelper() {
            guard !helperJoined else { return }
            helperJoined = true
            helper?.wait()
        }
        defer { joinHelper() }
        var notesOutcome: AuditProblem??
        /// The first problem among the notes, in file order, once every signature is checked.
        func checkpointsProblem() -> AuditProblem? {
            if let notesOutcome { return notesOutcome }
            signatures.work()
            joinHelper()
            var found: AuditProblem?
            for inspection in inspections {
                if case .failure(let problem) = signatures.resolve(inspection) {
                    found = problem
                    break
                }
            }
            if found == nil, let tornAt = contents.tornAt {
                found = AuditProblem(
                    reason: .tornTail, source: .checkpoints, checkpoint: contents.entries.count, byteOffset: tornAt,
                    message: "the checkpoints file ends inside a note")
            }
            notesOutcome = .some(found)
            return found
        }
        let notesFailBeforeSignatures = inspections.contains {
            switch $0 {
            case .failure, .pending(_, _, .some): true
            case .pending(_, _, nil): false
            }
        }
        if notesFailBeforeSignatures || contents.tornAt != nil, let problem = checkpointsProblem() {
            return tampered(problem)
        }

        // 2. The trusted checkpoint.
        var trusted: VerifiedCheckpoint?
        var trustedProblem: AuditProblem?
        if let trustedNote {
            let text = String(decoding: trustedNote, as: UTF8.self)
            let trimmed = text.hasSuffix("\n\n") ? String(text.dropLast()) : text
            let note: SignedNote
            do throws(AuditError) {
                note = try SignedNote(parsing: trimmed)
            } catch {
                let problem = AuditProblem(reason: .malformedEntry, source: .trusted, line: 1, message: error.message)
                trustedProblem = problem
                return tampered(earlierProblem() ?? problem)
            }
            switch check(note, keyring: keyring, keys: keys, source: .trusted, place: (index: nil, line: 1, offset: 0)) {
            case .failure(let problem): trustedProblem = problem
            case .success(let checkpoint): trusted = VerifiedCheckpoint(index: nil, size: checkpoint.size, root: checkpoint.root)
            }
        }
        // Problems with the notes come first, as if every signature had been checked before.
        func earlierProblem() -> AuditProblem? {
            if let problem = checkpointsProblem() { return problem }
            report.checkpoints = checkpoints.count
            return trustedProblem
        }
        if trustedProblem != nil, let problem = earlierProblem() { return tampered(problem) }

        // 3. The log, streamed.
        var bySize: [UInt64: [VerifiedCheckpoint]] = [:]
        for checkpoint in checkpoints { bySize[checkpoint.size, default: []].append(checkpoint) }
        let largest = checkpoints.map(\.size).max() ?? 0
        var chain = ChainChecker(largestCheckpoint: max(largest, trusted?.size ?? 0))
        var firstProblem: AuditProblem?
        // The sizes whose roots are checked, ascending; the chain asks about every size in
        // increasing order, so a cursor answers "not one of them" without a lookup.
        let sizesToCheck = Set(checkpoints.map(\.size) + (trusted.map { [$0.size] } ?? [])).sorted()
        var cursor = 0
        func rootsCheck(size: UInt64, tree: CompactMerkleTree) -> AuditProblem? {
            while cursor < sizesToCheck.count, sizesToCheck[cursor] < size { cursor += 1 }
            guard cursor < sizesToCheck.count, sizesToCheck[cursor] == size else { return nil }
            let root = tree.root
            for checkpoint in bySize[size] ?? [] where checkpoint.root != root {
                return AuditProblem(
                    reason: .rootMismatch, source: .log, entry: size, checkpoint: checkpoint.index,
                    message: "the root of the first \(size) entries is not the one checkpoint \(checkpoint.index ?? 0) signed")
            }
            if let trusted, trusted.size == size, trusted.root != root {
                return AuditProblem(
                    reason: .fork, source: .trusted, entry: size,
                    message: "the log's first \(size) entries differ from the trusted checkpoint of that size")
            }
            if bySize[size] != nil { report.coveredSize = max(report.coveredSize, size) }
            return nil
        }
        report.bytes = try LogScanner.scan(path: log) { line throws(AuditError) in
            guard firstProblem == nil else { return }
            firstProblem = chain.feed(line, roots: rootsCheck)
        }
        if firstProblem == nil { firstProblem = chain.finish(roots: rootsCheck) }
        if let problem = earlierProblem() {
            report.coveredSize = 0
            report.bytes = 0
            return tampered(problem)
        }
        report.entries = chain.tree.size
        report.root = Data(chain.tree.root.bytes).base64EncodedString()
        if let firstProblem { return tampered(firstProblem) }

        // 4. Is the log as long as every checkpoint says?
        let count = chain.tree.size
        if let short = checkpoints.first(where: { $0.size > count }) {
            return tampered(AuditProblem(
                reason: .truncatedLog, source: .log, entry: count, checkpoint: short.index, line: Int(count) + 1,
                byteOffset: report.bytes,
                message: "the log has \(count) entries but checkpoint \(short.index ?? 0) covers \(short.size)"))
        }
        if let trusted, trusted.size > count {
            return tampered(AuditProblem(
                reason: .rollback, source: .trusted, entry: count,
                message: "the log has \(count) entries but the trusted checkpoint covers \(trusted.size)"))
        }
        report.status = count > largest ? .uncovered : .intact
        return report
    }

    /// What a note's checks found before its signatures are verified.
    enum Inspection {
        /// Malformed or from another log: reported before any signature is looked at.
        case failure(AuditProblem)
        /// Well formed; `signatures` index the queued Ed25519 checks, and `then` is the
        /// problem to report (unknown key, key out of range, rollback) if they all verify.
        case pending(Checkpoint, signatures: Range<Int>, then: AuditProblem?)
    }

    /// Checks one note: syntax, origin, then its signatures against the keyring.
    static func check(
        _ note: SignedNote, keyring: AuditKeyring, keys: [(AuditKeyring.Key, Ed25519.PublicKey)],
        source: AuditProblem.Source, place: (index: Int?, line: Int, offset: Int)
    ) -> Result<Checkpoint, AuditProblem> {
        var checks: [SignatureCheck] = []
        let inspection = inspect(note, keyring: keyring, keys: keys, source: source, place: place, into: &checks)
        let batch = SignatureBatch(checks)
        batch.work()
        return batch.resolve(inspection)
    }

    /// Checks one note's syntax, origin, keys and key ranges, and appends the Ed25519
    /// verifications it needs to `checks`, in signature order.
    static func inspect(
        _ note: SignedNote, keyring: AuditKeyring, keys: [(AuditKeyring.Key, Ed25519.PublicKey)],
        source: AuditProblem.Source, place: (index: Int?, line: Int, offset: Int), into checks: inout [SignatureCheck]
    ) -> Inspection {
        func problem(_ reason: AuditProblem.Reason, size: UInt64? = nil, _ message: String) -> AuditProblem {
            AuditProblem(
                reason: reason, source: source, entry: size, checkpoint: place.index, line: place.line,
                byteOffset: place.offset, message: message)
        }
        let checkpoint: Checkpoint
        do throws(AuditError) {
            checkpoint = try Checkpoint(text: note.text)
        } catch {
            return .failure(problem(.malformedEntry, error.message))
        }
        guard checkpoint.origin == keyring.origin else {
            return .failure(problem(
                .wrongOrigin, size: checkpoint.size, "origin \(checkpoint.origin) is not the keyring's \(keyring.origin)"))
        }
        let message = Array(note.text.utf8)
        let first = checks.count
        var inRange = false
        for signature in note.signatures {
            guard let (key, publicKey) = keys.first(where: {
                $0.0.name == signature.keyName && $0.0.id == Hex.encode(signature.keyHash)
            }) else { continue }
            checks.append(SignatureCheck(
                publicKey: publicKey, signature: signature.signature, message: message,
                failure: problem(.badSignature, size: checkpoint.size, "the signature by \(key.name) (\(key.id)) does not verify")))
            if key.covers(size: checkpoint.size) { inRange = true }
        }
        let signatures = first..<checks.count
        guard !signatures.isEmpty else {
            let names = note.signatures.map { "\($0.keyName) (\(Hex.encode($0.keyHash)))" }.joined(separator: ", ")
            return .pending(checkpoint, signatures: signatures, then: problem(
                .unknownKey, size: checkpoint.size, "no signature is from a keyring key; signed by \(names)"))
        }
        guard inRange else {
            return .pending(checkpoint, signatures: signatures, then: problem(
                .keyOutOfRange, size: checkpoint.size, "signed by a key that may not sign a checkpoint of size \(checkpoint.size)"))
        }
        return .pending(checkpoint, signatures: signatures, then: nil)
    }
}

/// One Ed25519 verification a checkpoint note asks for.
struct SignatureCheck: Sendable {
    let publicKey: Ed25519.PublicKey
    let signature: [UInt8]
    let message: [UInt8]
    /// What to report if the signature does not verify.
    let failure: AuditProblem
}

/// The checkpoints' Ed25519 verifications (one per commit: the verifier's largest cost),
/// shared out in chunks between the verifying thread, once it has streamed the log, and a
/// helper thread that starts at once, so signatures are checked while the log is hashed.
final class SignatureBatch: Sendable {
    let checks: [SignatureCheck]
    private let next = Atomic<Int>(0)
    private let valid: Mutex<[Bool]>
    /// Verifications taken at a time: few enough to share the tail, many enough that the
    /// counter and the lock cost nothing beside Ed25519.
    private static let chunk = 8

    init(_ checks: [SignatureCheck]) {
        self.checks = checks
        valid = Mutex([Bool](repeating: false, count: checks.count))
    }

    /// Starts a helper thread when there is enough to share; wait on the result before
    /// reading any outcome.
    func startHelper() -> DispatchSemaphore? {
        guard checks.count > Self.chunk else { return nil }
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            work()
            done.signal()
        }
        thread.name = "till.audit.verify.signatures"
        thread.start()
        return done
    }

    /// Verifies chunks until none are left. Any number of threads may call this at once.
    func work() {
        while true {
            let start = next.add(Self.chunk, ordering: .relaxed).oldValue
            guard start < checks.count else { return }
            let end = min(start + Self.chunk, checks.count)
            var results: [Bool] = []
            results.reserveCapacity(end - start)
            for check in checks[start..<end] {
                results.append(check.publicKey.isValidSignature(check.signature, for: check.message))
            }
            valid.withLock { valid in
                for (offset, result) in results.enumerated() { valid[start + offset] = result }
            }
        }
    }

    /// The note's outcome in the original order: its first failing signature, else the
    /// problem found without signatures, else its checkpoint. Call after ``work()`` has
    /// returned on this thread and every helper has finished.
    func resolve(_ inspection: AuditVerifier.Inspection) -> Result<Checkpoint, AuditProblem> {
        switch inspection {
        case .failure(let problem): return .failure(problem)
        case .pending(let checkpoint, let signatures, let then):
            let failed = valid.withLock { valid in signatures.first { !valid[$0] } }
            if let failed { return .failure(checks[failed].failure) }
            if let then { return .failure(then) }
            return .success(checkpoint)
        }
    }
}

/// Follows the hash chain one line behind the reader, so that when a link breaks the
/// line after it can tell which entry was altered, dropped, added or moved.
struct ChainChecker {
    /// The largest size any checkpoint claims: a torn line below it is a truncation.
    let largestCheckpoint: UInt64
    var tree = CompactMerkleTree()
    /// Hashes of the two entries before the pending one (zero before the first).
    var previousHash = HashWords.zero
    var previousPreviousHash = HashWords.zero
    var pending: ScannedLine?

    init(largestCheckpoint: UInt64) {
        self.largestCheckpoint = largestCheckpoint
    }

    mutating func feed(_ line: ScannedLine, roots: (UInt64, CompactMerkleTree) -> AuditProblem?) -> AuditProblem? {
        defer { pending = line }
        guard let current = pending else { return nil }
        return evaluate(current, next: line, roots: roots)
    }

    mutating func finish(roots: (UInt64, CompactMerkleTree) -> AuditProblem?) -> AuditProblem? {
        if let current = pending {
            pending = nil
            if let problem = evaluate(current, next: nil, roots: roots) { return problem }
        }
        return roots(tree.size, tree)
    }

    private mutating func evaluate(
        _ line: ScannedLine, next: ScannedLine?, roots: (UInt64, CompactMerkleTree) -> AuditProblem?
    ) -> AuditProblem? {
        let j = line.index
        func problem(_ reason: AuditProblem.Reason, at index: UInt64, _ message: String) -> AuditProblem {
            let offset = index == j ? line.byteOffset : nil
            return AuditProblem(
                reason: reason, source: .log, entry: index, line: Int(index) + 1, byteOffset: offset, message: message)
        }
        switch line.kind {
        case .torn:
            if largestCheckpoint > j {
                return problem(.truncatedLog, at: j, "the log is cut inside entry \(j), below a checkpoint of size \(largestCheckpoint)")
            }
            return problem(.tornTail, at: j, "the last line (\(line.length) bytes) has no newline: a write cut short")
        case .malformed(let reason):
            return problem(.malformedEntry, at: j, reason)
        case .entry(let sequence, let previous):
            if sequence != j || previous != previousHash {
                if let diagnosis = diagnose(line, sequence: sequence, previous: previous, next: next, problem) {
                    return diagnosis
                }
            }
        }
        if let problem = roots(tree.size, tree) { return problem }
        tree.append(leafHash: line.hash)
        previousPreviousHash = previousHash
        previousHash = line.words
        return nil
    }

    /// Names what broke the chain at line `j`, using the line after it as a witness.
    private func diagnose(
        _ line: ScannedLine, sequence: UInt64, previous: HashWords, next: ScannedLine?,
        _ problem: (AuditProblem.Reason, UInt64, String) -> AuditProblem
    ) -> AuditProblem? {
        let j = line.index
        var nextSequence: UInt64?
        var nextPrevious: HashWords?
        if let next, case .entry(let s, let p) = next.kind {
            nextSequence = s
            nextPrevious = p
        }
        // This line links to the one two back and repeats its predecessor's number: either
        // it duplicates that predecessor, or the predecessor was slipped in.
        if j >= 1, sequence == j - 1, previous == previousPreviousHash {
            if line.words == previousHash {
                return problem(.reorderOrDuplicate, j, "entry \(j) repeats entry \(j - 1)")
            }
            return problem(.insertedEntry, j - 1, "entry \(j - 1) was added: entry \(j) links to the entry before it")
        }
        if sequence < j {
            return problem(.reorderOrDuplicate, j, "sequence \(sequence) appears again at position \(j)")
        }
        if sequence > j {
            if nextSequence == j, previous == next?.words {
                return problem(.reorderOrDuplicate, j, "entries \(j) and \(j + 1) are swapped")
            }
            if nextSequence == j, nextPrevious == previousHash {
                return problem(.insertedEntry, j, "entry \(j) was added: the next entry links past it")
            }
            return problem(.gap, j, "expected sequence \(j), found \(sequence): \(sequence - j) entr(ies) missing")
        }
        // The right number, a wrong link.
        if nextSequence == j, nextPrevious == previousHash {
            return problem(.insertedEntry, j, "entry \(j) was added: the next entry links past it")
        }
        if j >= 1, nextSequence == j + 1, nextPrevious == line.words {
            return problem(.modifiedEntry, j - 1, "entry \(j - 1) was changed: its hash is not the one entry \(j) recorded")
        }
        return problem(.prevHashMismatch, j, "prev does not match the hash of entry \(j == 0 ? "(none)" : String(j - 1))")
    }
}
