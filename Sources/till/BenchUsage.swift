import Foundation
import TillBilling
import TillBillingEngine
import TillServer
import TillStore

/// The usage section of `till bench`: events acknowledged per second through the daemon's
/// API against raw durable store writes of the same batches, and one customer's period
/// aggregated over a large table against a raw SQLite count of the same rows.
struct BenchUsage: Sendable, Codable {
    var clients: Int
    var batchSize: Int
    /// Batches of `batchSize` events POSTed to `/v1/usage_events`, each acknowledged durable.
    var ingest: BenchLatency
    var eventsPerSecond: Double
    /// The same batches written straight through `Store.write`, no HTTP, no checks.
    var rawEventsPerSecond: Double
    var storedEvents: Int
    var periodEvents: Int
    /// Median of repeated aggregations (a `sum`, exact) of one customer's month.
    var aggregateMilliseconds: Double
    /// Median of a raw `SELECT COUNT(*)` over the same rows and index.
    var rawCountMilliseconds: Double

    static let batchSize = 100

    static func run(
        server: TillServer, baseURL: String, secretKey: String, merchantID: String, http: BenchHTTP, duration: Duration,
        storedEvents: Int, progress: (String) -> Void
    ) async throws -> BenchUsage {
        let metric = try await server.billing.createMetric(
            code: "bench_calls", name: "Calls", aggregation: .sum, property: "calls", filters: [], merchantID: merchantID)
        let customer = try await server.billing.createCustomer(.init(email: "bench@example.com"), merchantID: merchantID).id
        let clients = 8
        let now = Int(Date().timeIntervalSince1970)

        progress("usage ingestion @\(clients) clients, batches of \(batchSize), through the API")
        let ingest = await BenchLoad.run(clients: clients, duration: duration) { client, iteration in
            var events: [String] = []
            events.reserveCapacity(batchSize)
            for k in 0..<batchSize {
                events.append(
                    #"{"event_id":"h\#(client)-\#(iteration)-\#(k)","customer":"\#(customer)","code":"bench_calls","timestamp":\#(now),"properties":{"calls":"\#(k % 7 + 1)"}}"#)
            }
            let body = #"{"events":[\#(events.joined(separator: ","))]}"#
            switch await http.post(
                baseURL + "/v1/usage_events", body: body, contentType: "application/json", bearer: secretKey, idempotencyKey: nil)
            {
            case .success(let answer):
                return String(decoding: answer, as: UTF8.self).contains(#""accepted":\#(batchSize)"#) ? nil : "a batch was not all accepted"
            case .failure(let failure):
                return failure.description
            }
        }

        progress("usage ingestion baseline: the same batches straight into the store")
        let store = server.store
        let raw = await BenchLoad.run(clients: clients, duration: duration) { client, iteration in
            let received = Date()
            let records = (0..<batchSize).map { k in
                UsageEventRecord(
                    merchantID: merchantID, customerID: customer, eventID: "r\(client)-\(iteration)-\(k)", metric: "bench_raw",
                    occurredAt: received, value: "\(k % 7 + 1)", properties: Data(#"{"calls":"1"}"#.utf8), receivedAt: received)
            }
            do {
                _ = try await store.write { tx in try tx.insert(usage: records) }
                return nil
            } catch {
                return "raw insert: \(error)"
            }
        }

        // A big table: `customers` customers, each with the same month of events; one of
        // them is aggregated. Written in large transactions (this is setup, not measured).
        let customers = 1_000
        let perCustomer = max(1, storedEvents / customers)
        let month = Date(timeIntervalSince1970: 1_717_200_000)  // 2024-06-01
        progress("loading \(customers * perCustomer) stored events for the aggregation run")
        let chunk = 20_000
        var written = 0
        for c in 0..<customers {
            var records: [UsageEventRecord] = []
            records.reserveCapacity(perCustomer)
            for e in 0..<perCustomer {
                let at = month.addingTimeInterval(Double(e) * (30 * 86_400) / Double(perCustomer))
                records.append(
                    UsageEventRecord(
                        merchantID: merchantID, customerID: "cus_load_\(c)", eventID: "l\(e)", metric: "bench_calls", occurredAt: at,
                        value: "\(e % 13 + 1)", properties: Data("{}".utf8), receivedAt: at))
            }
            for start in stride(from: 0, to: records.count, by: chunk) {
                let slice = Array(records[start..<min(start + chunk, records.count)])
                _ = try await store.write { tx in try tx.insert(usage: slice) }
            }
            written += records.count
            if c % 100 == 99 { progress("  \(written) events stored") }
        }

        let target = "cus_load_\(customers / 2)"
        let period = UsageQuery(
            merchantID: merchantID, customerID: target, metric: "bench_calls", from: month,
            to: month.addingTimeInterval(30 * 86_400), kind: .values)
        var aggregate: [Double] = []
        var count: [Double] = []
        var quantity = UsageDecimal.zero
        let clock = ContinuousClock()
        for _ in 0..<15 {
            let started = clock.now
            let reading = try await store.aggregate(usage: period)
            if case .values(let values) = reading { quantity = try metric.quantity(from: .values(values)) }
            aggregate.append(Double(BenchLoad.nanoseconds(clock.now - started)) / 1e6)
            let countStarted = clock.now
            _ = try await store.aggregate(usage: UsageQuery(
                merchantID: period.merchantID, customerID: period.customerID, metric: period.metric, from: period.from,
                to: period.to, kind: .count))
            count.append(Double(BenchLoad.nanoseconds(clock.now - countStarted)) / 1e6)
        }
        guard !quantity.isZero else { throw BenchFailure("the aggregated customer has no usage") }
        return BenchUsage(
            clients: clients, batchSize: batchSize, ingest: ingest,
            eventsPerSecond: ingest.operationsPerSecond * Double(batchSize), rawEventsPerSecond: raw.operationsPerSecond * Double(batchSize),
            storedEvents: try await store.usageEventCount(merchantID: merchantID), periodEvents: perCustomer,
            aggregateMilliseconds: median(aggregate), rawCountMilliseconds: median(count))
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}
