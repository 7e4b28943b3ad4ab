public import Foundation
import Synchronization

/// Where the vault reports what the audit log must record: every detokenization and every
/// key operation. The audit log module implements it; ``DiscardingVaultAuditSink`` and
/// ``RecordingVaultAuditSink`` serve until then and in tests.
///
/// Events carry tokens, merchant ids and key ids, never card data.
public protocol VaultAuditSink: Sendable {
    /// Records `event` durably. Throwing refuses a detokenization (fail closed).
    func record(_ event: VaultAuditEvent) async throws
}

/// One auditable act of the vault.
public struct VaultAuditEvent: Sendable, Hashable {
    /// What happened.
    public enum Kind: Sendable, Hashable {
        /// A card was (or was attempted to be) turned back into its number.
        case detokenized(
            token: String, merchant: String, purpose: DetokenizationPurpose, outcome: DetokenizationOutcome)
        /// A data key was made (the first one, or by rotation).
        case dataKeyCreated(keyID: String)
        /// `to` became the active data key; `from` (if any) now only decrypts until its rows
        /// are re-encrypted.
        case dataKeyRotated(from: String?, to: String, reason: RotationReason)
        /// No row uses the data key any more; its wrapped material was erased.
        case dataKeyRetired(keyID: String)
        /// The fingerprint key was made.
        case fingerprintKeyCreated(keyID: String)
    }

    /// What happened.
    public let kind: Kind
    /// When, by the vault's clock.
    public let time: Date

    public init(kind: Kind, time: Date) {
        self.kind = kind
        self.time = time
    }
}

/// How a detokenization ended.
public enum DetokenizationOutcome: String, Sendable, Hashable, Codable {
    case succeeded
    case tokenNotFound = "token_not_found"
    case decryptionFailed = "decryption_failed"
    case keyUnavailable = "key_unavailable"
}

/// Why the active data key changed.
public enum RotationReason: String, Sendable, Hashable, Codable {
    /// An operator asked for it (`till keys rotate`).
    case requested
    /// The active key reached its usage limit, well before GCM's random-nonce bound.
    case usageLimit = "usage_limit"
}

/// Why a card is being turned back into its number; part of the audit record.
public struct DetokenizationPurpose: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Building an authorization request: the only purpose that also takes the CVC.
    public static let authorization = DetokenizationPurpose(rawValue: "authorization")
    /// Building a refund or credit request that needs the number.
    public static let refund = DetokenizationPurpose(rawValue: "refund")
    /// Building a gateway lookup (reconciliation) that needs the number.
    public static let reconciliation = DetokenizationPurpose(rawValue: "reconciliation")

    /// Whether this purpose hands over (and so consumes) a CVC the vault still holds.
    public var takesCVC: Bool { self == .authorization }

    public var description: String { rawValue }
}

/// Drops every event: for tools and tests where nothing is audited.
public struct DiscardingVaultAuditSink: VaultAuditSink {
    public init() {}
    public func record(_ event: VaultAuditEvent) async throws {}
}

/// Keeps events in memory, for tests; can be told to fail, to check that the vault fails
/// closed.
public final class RecordingVaultAuditSink: VaultAuditSink {
    /// Thrown by ``record(_:)`` while ``failing`` is set.
    public struct Unavailable: Error, Sendable {}

    private let state = Mutex<(events: [VaultAuditEvent], failing: Bool)>(([], false))

    public init() {}

    /// Every event recorded so far, oldest first.
    public var events: [VaultAuditEvent] { state.withLock { $0.events } }

    /// While true, ``record(_:)`` throws ``Unavailable`` and keeps nothing.
    public var failing: Bool {
        get { state.withLock { $0.failing } }
        set { state.withLock { $0.failing = newValue } }
    }

    public func record(_ event: VaultAuditEvent) async throws {
        try state.withLock { state in
            if state.failing { throw Unavailable() }
            state.events.append(event)
        }
    }
}
