import Foundation

/// A stretch of billed time, half-open `[start, end)`.
///
/// Half-open so that consecutive periods tile time exactly: the instant a period ends is
/// the instant the next begins, and belongs to the next one only, so nothing is billed
/// twice or not at all.
public struct BillingPeriod: Hashable, Sendable, Codable {
    public var start: Date
    public var end: Date

    public init(start: Date, end: Date) {
        self.start = start
        self.end = end
    }

    public func contains(_ date: Date) -> Bool {
        start <= date && date < end
    }
}
