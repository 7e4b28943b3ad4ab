import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TillHTTP

/// One event's delivery to one endpoint, as the admin API reports it.
public struct WebhookDelivery: Hashable, Sendable, Codable {
    public var event: String
    public var url: String
    public var attempts: Int
    public var lastStatus: Int?
    public var lastError: String?
    public var delivered: Bool
    /// Set when every attempt failed and the sandbox stopped trying.
    public var gaveUp: Bool

    enum CodingKeys: String, CodingKey {
        case event, url, attempts, delivered
        case lastStatus = "last_status"
        case lastError = "last_error"
        case gaveUp = "gave_up"
    }
}

/// Sends signed webhook events to the configured endpoints, retrying failed deliveries with
/// exponential backoff, as the real gateways do.
///
/// Run it as a service (``run()``) next to the sandbox's HTTP server; ``send(event:body:sign:)``
/// only queues, so an API call never waits for a merchant's endpoint.
public final class WebhookDispatcher: Service, Sendable {
    public struct RetryPolicy: Sendable, Hashable {
        public var maxAttempts: Int
        public var initialDelay: Duration
        public var maxDelay: Duration

        public init(maxAttempts: Int = 8, initialDelay: Duration = .milliseconds(250), maxDelay: Duration = .seconds(30)) {
            self.maxAttempts = max(1, maxAttempts)
            self.initialDelay = initialDelay
            self.maxDelay = maxDelay
        }

        /// The wait before attempt `attempt + 1`: doubling from `initialDelay`, capped.
        public func delay(after attempt: Int) -> Duration {
            var delay = initialDelay
            for _ in 1..<max(1, attempt) where delay < maxDelay { delay *= 2 }
            return min(delay, maxDelay)
        }
    }

    /// Computes the signature headers for one attempt; called per attempt because gateways
    /// sign with the time of sending.
    public typealias Signer = @Sendable (_ body: [UInt8], _ now: Date) -> [(name: String, value: String)]

    private struct Job: Sendable {
        /// Where its delivery record is: valid while the generation is current.
        var generation: Int
        var index: Int
        var url: String
        var body: [UInt8]
        var sign: Signer
    }

    private struct State {
        var endpoints: [String]
        var deliveries: [WebhookDelivery] = []
        /// Bumped by a reset, so deliveries still retrying stop updating forgotten records.
        var generation = 0
    }

    private let state: Mutex<State>
    private let jobs: AsyncStream<Job>
    private let queue: AsyncStream<Job>.Continuation
    private let retryPolicy: RetryPolicy
    private let client: HTTPClient
    private let logger: Logger

    public init(endpoints: [String], retryPolicy: RetryPolicy = RetryPolicy(), logger: Logger) throws {
        self.state = Mutex(State(endpoints: endpoints))
        (self.jobs, self.queue) = AsyncStream.makeStream(of: Job.self)
        self.retryPolicy = retryPolicy
        self.client = try HTTPClient(
            configuration: .init(connectTimeout: .seconds(5), timeout: .seconds(10), userAgent: "TillSandbox/webhooks"))
        self.logger = logger
    }

    /// The endpoints events go to.
    public var endpoints: [String] { state.withLock { $0.endpoints } }

    /// Adds an endpoint for the events sent from now on.
    public func addEndpoint(_ url: String) {
        state.withLock { state in
            if !state.endpoints.contains(url) { state.endpoints.append(url) }
        }
    }

    /// Every delivery so far, in the order the events were sent.
    public var deliveries: [WebhookDelivery] { state.withLock { $0.deliveries } }

    /// Queues `body` (the event's JSON) for every endpoint.
    public func send(event: String, body: [UInt8], sign: @escaping Signer) {
        let jobs: [Job] = state.withLock { state in
            state.endpoints.map { url in
                state.deliveries.append(
                    WebhookDelivery(event: event, url: url, attempts: 0, delivered: false, gaveUp: false))
                return Job(
                    generation: state.generation, index: state.deliveries.count - 1, url: url, body: body,
                    sign: sign)
            }
        }
        for job in jobs { queue.yield(job) }
    }

    /// Forgets past deliveries (endpoints stay).
    public func reset() {
        state.withLock { state in
            state.deliveries.removeAll()
            state.generation += 1
        }
    }

    /// Delivers queued events until the task is cancelled or the service group shuts down.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                for await job in jobs {
                    group.addTask { await self.deliver(job) }
                }
            } onGracefulShutdown: {
                self.queue.finish()
            }
            group.cancelAll()
        }
        await client.shutdown()
    }

    private func deliver(_ job: Job) async {
        for attempt in 1...retryPolicy.maxAttempts {
            // A reset forgets the event entirely, retries included.
            guard state.withLock({ $0.generation }) == job.generation else { return }
            var headers: HTTPHeaders = ["Content-Type": "application/json; charset=utf-8"]
            for header in job.sign(job.body, Date()) { headers.add(name: header.name, value: header.value) }
            let request = HTTPRequest(method: .POST, url: job.url, headers: headers, body: job.body)
            var status: Int?
            var failure: String?
            do {
                status = try await client.execute(request).status
            } catch {
                failure = error.description
            }
            let delivered = status.map { (200..<300).contains($0) } ?? false
            state.withLock { state in
                guard state.generation == job.generation else { return }
                state.deliveries[job.index].attempts = attempt
                state.deliveries[job.index].lastStatus = status
                state.deliveries[job.index].lastError = failure
                state.deliveries[job.index].delivered = delivered
                state.deliveries[job.index].gaveUp = !delivered && attempt == retryPolicy.maxAttempts
            }
            if delivered { return }
            logger.debug(
                "webhook delivery failed",
                metadata: ["url": "\(job.url)", "attempt": "\(attempt)", "status": "\(status.map(String.init) ?? "-")"])
            guard attempt < retryPolicy.maxAttempts else { return }
            do {
                try await Task.sleep(for: retryPolicy.delay(after: attempt))
            } catch {
                return
            }
        }
    }
}
