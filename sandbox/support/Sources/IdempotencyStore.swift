import Foundation
import Synchronization

/// A response kept for replay under an idempotency key.
public struct StoredResponse: Sendable, Hashable {
    public var status: Int
    /// Header fields in order, as first sent.
    public var headers: [Header]
    public var body: [UInt8]

    public struct Header: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(status: Int, headers: [Header], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Remembers the first response to each idempotency key so that a retry gets it back
/// instead of running the operation again. Safe to use from any thread.
public final class IdempotencyStore: Sendable {
    /// What to do with a request that carries an idempotency key.
    public enum Decision: Sendable, Hashable {
        /// First use of the key: run the request, then ``complete(scope:key:response:)`` or
        /// ``abandon(scope:key:)``.
        case proceed
        /// The key was used before with the same request: send this response again.
        case replay(StoredResponse)
        /// The first request with this key is still running.
        case inFlight
        /// The key was used before with a different request.
        case mismatch
    }

    private enum Slot {
        case running(fingerprint: String, since: Date)
        case done(fingerprint: String, response: StoredResponse, at: Date)
    }

    private struct ScopedKey: Hashable {
        var scope: String
        var key: String
    }

    private let slots = Mutex<[ScopedKey: Slot]>([:])
    /// How long a key is remembered (gateways keep them for at least 24 hours).
    public let retention: TimeInterval

    public init(retention: TimeInterval = 24 * 60 * 60) {
        self.retention = retention
    }

    /// Claims `key` within `scope` (an account or API key) for a request whose parameters
    /// hash to `fingerprint`.
    public func begin(scope: String, key: String, fingerprint: String, now: Date) -> Decision {
        let id = ScopedKey(scope: scope, key: key)
        return slots.withLock { slots in
            switch slots[id] {
            case .running(let first, _):
                return first == fingerprint ? .inFlight : .mismatch
            case .done(let first, let response, let at) where now.timeIntervalSince(at) < retention:
                return first == fingerprint ? .replay(response) : .mismatch
            case .done, nil:
                slots[id] = .running(fingerprint: fingerprint, since: now)
                return .proceed
            }
        }
    }

    /// Stores the response of a request that ran under `key`.
    public func complete(scope: String, key: String, response: StoredResponse, now: Date) {
        let id = ScopedKey(scope: scope, key: key)
        slots.withLock { slots in
            guard case .running(let fingerprint, _) = slots[id] else { return }
            slots[id] = .done(fingerprint: fingerprint, response: response, at: now)
        }
    }

    /// Releases `key` without storing anything, so a retry runs afresh (used when the request
    /// was refused before it did anything, as the real gateways do).
    public func abandon(scope: String, key: String) {
        let id = ScopedKey(scope: scope, key: key)
        slots.withLock { slots in
            if case .running = slots[id] { slots[id] = nil }
        }
    }

    public func reset() { slots.withLock { $0.removeAll() } }
}
