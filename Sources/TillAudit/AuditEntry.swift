public import Foundation
public import TillCrypto
import TillCore

/// What an audit entry records, named like `area.act`. The constants cover what the
/// daemon must log (PCI DSS 10.2); other names are allowed for new acts.
public struct AuditAction: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A payment moved between states; `details` carry `from`, `to`, `operation`.
    public static let paymentTransition = AuditAction(rawValue: "payment.transition")
    /// A card was turned back into its number for a gateway call; `details` carry `purpose`.
    public static let detokenization = AuditAction(rawValue: "vault.detokenize")
    /// A vault data key or fingerprint key was created.
    public static let keyCreation = AuditAction(rawValue: "key.create")
    /// A key was rotated; `details` carry `from` and `to` key ids.
    public static let keyRotation = AuditAction(rawValue: "key.rotate")
    /// A key was retired and its material erased.
    public static let keyRetirement = AuditAction(rawValue: "key.retire")
    /// The audit log's own checkpoint-signing key was rotated; `details` carry the new key.
    public static let signingKeyRotation = AuditAction(rawValue: "audit.signing_key.rotate")
    /// A merchant API key was created.
    public static let apiKeyCreation = AuditAction(rawValue: "api_key.create")
    /// A merchant API key was revoked.
    public static let apiKeyRevocation = AuditAction(rawValue: "api_key.revoke")
    /// A request failed authentication.
    public static let authenticationFailure = AuditAction(rawValue: "auth.failure")
    /// An operator ran an administrative command.
    public static let adminCommand = AuditAction(rawValue: "admin.command")
    /// An incoming gateway webhook failed verification.
    public static let webhookVerificationFailure = AuditAction(rawValue: "webhook.verification_failure")
    /// A verified gateway webhook that the gateway's own API contradicted (a forged body
    /// under genuine signed headers, or a leaked secret); nothing was applied.
    public static let webhookUnconfirmed = AuditAction(rawValue: "webhook.unconfirmed")
    /// The audit log was opened for writing.
    public static let logStart = AuditAction(rawValue: "audit.log.start")
    /// The audit log was closed cleanly.
    public static let logStop = AuditAction(rawValue: "audit.log.stop")

    public var description: String { rawValue }
}

/// How the recorded act ended.
public struct AuditResult: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The act was carried out.
    public static let success = AuditResult(rawValue: "success")
    /// The act was attempted and failed.
    public static let failure = AuditResult(rawValue: "failure")
    /// The act is about to be attempted; an entry with its outcome follows (or, after a
    /// crash in between, is missing, which tells a reviewer to check).
    public static let attempt = AuditResult(rawValue: "attempt")
    /// The act was refused (authentication, authorization, verification).
    public static let denied = AuditResult(rawValue: "denied")

    public var description: String { rawValue }
}

/// One act to record, as a caller describes it: who (`actor`), what (`action`) to what
/// (`subject`), with what `result`, from where (`origin`), plus optional string `details`.
/// ``AuditLog`` adds the sequence number, the time and the previous entry's hash.
///
/// Creating one screens every string: anything that looks like a card number (a run of
/// 13–19 digits, spaces or dashes allowed between them, that passes the Luhn check) or a
/// secret (API or webhook secret prefixes, bearer tokens, PEM keys, detail keys such as
/// `cvc` or `password`) is refused, so such data cannot reach the log by accident.
public struct AuditEvent: Sendable, Hashable {
    public let actor: String
    public let action: AuditAction
    public let subject: String
    public let result: AuditResult
    public let origin: String
    /// Extra facts, sorted by key when written.
    public let details: [String: String]

    /// - Throws: ``AuditError`` (`sensitiveData` or `invalidEvent`) naming the field.
    public init(
        actor: String, action: AuditAction, subject: String, result: AuditResult = .success,
        origin: String, details: [String: String] = [:]
    ) throws(AuditError) {
        try SensitiveDataScreen.check(actor, field: "actor")
        try SensitiveDataScreen.check(action.rawValue, field: "action")
        try SensitiveDataScreen.check(subject, field: "subject")
        try SensitiveDataScreen.check(result.rawValue, field: "result")
        try SensitiveDataScreen.check(origin, field: "origin")
        for (key, value) in details {
            try SensitiveDataScreen.checkDetailKey(key)
            try SensitiveDataScreen.check(value, field: "details.\(key)")
        }
        for (value, field) in [(actor, "actor"), (action.rawValue, "action"), (origin, "origin"), (result.rawValue, "result")]
        where value.isEmpty {
            throw .invalidEvent("\(field) must not be empty")
        }
        self.actor = actor
        self.action = action
        self.subject = subject
        self.result = result
        self.origin = origin
        self.details = details
    }
}

