import Foundation
import Hummingbird
import Logging
import SandboxSupport
import Synchronization
import TillServer

/// A merchant's webhook endpoint for tests: an HTTP server on 127.0.0.1 that records every
/// request it gets, and can be told to fail the next few so retries can be observed.
public final class WebhookReceiver: Sendable {
    /// One request as it arrived.
    public struct Received: Sendable, Hashable {
        public var path: String
        /// Header names in lower case.
        public var headers: [String: String]
        public var body: [UInt8]

        public var bodyString: String { String(decoding: body, as: UTF8.self) }

        /// The body as a JSON object, if it is one.
        public var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        }
    }

    /// Thrown when ``wait(count:timeout:)`` runs out of time.
    public struct Timeout: Error, CustomStringConvertible {
        public let description: String
    }

    private let recorder: Recorder
    private let server: RunningSandbox

    private init(recorder: Recorder, server: RunningSandbox) {
        self.recorder = recorder
        self.server = server
    }

    /// Starts a receiver on a free loopback port; every path is accepted.
    public static func start() async throws -> WebhookReceiver {
        let recorder = Recorder()
        let router = Router(context: SandboxContext.self)
        router.post("**") { request, context in
            let buffer = try await request.body.collect(upTo: context.maxUploadSize)
            var headers: [String: String] = [:]
            for field in request.headers {
                headers[field.name.canonicalName.lowercased()] = field.value
            }
            let received = Received(
                path: request.uri.path, headers: headers, body: Array(buffer.readableBytesView))
            return recorder.record(received) ? Response(status: .ok) : Response(status: .internalServerError)
        }
        var logger = Logger(label: "till.testing.webhook-receiver")
        logger.logLevel = .warning
        let server = try await SandboxServer.start(name: "webhook-receiver", router: router, logger: logger)
        return WebhookReceiver(recorder: recorder, server: server)
    }

    /// Where to send webhooks.
    public var url: String { server.baseURL + "/webhooks" }

    /// The receiver's loopback address and port, for the daemon's webhook allow-list.
    public var socketEndpoint: SocketEndpoint? {
        IPAddress(numeric: server.host).flatMap { address in
            UInt16(exactly: server.port).map { SocketEndpoint(address: address, port: $0) }
        }
    }

    /// Everything received so far, in order, including requests answered with a failure.
    public var received: [Received] { recorder.state.withLock { $0.received } }

    /// Answers the next `count` requests with a 500 (they are still recorded).
    public func failNext(_ count: Int) { recorder.state.withLock { $0.failuresLeft = count } }

    /// Waits until at least `count` requests have arrived, then returns all of them.
    public func wait(count: Int, timeout: Duration = .seconds(15)) async throws -> [Received] {
        try await wait(timeout: timeout, what: "\(count) webhook request(s)") { received in
            received.count >= count ? received : nil
        }
    }

    /// Waits until a request satisfying `predicate` has arrived, and returns the first one.
    public func wait(
        timeout: Duration = .seconds(15), for predicate: @escaping @Sendable (Received) -> Bool
    ) async throws -> Received {
        try await wait(timeout: timeout, what: "a matching webhook request") { received in
            received.first(where: predicate)
        }
    }

    private func wait<T>(
        timeout: Duration, what: String, _ check: ([Received]) -> T?
    ) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let found = check(received) { return found }
            guard ContinuousClock.now < deadline else {
                throw Timeout(description: "no \(what) within \(timeout); got \(received.count)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    public func stop() async { await server.stop() }
}

/// What the route records and the receiver reads.
private final class Recorder: Sendable {
    struct State {
        var received: [WebhookReceiver.Received] = []
        var failuresLeft = 0
    }

    let state = Mutex(State())

    /// Records `received`; returns whether to answer with success.
    func record(_ received: WebhookReceiver.Received) -> Bool {
        state.withLock { state in
            state.received.append(received)
            guard state.failuresLeft > 0 else { return true }
            state.failuresLeft -= 1
            return false
        }
    }
}
