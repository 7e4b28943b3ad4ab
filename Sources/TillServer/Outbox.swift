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
        return [OutboxDelivery(store: store, logger: logger, now: now, destinations: webhookDestinations)]
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
    let destinations: WebhookDestinations
    let resolve: WebhookResolver

    /// `destinations` judges every address a delivery would connect to; `resolve` turns a
    /// host name into addresses (a seam: tests make a name "rebind" to another address).
    public init(
        store: Store, configuration: Configuration = Configuration(), logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() },
        destinations: WebhookDestinations = WebhookDestinations(WebhookURLPolicy()),
        resolve: @escaping WebhookResolver = systemWebhookResolver
    ) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.now = now
        self.destinations = destinations
        self.resolve = resolve
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
                    let due: [DueDelivery]
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
    func deliver(_ delivery: DueDelivery, client: HTTPClient) async {
        var outbox = delivery.outbox
        guard let outboxID = outbox.id else { return }
        var metadata: Logger.Metadata = [
            "event_id": "\(delivery.event.id)", "endpoint_id": "\(delivery.endpoint.id)", "attempt": "\(outbox.attempts + 1)",
        ]
        let started = now()
        let statusCode: Int?
        let failure: DeliveryFailure?
        if delivery.endpoint.deletedAt != nil {
            // Deleted while this delivery was in flight: nothing more goes there.
            statusCode = nil
            failure = .endpointDeleted
        } else {
            switch await destination(of: delivery.endpoint.url) {
            case .failure(let refused):
                statusCode = nil
                failure = refused
                metadata["refused"] = "\(refused.rawValue)"
            case .success(let (url, pin)):
                let timestamp = Int64(started.timeIntervalSince1970.rounded(.down))
                let body = Array(delivery.event.body)
                let request = HTTPRequest(
                    method: .POST, url: url,
                    headers: [
                        "Content-Type": "application/json",
                        WebhookSignature.headerName: WebhookSignature.header(
                            body: body, secret: delivery.endpoint.secret, timestamp: timestamp),
                    ],
                    body: body, pin: pin)
                do throws(HTTPClientError) {
                    let response = try await client.execute(request)
                    statusCode = response.status
                    failure = (200..<300).contains(response.status) ? nil : .httpStatus
                } catch {
                    if error.phase == .cancelled || error.phase == .shutdown {
                        // Abandoned, not failed: the delivery stays due and is sent again.
                        logger.notice("webhook attempt abandoned", metadata: metadata)
                        return
                    }
                    statusCode = nil
                    failure = DeliveryFailure(error.phase)
                    // The operator's log may say more than the merchant sees.
                    metadata["http_error"] = "\(error.phase)"
                }
            }
        }
        let finished = now()
        let attempt = DeliveryAttemptRecord(
            outboxId: outboxID, attemptedAt: started, statusCode: statusCode, error: failure?.rawValue,
            durationMilliseconds: max(Int((finished.timeIntervalSince(started) * 1000).rounded()), 0))
        outbox.attempts += 1
        outbox.lastStatusCode = statusCode
        outbox.lastError = failure?.rawValue
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
        if let failure { metadata["error"] = "\(failure.rawValue)" }
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

extension OutboxDelivery {
    /// Where to send a delivery: the URL as the policy stores it and the checked addresses
    /// to pin the connection to, judged now (the DNS answer, or the policy, may have changed
    /// since the endpoint was registered).
    func destination(of url: String) async -> Result<(String, ConnectionPin), DeliveryFailure> {
        let policy = destinations.policy
        let destination: WebhookURLPolicy.Destination
        do {
            destination = try policy.check(url: url)
        } catch {
            return .failure(.notAllowed)
        }
        let addresses: [IPAddress]
        let pinHost: String
        switch destination.host {
        case .address(let address):
            addresses = [address]
            pinHost = address.description
        case .name(let name):
            do {
                addresses = try await resolve(name)
            } catch {
                return .failure(.dnsFailed)
            }
            pinHost = name
        }
        // Every address must pass: a name with one internal address among public ones is
        // refused, not trimmed, since its owner controls which one curl would pick.
        guard !addresses.isEmpty else { return .failure(.dnsFailed) }
        guard addresses.allSatisfy({ policy.check($0, port: destination.port) == nil }) else {
            return .failure(.notAllowed)
        }
        return .success(
            (destination.url, ConnectionPin(host: pinHost, port: destination.port, addresses: addresses.map(\.description))))
    }
}

/// Why a delivery attempt failed, as recorded and shown to the merchant: a coarse class,
/// never the connection's own message (which would name internal addresses and turn the
/// event API into a port scanner).
public enum DeliveryFailure: String, Error, Sendable, CaseIterable {
    /// The endpoint answered with a status other than 2xx (the attempt shows which).
    case httpStatus = "http_status"
    case connectFailed = "connect_failed"
    case timeout = "timeout"
    case tlsError = "tls_error"
    /// The URL, or an address its host resolved to, is not a permitted destination.
    case notAllowed = "not_allowed"
    case dnsFailed = "dns_failed"
    /// The connection broke or the answer was malformed, cut short or too large.
    case invalidResponse = "invalid_response"
    case endpointDeleted = "endpoint_deleted"
    /// Anything else.
    case deliveryFailed = "delivery_failed"

    init(_ phase: HTTPClientError.Phase) {
        switch phase {
        case .resolve: self = .dnsFailed
        case .connect, .send: self = .connectFailed
        case .tls: self = .tlsError
        case .timeout: self = .timeout
        case .receive: self = .invalidResponse
        case .destinationRefused: self = .notAllowed
        default: self = .deliveryFailed
        }
    }

    /// A stored error as shown: one of the classes, whatever an older version stored.
    static func shown(_ stored: String?) -> String? {
        guard let stored else { return nil }
        return DeliveryFailure(rawValue: stored)?.rawValue ?? DeliveryFailure.deliveryFailed.rawValue
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
