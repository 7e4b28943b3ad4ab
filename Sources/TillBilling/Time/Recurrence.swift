import Foundation

/// The unit a recurring price repeats in.
public enum BillingInterval: String, Sendable, Hashable, Codable, CaseIterable {
    case day, week, month, year

    /// The largest count allowed: Stripe keeps a billing period to a year (and we allow
    /// up to three for multi-year contracts), so a typo such as 120 months is refused
    /// instead of silently billing once a decade.
    var maximumCount: Int {
        switch self {
        case .day: 365
        case .week: 52
        case .month: 12
        case .year: 3
        }
    }
}

/// How often a price bills: every `count` `interval`s.
///
/// Only valid recurrences exist: the initialiser and the decoder both check the bounds, so
/// code that receives one never has to ask again.
public struct Recurrence: Hashable, Sendable, Codable {
    public let interval: BillingInterval
    public let count: Int

    /// - Throws: ``BillingError/invalid(_:_:code:)`` for `interval_count` when `count` is
    ///   below 1 or longer than the interval allows (day ≤ 365, week ≤ 52, month ≤ 12,
    ///   year ≤ 3).
    public init(_ interval: BillingInterval, count: Int = 1) throws(BillingError) {
        guard (1...interval.maximumCount).contains(count) else {
            throw .invalid(
                "interval_count",
                "interval_count must be between 1 and \(interval.maximumCount) for interval \(interval.rawValue), got \(count)")
        }
        self.interval = interval
        self.count = count
    }

    private enum CodingKeys: String, CodingKey {
        case interval, count
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let interval = try c.decode(BillingInterval.self, forKey: .interval)
        let count = try c.decode(Int.self, forKey: .count)
        do throws(BillingError) {
            try self.init(interval, count: count)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .count, in: c, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(interval, forKey: .interval)
        try c.encode(count, forKey: .count)
    }
}

/// Where a schedule's boundaries fall: on the anniversary of the start (a plan begun on the
/// 14th renews on the 14th), or on calendar boundaries (every 1st), with the first period
/// shortened and prorated to reach the first boundary.
public enum BillingAlignment: String, Sendable, Hashable, Codable, CaseIterable {
    case anniversary, calendar
}
