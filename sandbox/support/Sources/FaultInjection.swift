import Foundation
import Synchronization

/// A fault the sandbox injects into matching API calls, configured through
/// `POST /_sandbox/faults`.
///
/// The two "drop" kinds are what gateway clients must survive: a connection closed before
/// the request was processed (nothing happened), and one closed after the charge was
/// committed (it happened, but the caller never hears so).
public struct FaultRule: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        /// Wait `latency_ms`, then process normally.
        case latency
        /// Answer with `status` (default 500) in the gateway's error shape; nothing happens.
        case error
        /// Close the connection without processing the request.
        case dropBeforeProcessing = "drop_before_processing"
        /// Process the request, commit its effects, then close the connection unanswered.
        case dropAfterCommit = "drop_after_commit"
    }

    public var kind: Kind
    /// For `latency`: how long to wait, in milliseconds.
    public var latencyMilliseconds: Int?
    /// For `error`: the HTTP status, 500 to 599.
    public var status: Int?
    /// Fire on the next `count` matching calls, then retire; `nil` means until cleared.
    public var count: Int?
    /// Fire on this share of matching calls (0 < share <= 1); `nil` means every call.
    public var share: Double?
    /// Only calls whose path starts with this prefix match; `nil` matches every API call.
    public var path: String?
    /// Only calls with this method match (`POST`); `nil` matches any.
    public var method: String?

    public init(
        kind: Kind, latencyMilliseconds: Int? = nil, status: Int? = nil, count: Int? = nil,
        share: Double? = nil, path: String? = nil, method: String? = nil
    ) {
        self.kind = kind
        self.latencyMilliseconds = latencyMilliseconds
        self.status = status
        self.count = count
        self.share = share
        self.path = path
        self.method = method
    }

    enum CodingKeys: String, CodingKey {
        case kind, status, count, share, path, method
        case latencyMilliseconds = "latency_ms"
    }

    /// Why the rule cannot be used, or `nil` when it is valid.
    public var validationError: String? {
        switch kind {
        case .latency:
            guard let ms = latencyMilliseconds, (0...60_000).contains(ms) else {
                return "latency_ms must be between 0 and 60000 for a latency fault"
            }
        case .error:
            if let status, !(500...599).contains(status) { return "status must be between 500 and 599" }
        case .dropBeforeProcessing, .dropAfterCommit:
            break
        }
        if let count, count < 1 { return "count must be at least 1" }
        if let share, !(share > 0 && share <= 1) { return "share must be greater than 0 and at most 1" }
        return nil
    }

    func matches(method: String, path: String) -> Bool {
        if let wanted = self.method, wanted.uppercased() != method.uppercased() { return false }
        if let prefix = self.path, !path.hasPrefix(prefix) { return false }
        return true
    }
}

/// The active fault rules of one sandbox. Safe to use from any thread.
public final class FaultInjector: Sendable {
    private let rules = Mutex<[FaultRule]>([])

    public init() {}

    public func add(_ rule: FaultRule) { rules.withLock { $0.append(rule) } }

    public func clear() { rules.withLock { $0.removeAll() } }

    public var active: [FaultRule] { rules.withLock { $0 } }

    /// The fault to inject into this call, if any; counts it against the rule's `count`.
    public func take(method: String, path: String) -> FaultRule? {
        rules.withLock { rules in
            for index in rules.indices where rules[index].matches(method: method, path: path) {
                if let share = rules[index].share, Double.random(in: 0..<1) >= share { continue }
                let rule = rules[index]
                if let count = rule.count {
                    if count <= 1 { rules.remove(at: index) } else { rules[index].count = count - 1 }
                }
                return rule
            }
            return nil
        }
    }
}
