import Foundation
import Synchronization

/// Remembers which gateway events were already applied, so a redelivered or replayed
/// webhook is acknowledged without being applied twice. The daemon keeps this in its
/// database; ``InMemoryProcessedEvents`` serves tests and the sandbox.
public protocol ProcessedEventLog: Sendable {
    /// Records `eventID` for `gateway`; returns `false` if it was already recorded.
    func recordFirstSight(gateway: String, eventID: String) async throws -> Bool
}

/// A bounded in-memory ``ProcessedEventLog``: it forgets the oldest ids past `capacity`.
public final class InMemoryProcessedEvents: ProcessedEventLog {
    private struct State {
        var seen: Set<String> = []
        var order: [String] = []
        var head = 0
    }

    private let state = Mutex(State())
    private let capacity: Int

    public init(capacity: Int = 100_000) {
        self.capacity = max(1, capacity)
    }

    public func recordFirstSight(gateway: String, eventID: String) -> Bool {
        let key = gateway + "\u{0}" + eventID
        return state.withLock { state in
            guard state.seen.insert(key).inserted else { return false }
            state.order.append(key)
            if state.order.count - state.head > capacity {
                state.seen.remove(state.order[state.head])
                state.head += 1
                if state.head > capacity {
                    state.order.removeFirst(state.head)
                    state.head = 0
                }
            }
            return true
        }
    }
}

/// Verifies an incoming webhook with its gateway's plugin and filters out events already
/// applied.
public struct WebhookIntake: Sendable {
    public enum Result: Sendable, Hashable {
        /// First sight of this event: apply it.
        case new(GatewayEvent)
        /// Already applied (a redelivery or a replay): acknowledge, change nothing.
        case duplicate(eventID: String)
    }

    private let log: any ProcessedEventLog

    public init(log: any ProcessedEventLog) {
        self.log = log
    }

    /// Verifies `request` with `gateway` (failing closed) and deduplicates by event id.
    public func receive(_ request: WebhookRequest, from gateway: any PaymentGateway) async throws -> Result {
        let event = try await gateway.parseWebhook(request)
        return try await log.recordFirstSight(gateway: gateway.name, eventID: event.id)
            ? .new(event) : .duplicate(eventID: event.id)
    }
}
