import Foundation
import Synchronization

/// The sandbox's notion of now, which tests may move forward (token expiry, authorization
/// expiry) through the admin API instead of waiting.
public final class SandboxClock: Sendable {
    private let offset = Mutex<TimeInterval>(0)

    public init() {}

    public var now: Date { Date().addingTimeInterval(offset.withLock { $0 }) }

    /// Moves the clock forward by `seconds` (never backward: time in a gateway only grows).
    public func advance(by seconds: TimeInterval) {
        guard seconds > 0 else { return }
        offset.withLock { $0 += seconds }
    }

    public func reset() { offset.withLock { $0 = 0 } }
}
