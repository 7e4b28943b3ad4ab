import Foundation
import Metrics
import Prometheus
import TillStore

/// The daemon's metrics, served in Prometheus text at `/metrics`.
///
/// Each server owns its registry and feeds it through swift-metrics with its own factory
/// rather than the process-wide `MetricsSystem`: several daemons in one test process then
/// keep separate counts, and nothing depends on bootstrapping a global once.
///
/// Names and labels (every series with one name carries the same label names):
/// - `till_http_requests_total{method, route, status}` and
///   `till_http_request_duration_seconds{method, route, status}` (histogram). `route` is the
///   matched route template (`/v1/payments/{id}`), never the raw path, so ids do not make
///   new series; unmatched paths share `route="unmatched"`.
/// - `till_gateway_calls_total{gateway, operation, outcome}` with outcome `succeeded`,
///   `declined`, `not_processed` or `unknown`, and
///   `till_gateway_call_duration_seconds{gateway, operation, outcome}` (histogram).
/// - `till_outbox_depth`: webhook deliveries still to be made.
/// - `till_payments_in_flight`: payments with a pending or unknown gateway call.
public final class TillMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let outboxDepth: Metrics.Gauge
    private let paymentsInFlight: Metrics.Gauge

    /// How many in-flight payments a scrape counts at most; a daemon with more has bigger
    /// problems than a saturated gauge.
    static let inFlightCountLimit = 10_000

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Gateway calls take tens of milliseconds to tens of seconds; API calls without a
        // gateway take single milliseconds.
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
            .seconds(10), .seconds(30),
        ]
        self.registry = registry
        self.factory = factory
        self.outboxDepth = Metrics.Gauge(label: "till_outbox_depth", factory: factory)
        self.paymentsInFlight = Metrics.Gauge(label: "till_payments_in_flight", factory: factory)
    }

    /// Counts one answered API request and its latency.
    public func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        let dimensions = [("method", method), ("route", route), ("status", String(status))]
        Metrics.Counter(label: "till_http_requests_total", dimensions: dimensions, factory: factory).increment()
        Metrics.Timer(label: "till_http_request_duration_seconds", dimensions: dimensions, factory: factory)
            .recordNanoseconds(duration.nanoseconds)
    }

    /// Counts one gateway call by how it ended.
    public func recordGatewayCall(gateway: String, operation: String, outcome: String, duration: Duration) {
        let dimensions = [("gateway", gateway), ("operation", operation), ("outcome", outcome)]
        Metrics.Counter(label: "till_gateway_calls_total", dimensions: dimensions, factory: factory).increment()
        Metrics.Timer(label: "till_gateway_call_duration_seconds", dimensions: dimensions, factory: factory)
            .recordNanoseconds(duration.nanoseconds)
    }

    /// Reads the gauges that live in the database (outbox depth, in-flight payments).
    public func refresh(from store: Store) async throws {
        outboxDepth.record(try await store.outboxDepth())
        paymentsInFlight.record(try await store.inFlightPayments(limit: Self.inFlightCountLimit).count)
    }

    /// Every metric in the Prometheus text exposition format.
    public func render() -> String {
        registry.emitToString()
    }
}

extension Duration {
    /// Whole nanoseconds, saturating instead of trapping for absurd durations.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflowAgain) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflowAgain ? (seconds < 0 ? .min : .max) : total
    }
}