extension AuditEvent {
    /// An event for an act that must be recorded whatever text it carries: anything that
    /// looks like a card number is masked to its last four digits, a secret (or the rest of
    /// the word it starts) becomes `[redacted]`, and a details key that names card data or a
    /// secret keeps its place as `redacted_N` with the value dropped. The names of the fields
    /// that were changed are listed in the `redacted` detail, so a reviewer can tell a masked
    /// entry from a clean one.
    ///
    /// The daemon records authentication failures, refused requests and webhook failures
    /// this way: their subjects and reasons come from outside (a request path can hold a key
    /// or a card number), and refusing the entry would leave the attempt unrecorded.
    ///
    /// Each text is cut to ``maxRedactedFieldBytes`` bytes of UTF-8 (after masking, so a cut
    /// never leaves part of a card number) and at most ``maxRedactedDetails`` details are
    /// kept: a request path or header can be as long as the HTTP server allows, and the log
    /// must not grow by that much per refused request.
    ///
    /// - Throws: ``AuditError`` `invalidEvent` for an empty actor, action, origin or result.
    public static func redacting(
        actor: String, action: AuditAction, subject: String, result: AuditResult = .success, origin: String,
        details: [String: String] = [:]
    ) throws(AuditError) -> AuditEvent {
        var changed: [String] = []
        func clean(_ value: String, _ field: String) -> String {
            let cleaned = truncated(SensitiveDataScreen.redact(value))
            if cleaned != value { changed.append(field) }
            return cleaned
        }
        let actor = clean(actor, "actor")
        let subject = clean(subject, "subject")
        let origin = clean(origin, "origin")
        var cleanDetails: [String: String] = [:]
        var dropped = 0
        for (key, value) in details.sorted(by: { $0.key < $1.key }) {
            let cleanKey = SensitiveDataScreen.redact(key)
            if key.isEmpty || cleanKey != key || SensitiveDataScreen.forbiddenDetailKeys.contains(key.lowercased()) {
                dropped += 1
                cleanDetails["redacted_\(dropped)"] = "[redacted]"
                changed.append("details key")
                continue
            }
            cleanDetails[key] = clean(value, "details.\(key)")
        }
        if cleanDetails.count > Self.maxRedactedDetails {
            let kept = cleanDetails.keys.sorted().prefix(Self.maxRedactedDetails)
            cleanDetails = cleanDetails.filter { kept.contains($0.key) }
            changed.append("details (\(details.count - Self.maxRedactedDetails) dropped)")
        }
        if !changed.isEmpty { cleanDetails["redacted"] = changed.joined(separator: ",") }
        return try AuditEvent(
            actor: actor, action: AuditAction(rawValue: SensitiveDataScreen.redact(action.rawValue)), subject: subject,
            result: AuditResult(rawValue: SensitiveDataScreen.redact(result.rawValue)), origin: origin,
            details: cleanDetails)
    }
}

extension AuditEvent {
    /// The longest text ``redacting(actor:action:subject:result:origin:details:)`` keeps in
    /// one field, in UTF-8 bytes.
    public static let maxRedactedFieldBytes = 1024
    /// The most details it keeps.
    public static let maxRedactedDetails = 32
}

/// `text` cut to ``maxRedactedFieldBytes`` on a character boundary, marked with `…`.
private func truncated(_ text: String) -> String {
    let maxRedactedFieldBytes = AuditEvent.maxRedactedFieldBytes
    guard text.utf8.count > maxRedactedFieldBytes else { return text }
    var result = ""
    var bytes = 0
    for character in text {
        let size = character.utf8.count
        guard bytes + size <= maxRedactedFieldBytes - 3 else { break }
        result.append(character)
        bytes += size
    }
    return result + "…"
}

/// One line of the audit log: an ``AuditEvent`` with its place in the log.
public struct AuditEntry: Sendable, Hashable {
    /// The entry's position, from 0; also its leaf index in the Merkle tree.
    public let sequence: UInt64
    /// The leaf hash (``MerkleHash/leaf(_:)``) of the entry before, or 32 zero bytes.
    public let previousHash: SHA256Digest
    /// When it was written, RFC 3339 in UTC with milliseconds.
    public let time: String
    public let event: AuditEvent

    public init(sequence: UInt64, previousHash: SHA256Digest, time: String, event: AuditEvent) {
        self.sequence = sequence
        self.previousHash = previousHash
        self.time = time
        self.event = event
    }

