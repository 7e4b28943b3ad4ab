import Foundation

/// One usage event as stored.
public struct UsageEventRecord: Sendable, Hashable {
    public var merchantID: String
    public var customerID: String
    /// The merchant's id for the event, unique per customer.
    public var eventID: String
    /// The metric's code.
    public var metric: String
    public var occurredAt: Date
    /// The value the metric aggregates, read off the event at ingestion (exact decimal text
    /// for numbers); `nil` for a count.
    public var value: String?
    /// The event's properties as a JSON object of strings (filters read them).
    public var properties: Data
    public var receivedAt: Date

    public init(
        merchantID: String, customerID: String, eventID: String, metric: String, occurredAt: Date, value: String?,
        properties: Data, receivedAt: Date
    ) {
        self.merchantID = merchantID
        self.customerID = customerID
        self.eventID = eventID
        self.metric = metric
        self.occurredAt = occurredAt
        self.value = value
        self.properties = properties
        self.receivedAt = receivedAt
    }
}

/// Which of a customer's events an aggregation reads: one metric, `[from, to)`, and the
/// events whose properties match every filter.
public struct UsageQuery: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// How many events.
        case count
        /// How many distinct values.
        case distinctCount
        /// Every value (the caller sums or compares them exactly).
        case values
        /// The value of the last event (by time, then by arrival).
        case latest
    }

    public var merchantID: String
    public var customerID: String
    public var metric: String
    public var from: Date
    public var to: Date
    public var kind: Kind
    /// Property name → the values it may take.
    public var filters: [String: [String]]

    public init(
        merchantID: String, customerID: String, metric: String, from: Date, to: Date, kind: Kind,
        filters: [String: [String]] = [:]
    ) {
        self.merchantID = merchantID
        self.customerID = customerID
        self.metric = metric
        self.from = from
        self.to = to
        self.kind = kind
        self.filters = filters
    }
}

/// What an aggregation found.
public enum UsageAggregate: Sendable, Hashable {
    case count(Int64)
    case values([String])
    case latest(String?)
}
