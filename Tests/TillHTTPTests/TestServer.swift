import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// What the test server saw, for tests that must observe the server side (connection
/// reuse, a cancelled transfer's connection closing).
final class ServerEvents: Sendable {
    struct Counts: Sendable {
        var connectionsOpened = 0
        var connectionsClosed = 0
        var requests = 0
        var streamsStarted = 0
        var streamsEnded = 0
    }

    private let counts = Mutex(Counts())

    func update(_ body: (inout Counts) -> Void) {
        counts.withLock { body(&$0) }
    }

    var snapshot: Counts { counts.withLock { $0 } }
}

/// An HTTP/1.1 server on 127.0.0.1 with an ephemeral port. Routes:
/// - `/echo`: status 200; the request body back; `x-method` and one `x-echo-<name>` per
///   request header; two `x-multi` headers.
/// - `/delay?ms=N&id=X`: answers `X` after N milliseconds.
/// - `/drop`: reads the whole request, then closes the connection without answering.
/// - `/partial`: sends headers announcing 1000 bytes, 10 bytes, then closes.
/// - `/stream`: chunked body, a chunk every 20 ms until the client goes away.
/// - `/bytes?n=N`: N bytes of body.
final class TestServer: Sendable {
    let events: ServerEvents
    let port: Int
    private let channel: any Channel

    private init(channel: any Channel, port: Int, events: ServerEvents) {
        self.channel = channel
        self.port = port
        self.events = events
    }

    static func start() async throws -> TestServer {
        let events = ServerEvents()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                events.update { $0.connectionsOpened += 1 }
                channel.closeFuture.whenComplete { _ in events.update { $0.connectionsClosed += 1 } }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(TestHandler(events: events))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        guard let port = channel.localAddress?.port else {
            throw TestServerError.noPort
        }
        return TestServer(channel: channel, port: port, events: events)
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func stop() async throws {
        try await channel.close()
    }

    /// A port on which nothing listens: bound, then closed again.
    static func closedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0)
            .get()
        guard let port = channel.localAddress?.port else { throw TestServerError.noPort }
        try await channel.close()
        return port
    }
}

enum TestServerError: Error {
    case noPort
}
