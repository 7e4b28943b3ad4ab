import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TillCore
import TillCrypto
import TillHTTP
import TillStore

extension TillServer {
    /// Delivers merchant webhooks from the outbox.
    func outboxWorkers() -> [any Service] {
        var logger = self.logger
        logger[metadataKey: "component"] = "outbox"
        return [OutboxDelivery(store: store, logger: logger, now: now)]
    }
}

/// Delivers the outbox: every event, to every endpoint the merchant had when it happened.
///
/// It polls ``Store/dueDeliveries(now:limit:)`` and POSTs each event's stored body with
/// `Content-Type: application/json` and a ``WebhookSignature`` header, through one
/// ``HTTPClient`` of its own with at most ``Configuration/maxConcurrentDeliveries`` requests
/// in flight. Every attempt is recorded and shown by `GET /v1/events/{id}`. A 2xx answer
/// delivers; anything else (another status, a timeout, a refused connection) is retried
/// after an exponential backoff with full jitter, until ``Configuration/retryWindow`` after
/// the event, when the delivery is marked failed.
///
/// Delivery is at least once: an attempt whose outcome could not be recorded (a crash, a
/// hard cancellation, a database error) leaves the delivery due, and it is sent again.
/// Receivers deduplicate on the event's `id`.
///
/// On graceful shutdown it stops picking up deliveries and lets the attempts in flight
/// finish (each bounded by ``Configuration/requestTimeout``) and be recorded.
///
/// One worker per database: it does not claim rows, so two daemons on one database could
/// both send a delivery (still at least once, but twice as often).
public struct OutboxDelivery: Service {
    /// How often to look, how many at once, and how long to keep trying.
    public struct Configuration: Sendable, Hashable {
        /// The pause between looks at the outbox.
        public var pollInterval: Duration
        /// The most deliveries in flight at once.
        public var maxConcurrentDeliveries: Int
        /// The backoff ceiling after the first failed attempt; it doubles with each failure.
        public var initialBackoff: Duration
        /// The most the backoff ceiling grows to.
        public var maxBackoff: Duration
        /// How long after the event attempts go on; then the delivery is marked failed.
        public var retryWindow: Duration
        /// The longest one attempt may take, connecting included.
        public var requestTimeout: Duration
        /// The longest connecting may take.
        public var connectTimeout: Duration

        public init(
            pollInterval: Duration = .milliseconds(250), maxConcurrentDeliveries: Int = 8,
            initialBackoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(60 * 60),
            retryWindow: Duration = .seconds(3 * 24 * 60 * 60), requestTimeout: Duration = .seconds(10),
            connectTimeout: Duration = .seconds(5)
        ) {
            self.pollInterval = pollInterval
            self.maxConcurrentDeliveries = maxConcurrentDeliveries
            self.initialBackoff = initialBackoff
            self.maxBackoff = maxBackoff
            self.retryWindow = retryWindow
            self.requestTimeout = requestTimeout
            self.connectTimeout = connectTimeout
        }

        /// The longest wait before the next attempt after `failures` failed ones (1 or more):
        /// `initialBackoff · 2^(failures − 1)`, at most `maxBackoff`.
        public func backoffCeiling(afterFailures failures: Int) -> Duration {
            let base = initialBackoff.seconds
            let cap = maxBackoff.seconds
            // 2^62 s is far beyond any cap; stopping there keeps the power finite.
            let ceiling = base * pow(2, Double(min(max(failures - 1, 0), 62)))
            return .seconds(min(ceiling, cap))
        }

        /// A random wait in `0...backoffCeiling(afterFailures:)` ("full jitter"), so
        /// endpoints that fail together are not retried together.
        public func backoff(afterFailures failures: Int, using generator: inout some RandomNumberGenerator) -> Duration {
            let ceiling = backoffCeiling(afterFailures: failures).seconds
            guard ceiling > 0 else { return .zero }
            return .seconds(Double.random(in: 0...ceiling, using: &generator))
        }
    }

    let store: Store
    let configuration: Configuration
    let logger: Logger
    let now: @Sendable () -> Date

    public init(
        store: Store, configuration: Configuration = Configuration(), logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.now = now
    }

