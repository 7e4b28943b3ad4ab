import Foundation
import TillCore

/// How a metric turns a period's events into one quantity (Lago's aggregation types).
public enum UsageAggregation: String, Hashable, Sendable, Codable, CaseIterable {
    /// How many events.
    case count
    /// The sum of a numeric property.
    case sum
    /// The largest value of a numeric property.
    case max
    /// How many distinct values a property takes (active users, say).
    case uniqueCount = "unique_count"
    /// The value of the property on the period's last event (a gauge: seats, storage).
    case latest

    /// Whether the aggregation reads a property of each event.
    public var needsProperty: Bool { self != .count }
    /// Whether that property must be a number.
    public var needsNumber: Bool { self == .sum || self == .max || self == .latest }
}

/// Counts only events whose property `key` has one of `values` (`region` in `eu`, `us`).
public struct UsageFilter: Hashable, Sendable, Codable {
    public var key: String
    public var values: [String]

    public init(key: String, values: [String]) throws(BillingError) {
        guard BillableMetric.isPropertyName(key) else {
            throw .invalid("filters", "a filter's key is 1 to 40 letters, digits, _ or - (got \"\(key.prefix(40))\")")
        }
        guard (1...20).contains(values.count), values.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 100 }) else {
            throw .invalid("filters", "a filter on \(key) needs 1 to 20 values of 1 to 100 bytes")
        }
        self.key = key
        self.values = values
    }
}

/// What a merchant measures and charges for: API calls, gigabytes stored, active seats.
/// Events name the metric by its `code`.
public struct BillableMetric: Hashable, Sendable, Codable {
    public var id: String
    /// Unique per merchant, what events carry: `api_calls`.
    public var code: String
    public var name: String
    public var aggregation: UsageAggregation
    /// The event property aggregated; `nil` for `count`.
    public var property: String?
    public var filters: [UsageFilter]
    public var createdAt: Date

    public init(
        id: String, code: String, name: String, aggregation: UsageAggregation, property: String?,
        filters: [UsageFilter] = [], createdAt: Date
    ) throws(BillingError) {
        guard Self.isCode(code) else {
            throw .invalid("code", "a metric code is 1 to 64 lowercase letters, digits or _ (got \"\(code.prefix(64))\")")
        }
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.utf8.count <= 200 else {
            throw .invalid("name", "a metric needs a name of at most 200 bytes")
        }
        if aggregation.needsProperty {
            guard let property, Self.isPropertyName(property) else {
                throw .invalid("property", "\(aggregation.rawValue) aggregates a property: name it (1 to 40 letters, digits, _ or -)")
            }
        } else if property != nil {
            throw .invalid("property", "count counts events; it takes no property")
        }
        guard filters.count <= 10, Set(filters.map(\.key)).count == filters.count else {
            throw .invalid("filters", "up to 10 filters, one per property")
        }
        self.id = id
        self.code = code
        self.name = name
        self.aggregation = aggregation
        self.property = property
        self.filters = filters
        self.createdAt = createdAt
    }

    static func isCode(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }
    }

    static func isPropertyName(_ text: String) -> Bool {
        (1...40).contains(text.utf8.count)
            && text.utf8.allSatisfy {
                (0x61...0x7A).contains($0) || (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F || $0 == 0x2D
            }
    }

    /// Whether an event with `properties` counts for this metric.
    public func matches(_ properties: [String: String]) -> Bool {
        filters.allSatisfy { filter in properties[filter.key].map(filter.values.contains) ?? false }
    }

    /// The value this metric reads off an event, checked: a number for sum, max and latest.
    /// `nil` for count.
    public func value(of properties: [String: String]) throws(BillingError) -> String? {
        guard let property else { return nil }
        guard let raw = properties[property] else {
            throw BillingError(
                .invalidInput, code: "property_missing", "metric \(code) aggregates \(property), which the event does not carry",
                param: "properties.\(property)")
        }
        if aggregation.needsNumber {
            do {
                return try UsageDecimal(parsing: raw).description
            } catch {
                throw BillingError(
                    .invalidInput, code: "property_not_numeric",
                    "metric \(code) sums or compares \(property), which must be a decimal number: \(error.message)",
                    param: "properties.\(property)")
            }
        }
        return raw
    }
}

/// One usage event as a merchant sends it, checked before it is stored.
public struct UsageEvent: Hashable, Sendable, Codable {
    /// The merchant's own id for the event: a resend with the same id (per customer) is
    /// counted once.
    public var id: String
    public var customerID: String
    public var metricCode: String
    /// When the usage happened; `nil` for now (the customer's clock's now).
    public var timestamp: Date?
    public var properties: [String: String]

    /// Events at most this far ahead of the customer's clock are taken (clock skew); later
    /// ones are refused.
    public static let maxFutureSkew: TimeInterval = 300
    public static let maxProperties = 20
    public static let maxPropertyBytes = 256

    public init(id: String, customerID: String, metricCode: String, timestamp: Date?, properties: [String: String]) throws(BillingError) {
        guard (1...128).contains(id.utf8.count), id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .invalid("id", "an event id is 1 to 128 printable ASCII bytes")
        }
        guard properties.count <= Self.maxProperties else {
            throw .invalid("properties", "an event has at most \(Self.maxProperties) properties")
        }
        for (key, value) in properties {
            guard BillableMetric.isPropertyName(key) else {
                throw .invalid("properties", "a property name is 1 to 40 letters, digits, _ or - (got \"\(key.prefix(40))\")")
            }
            guard value.utf8.count <= Self.maxPropertyBytes else {
                throw .invalid("properties.\(key)", "a property value is at most \(Self.maxPropertyBytes) bytes")
            }
        }
        self.id = id
        self.customerID = customerID
        self.metricCode = metricCode
        self.timestamp = timestamp
        self.properties = properties
    }

    /// Whether the event's time can be taken at `now`, given the merchant's grace window
    /// for late events.
    public func checkTime(now: Date, graceDays: Int) throws(BillingError) {
        guard let timestamp else { return }
        if timestamp.timeIntervalSince(now) > Self.maxFutureSkew {
            throw BillingError(
                .invalidInput, code: "timestamp_in_future",
                "the event's timestamp \(RFC3339.format(timestamp)) is after now (\(RFC3339.format(now))) by more than five minutes",
                param: "timestamp")
        }
        if now.timeIntervalSince(timestamp) > Double(graceDays) * 86_400 {
            throw BillingError(
                .invalidInput, code: "timestamp_too_old",
                "the event's timestamp \(RFC3339.format(timestamp)) is older than the \(graceDays)-day grace window for late events",
                param: "timestamp")
        }
    }
}
