import Foundation
import Synchronization

/// Takes a gateway that keeps failing out of rotation for a while, then lets single probe
/// calls through until one succeeds.
///
/// Failures are outcomes that say the gateway is unwell (``GatewayOutcome/notProcessed(_:)``
/// and ``GatewayOutcome/unknown(_:)``); a decline is a healthy answer. States per gateway:
/// closed (counting consecutive failures) → open (refusing, for `openSeconds`) → half-open
/// (one probe in flight at a time; success closes, failure opens again).
public final class CircuitBreaker: Sendable {
    public struct Settings: Sendable, Hashable, Decodable {
        /// Consecutive failures that open the circuit.
        public var failureThreshold: Int
        /// How long an open circuit refuses calls before probing.
        public var openSeconds: Double

        public init(failureThreshold: Int = 5, openSeconds: Double = 30) {
            self.failureThreshold = failureThreshold
            self.openSeconds = openSeconds
        }

        private enum CodingKeys: String, CodingKey {
            case failureThreshold = "failure_threshold"
            case openSeconds = "open_seconds"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            failureThreshold = try c.decodeIfPresent(Int.self, forKey: .failureThreshold) ?? 5
            openSeconds = try c.decodeIfPresent(Double.self, forKey: .openSeconds) ?? 30
        }

        func validate(path: String) throws(ConfigurationError) {
            guard (1...1_000).contains(failureThreshold) else {
                throw ConfigurationError(field: "\(path).failure_threshold", "must be between 1 and 1000")
            }
            guard openSeconds > 0, openSeconds <= 3_600 else {
                throw ConfigurationError(field: "\(path).open_seconds", "must be greater than 0 and at most 3600")
            }
        }
    }

    public enum State: Sendable, Hashable {
        case closed(consecutiveFailures: Int)
        case open(until: Date)
        case halfOpen(probeInFlight: Bool)
    }

    /// Whether a call may go ahead, and if so whether it is a probe.
    public enum Admission: Sendable, Hashable {
        case allowed
        case probe
        case refused(until: Date)
    }

    private let settings: Settings
    private let states = Mutex<[String: State]>([:])

    public init(settings: Settings = .init()) {
        self.settings = settings
    }

    public func state(of gateway: String) -> State {
        states.withLock { $0[gateway] ?? .closed(consecutiveFailures: 0) }
    }

    /// Asks to call `gateway` now. A `.probe` admission must be followed by ``record(_:healthy:now:)``.
    public func admit(_ gateway: String, now: Date) -> Admission {
        states.withLock { states in
            switch states[gateway] ?? .closed(consecutiveFailures: 0) {
            case .closed:
                return .allowed
            case .open(let until) where now < until:
                return .refused(until: until)
            case .open, .halfOpen(probeInFlight: false):
                states[gateway] = .halfOpen(probeInFlight: true)
                return .probe
            case .halfOpen(probeInFlight: true):
                // One probe at a time; others wait their turn as if still open.
                return .refused(until: now.addingTimeInterval(1))
            }
        }
    }

    /// Records how a call to `gateway` went.
    public func record(_ gateway: String, healthy: Bool, now: Date) {
        states.withLock { states in
            let current = states[gateway] ?? .closed(consecutiveFailures: 0)
            if healthy {
                states[gateway] = .closed(consecutiveFailures: 0)
                return
            }
            switch current {
            case .closed(let failures) where failures + 1 < settings.failureThreshold:
                states[gateway] = .closed(consecutiveFailures: failures + 1)
            case .closed, .halfOpen:
                states[gateway] = .open(until: now.addingTimeInterval(settings.openSeconds))
            case .open:
                break
            }
        }
    }
}

extension GatewayOutcome {
    /// Whether this outcome says the gateway is working (a decline is a working gateway).
    public var isHealthy: Bool {
        switch self {
        case .succeeded, .declined: true
        case .notProcessed, .unknown: false
        }
    }
}
