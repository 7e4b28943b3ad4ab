import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The request context of every sandbox route: Hummingbird's core context plus the channel,
/// which fault injection closes to simulate a lost connection.
public struct SandboxContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// Gateways refuse large bodies themselves, in their own error shape; this is the hard cap.
    public var maxUploadSize: Int { 1 << 20 }
}

/// A sandbox gateway listening on a port, with the services that run beside it.
public final class RunningSandbox: Sendable {
    public let host: String
    public let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// `http://host:port`, without a trailing slash.
    public var baseURL: String {
        host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
    }

    fileprivate init(host: String, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.host = host
        self.port = port
        self.group = group
        self.task = task
    }

    /// Stops accepting connections, finishes what is in flight, and returns when everything
    /// has stopped.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }

    /// Waits until the server stops (after ``stop()`` or a failure), rethrowing a failure.
    public func wait() async throws {
        try await task.value
    }
}

/// Starting a sandbox's HTTP server.
public enum SandboxServer {
    /// Why the server did not start.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts `router` on `host:port` (port 0 picks a free one) together with `services`,
    /// and returns once the socket is listening.
    public static func start(
        name: String,
        router: Router<SandboxContext>,
        host: String = "127.0.0.1",
        port: Int = 0,
        services: [any Service] = [],
        logger: Logger
    ) async throws -> RunningSandbox {
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: name),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? port)
                portContinuation.finish()
            },
            logger: logger
        )
        let group = ServiceGroup(
            configuration: .init(services: [app] + services, logger: logger))
        let task = Task {
            defer { portContinuation.finish() }
            try await group.run()
        }
        for await bound in ports {
            return RunningSandbox(host: host, port: bound, group: group, task: task)
        }
        // The server stopped before it listened: surface why.
        do {
            try await task.value
        } catch {
            throw StartError(description: "\(name) could not listen on \(host):\(port): \(error)")
        }
        throw StartError(description: "\(name) stopped before it listened on \(host):\(port)")
    }
}
