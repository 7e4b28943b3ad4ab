import Foundation
import TillHTTP

/// Latency and throughput of one closed-loop run: `clients` tasks each send their next
/// request as soon as the previous one is answered, until the run's time is up.
struct BenchLatency: Sendable, Codable, Hashable {
    var clients: Int
    var operations: Int
    var errors: Int
    var seconds: Double
    var operationsPerSecond: Double
    var p50Milliseconds: Double
    var p99Milliseconds: Double
    var p999Milliseconds: Double
    /// The first failure seen, so a run full of errors says why.
    var firstError: String?
}

enum BenchLoad {
    /// Runs `operation` from `clients` concurrent tasks for `duration`. Each call returns
    /// `nil` on success or a description of what went wrong; only successes count towards
    /// throughput and the percentiles, which are exact (nearest rank over sorted samples).
    static func run(
        clients: Int, duration: Duration, operation: @escaping @Sendable (_ client: Int, _ iteration: Int) async -> String?
    ) async -> BenchLatency {
        let clock = ContinuousClock()
        let started = clock.now
        let deadline = started + duration
        let parts = await withTaskGroup(of: (samples: [Int64], errors: Int, firstError: String?).self) { group in
            for client in 0..<clients {
                group.addTask {
                    var samples: [Int64] = []
                    samples.reserveCapacity(4096)
                    var errors = 0
                    var firstError: String?
                    var iteration = 0
                    while clock.now < deadline {
                        let begun = clock.now
                        let failure = await operation(client, iteration)
                        iteration += 1
                        if let failure {
                            errors += 1
                            if firstError == nil { firstError = failure }
                        } else {
                            samples.append(nanoseconds(clock.now - begun))
                        }
                    }
                    return (samples, errors, firstError)
                }
            }
            var all: [(samples: [Int64], errors: Int, firstError: String?)] = []
            for await part in group { all.append(part) }
            return all
        }
        let elapsed = Double(nanoseconds(clock.now - started)) / 1e9
        var samples = parts.flatMap(\.samples)
        samples.sort()
        let errors = parts.reduce(0) { $0 + $1.errors }
        return BenchLatency(
            clients: clients, operations: samples.count, errors: errors, seconds: elapsed,
            operationsPerSecond: Double(samples.count) / max(elapsed, 1e-9),
            p50Milliseconds: percentile(samples, 0.50), p99Milliseconds: percentile(samples, 0.99),
            p999Milliseconds: percentile(samples, 0.999), firstError: parts.lazy.compactMap(\.firstError).first)
    }

    /// Nearest-rank percentile of sorted nanosecond samples, in milliseconds; 0 when empty.
    static func percentile(_ sorted: [Int64], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        let index = min(max(rank - 1, 0), sorted.count - 1)
        return Double(sorted[index]) / 1e6
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}

/// The load generator's HTTP side: one TillHTTP client, big enough for the highest
/// concurrency, used the same way for Till and for the sandbox so neither side gets a
/// cheaper client.
struct BenchHTTP: Sendable {
    let client: HTTPClient

    init(connections: Int) throws {
        client = try HTTPClient(
            configuration: .init(
                timeout: .seconds(60), maxConnectionsPerHost: connections, maxConnectionsTotal: connections * 2 + 16,
                userAgent: "till-bench"))
    }

    /// POSTs `body`; returns the answer's body when the status is 2xx, else what went wrong.
    func post(
        _ url: String, body: String, contentType: String, bearer: String, idempotencyKey: String?
    ) async -> Result<[UInt8], BenchFailure> {
        var headers: HTTPHeaders = [:]
        headers.add(name: "Authorization", value: "Bearer \(bearer)")
        headers.add(name: "Content-Type", value: contentType)
        if let idempotencyKey { headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        do {
            let response = try await client.execute(
                HTTPRequest(method: .POST, url: url, headers: headers, body: Array(body.utf8)))
            guard (200..<300).contains(response.status) else {
                return .failure(BenchFailure("HTTP \(response.status) from \(url): \(String(decoding: response.body.prefix(300), as: UTF8.self))"))
            }
            return .success(response.body)
        } catch {
            return .failure(BenchFailure("\(url): \(error)"))
        }
    }

    /// The top-level `"id"` of a JSON object answer.
    static func id(in body: [UInt8]) -> String? {
        ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any])?["id"] as? String
    }
}

struct BenchFailure: Error, Sendable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