    public func run() async throws {
        let concurrency = max(configuration.maxConcurrentDeliveries, 1)
        let client = try HTTPClient(
            configuration: .init(
                connectTimeout: configuration.connectTimeout, timeout: configuration.requestTimeout,
                maxConnectionsPerHost: concurrency, maxConnectionsTotal: concurrency,
                // The answer is not read; a large one is not worth holding.
                maxResponseBodySize: 1024 * 1024, userAgent: "Till-Webhooks/\(Till.version)"))
        let inFlight = InFlight()
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let capacity = concurrency - inFlight.count
                if capacity > 0 {
                    let due: [Store.Delivery]
                    inFlight.beginRead()
                    do {
                        // Ask for more than there is room for: some due rows are already in flight.
                        due = try await store.dueDeliveries(now: now(), limit: capacity + inFlight.count)
                    } catch {
                        if Task.isCancelled { break }
                        logger.error("cannot read the outbox", metadata: ["error": "\(error)"])
                        due = []
                    }
                    for delivery in due {
                        guard inFlight.count < concurrency else { break }
                        guard let id = delivery.outbox.id, inFlight.start(id) else { continue }
                        group.addTask {
                            await deliver(delivery, client: client)
                            inFlight.finish(id)
                        }
                    }
                }
                // A shutdown ends the pause at once; the loop condition then stops the pickup.
                try? await cancelWhenGracefulShutdown { [pollInterval = configuration.pollInterval] in
                    try await Task.sleep(for: pollInterval)
                }
            }
        }
        await client.shutdown()
    }

    /// Makes one attempt and records it with the delivery's next state.
    func deliver(_ delivery: Store.Delivery, client: HTTPClient) async {
        var outbox = delivery.outbox
        guard let outboxID = outbox.id else { return }
        var metadata: Logger.Metadata = [
            "event_id": "\(delivery.event.id)", "endpoint_id": "\(delivery.endpoint.id)", "attempt": "\(outbox.attempts + 1)",
        ]
        let started = now()
        let statusCode: Int?
        let failure: String?
        if delivery.endpoint.deletedAt != nil {
            // Deleted while this delivery was in flight: nothing more goes there.
            statusCode = nil
            failure = "endpoint deleted"
        } else {
            let timestamp = Int64(started.timeIntervalSince1970.rounded(.down))
            let body = Array(delivery.event.body)
            let request = HTTPRequest(
                method: .POST, url: delivery.endpoint.url,
                headers: [
                    "Content-Type": "application/json",
                    WebhookSignature.headerName: WebhookSignature.header(
                        body: body, secret: delivery.endpoint.secret, timestamp: timestamp),
                ],
                body: body)
            do throws(HTTPClientError) {
                let response = try await client.execute(request)
                statusCode = response.status
                failure = (200..<300).contains(response.status) ? nil : "the endpoint answered HTTP \(response.status)"
            } catch {
                if error.phase == .cancelled || error.phase == .shutdown {
                    // Abandoned, not failed: the delivery stays due and is sent again.
                    logger.notice("webhook attempt abandoned", metadata: metadata)
                    return
                }
                statusCode = nil
                failure = "\(error.phase): \(error.message)"
            }
        }
        let finished = now()
        let attempt = DeliveryAttemptRecord(
            outboxId: outboxID, attemptedAt: started, statusCode: statusCode, error: failure,
            durationMilliseconds: max(Int((finished.timeIntervalSince(started) * 1000).rounded()), 0))
        outbox.attempts += 1
        outbox.lastStatusCode = statusCode
        outbox.lastError = failure
        if failure == nil {
            outbox.status = .delivered
            outbox.deliveredAt = finished
        } else {
            let deadline = delivery.event.createdAt.addingTimeInterval(configuration.retryWindow.seconds)
            if delivery.endpoint.deletedAt != nil || finished >= deadline {
                outbox.status = .failed
            } else {
                var generator = SystemRandomNumberGenerator()
                let wait = configuration.backoff(afterFailures: outbox.attempts, using: &generator)
                // The last attempt is made at the deadline itself, not skipped.
                outbox.nextAttemptAt = min(finished.addingTimeInterval(wait.seconds), deadline)
            }
        }
        metadata["status"] = "\(outbox.status.rawValue)"
        if let statusCode { metadata["status_code"] = "\(statusCode)" }
        if let failure { metadata["error"] = "\(failure)" }
        do {
            try await store.recordAttempt(attempt, outbox: outbox)
        } catch {
            metadata["store_error"] = "\(error)"
            logger.error("cannot record a webhook attempt; the delivery will be sent again", metadata: metadata)
            return
        }
        switch outbox.status {
        case .delivered: logger.debug("webhook delivered", metadata: metadata)
        case .pending: logger.info("webhook attempt failed; will retry", metadata: metadata)
        case .failed: logger.warning("webhook delivery given up", metadata: metadata)
        }
    }
}

/// The outbox rows being attempted right now, so a slow attempt is not started twice.
///
/// A read of the outbox that began before an attempt was recorded may still show that row
/// as due; rows finished since the current read began are skipped until the next one.
private final class InFlight: Sendable {
    private struct State {
        var running: Set<Int64> = []
        var finishedDuringRead: Set<Int64> = []
    }

    private let state = Mutex(State())

    var count: Int { state.withLock { $0.running.count } }

    /// Call before reading the outbox.
    func beginRead() { state.withLock { $0.finishedDuringRead = [] } }

    /// Marks `id` as running; `false` if it is running, or finished after the read began.
    func start(_ id: Int64) -> Bool {
        state.withLock { state in
            guard !state.finishedDuringRead.contains(id) else { return false }
            return state.running.insert(id).inserted
        }
    }

    /// Call once the attempt is recorded (or abandoned).
    func finish(_ id: Int64) {
        state.withLock { state in
            state.running.remove(id)
            state.finishedDuringRead.insert(id)
        }
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval` for `Date` arithmetic.
    fileprivate var seconds: TimeInterval {
        let (whole, fraction) = components
        return TimeInterval(whole) + TimeInterval(fraction) / 1e18
    }
}