    /// The entry's line without its newline, in the one canonical layout the verifier
    /// accepts: `seq`, `prev`, `time`, `actor`, `action`, `subject`, `result`, `origin`,
    /// then `details` (sorted keys) when there are any.
    public var line: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        AuditLineFormat.append(self, to: &out)
        return out
    }

    /// The entry a stored line spells, for tools and tests. The verifier never needs this:
    /// it hashes the stored bytes as they are.
    ///
    /// - Throws: ``AuditError`` (`malformedEntry`) saying what is wrong with the line.
    public init(line: some DataProtocol) throws(AuditError) {
        let bytes = Array(line)
        let parsed = bytes.withUnsafeBytes { AuditLineFormat.parse($0, decode: true) }
        switch parsed {
        case .failure(let reason): throw .malformedEntry(reason)
        case .success(let fields):
            guard let decoded = fields.decoded else { throw .malformedEntry("fields missing") }
            self.sequence = fields.sequence
            self.previousHash = fields.previous.digest
            self.time = decoded.time
            self.event = try AuditEvent(
                actor: decoded.actor, action: AuditAction(rawValue: decoded.action), subject: decoded.subject,
                result: AuditResult(rawValue: decoded.result), origin: decoded.origin, details: decoded.details)
        }
    }
}

/// Refuses strings that look like card numbers or secrets.
enum SensitiveDataScreen {
    static let secretMarkers = [
        "sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_", "bearer ", "basic ",
        "-----begin", "private key", "private+key+",
    ]
    static let forbiddenDetailKeys: Set<String> = [
        "cvc", "cvv", "cvc2", "cvv2", "cid", "pan", "card_number", "number", "password", "secret",
        "api_key", "secret_key", "private_key", "kek", "pin", "track", "track1", "track2",
    ]

    static func check(_ value: String, field: String) throws(AuditError) {
        if PANScreen.containsCardNumber(value) { throw .sensitiveData(field: field, kind: "a card number") }
        if let marker = secretMarker(in: value) {
            throw .sensitiveData(field: field, kind: "a secret (\(marker.trimmingCharacters(in: .whitespaces)))")
        }
    }

    private static let asciiMarkers = secretMarkers.map { Array($0.utf8) }

    /// The first secret marker `value` contains, ignoring case. Every entry screens several
    /// fields, so ASCII text (all of Till's own) is searched byte by byte; anything else
    /// takes Unicode lowercasing, which also folds letters such as the Kelvin sign to ASCII.
    static func secretMarker(in value: String) -> String? {
        let bytes = Array(value.utf8)
        guard bytes.allSatisfy({ $0 < 0x80 }) else {
            let lowered = value.lowercased()
            return secretMarkers.first { lowered.contains($0) }
        }
        let lowered = bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        for (index, marker) in asciiMarkers.enumerated() where lowered.count >= marker.count {
            for start in 0...(lowered.count - marker.count) where lowered[start] == marker[0] {
                if lowered[start..<(start + marker.count)].elementsEqual(marker) { return secretMarkers[index] }
            }
        }
        return nil
    }

    /// `value` with card numbers masked (``PANScreen/mask(_:)``) and every secret marker,
    /// with the rest of the word it starts, replaced by `[redacted]`; the result passes
    /// ``check(_:field:)``. Text that is not ASCII and holds a marker is replaced whole:
    /// Unicode case folding can change lengths, so no byte range is trustworthy there.
    static func redact(_ value: String) -> String {
        var text = PANScreen.mask(value)
        guard secretMarker(in: text) != nil else { return text }
        guard text.utf8.allSatisfy({ $0 < 0x80 }) else { return "[redacted]" }
        var bytes = Array(text.utf8)
        let redacted = Array("[redacted]".utf8)
        // Each pass removes one marker occurrence and adds none, so this ends.
        while let marker = secretMarker(in: String(decoding: bytes, as: UTF8.self)) {
            let needle = Array(marker.utf8)
            let lowered = bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
            guard let start = (0...(lowered.count - needle.count)).first(where: {
                lowered[$0..<($0 + needle.count)].elementsEqual(needle)
            }) else { break }
            var end = start + needle.count
            while end < bytes.count, !isWordBoundary(bytes[end]) { end += 1 }
            bytes.replaceSubrange(start..<end, with: redacted)
        }
        text = String(decoding: bytes, as: UTF8.self)
        return text
    }

    /// Where a secret's word ends: whitespace, quotes and the separators of paths, queries
    /// and header lists.
    private static func isWordBoundary(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x09, 0x0A, 0x0D, 0x20, 0x22, 0x27, 0x2C, 0x2F, 0x3B, 0x26, 0x3F, 0x3D: true
        default: false
        }
    }

    static func checkDetailKey(_ key: String) throws(AuditError) {
        guard !key.isEmpty else { throw .invalidEvent("a details key is empty") }
        if forbiddenDetailKeys.contains(key.lowercased()) {
            throw .sensitiveData(field: "details.\(key)", kind: "a field that holds card data or secrets")
        }
        try check(key, field: "details key")
    }
}
