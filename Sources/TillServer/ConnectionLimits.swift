import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// How long the HTTP server waits for a client, and how many clients it serves at once.
/// Hummingbird's own idle timeout only counts complete requests, so a client that sends
/// half a header, or nothing at all after connecting, would otherwise hold a connection
/// (and a slot) for as long as it likes.
public struct ServerLimits: Sendable, Hashable {
    /// A keep-alive connection with no request under way is closed after this long.
    public var idleTimeout: Duration
    /// A request's head must arrive within this long of its first byte.
    public var headerTimeout: Duration
    /// A request's body must arrive within this long of its head.
    public var bodyTimeout: Duration
    /// Connections beyond this many are closed as soon as they are accepted.
    public var maxConnections: Int

    public init(
        idleTimeout: Duration = .seconds(60), headerTimeout: Duration = .seconds(10), bodyTimeout: Duration = .seconds(30),
        maxConnections: Int = 10_000
    ) {
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.maxConnections = maxConnections
    }

    /// Why the limits cannot be used, or `nil`.
    public var problem: String? {
        for (name, value) in [("idle timeout", idleTimeout), ("header timeout", headerTimeout), ("body timeout", bodyTimeout)]
        where value <= .zero {
            return "the \(name) must be positive, got \(value)"
        }
        return maxConnections > 0 ? nil : "the connection limit must be positive, got \(maxConnections)"
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 as Hummingbird serves it, with ``ServerLimits`` enforced on every connection.
    public static func http1(limits: ServerLimits) -> HTTPServerBuilder {
        let connections = ConnectionCount()
        return HTTPServerBuilder { responder in
            LimitedHTTP1Channel(inner: HTTP1Channel(responder: responder), limits: limits, connections: connections)
        }
    }
}

/// The connections open now, shared by every connection's ``ConnectionGuard``.
final class ConnectionCount: Sendable {
    private let open = Atomic<Int>(0)

    /// Takes a slot if fewer than `limit` are taken.
    func acquire(limit: Int) -> Bool {
        var current = open.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = open.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func release() {
        open.subtract(1, ordering: .acquiringAndReleasing)
    }
}

/// Hummingbird's HTTP/1 channel with a ``ConnectionGuard`` in front of its HTTP codec and a
/// ``RequestProgress`` watcher right after the request decoder, which reports to the guard.
struct LimitedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let inner: HTTP1Channel
    let limits: ServerLimits
    let connections: ConnectionCount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let guardHandler = ConnectionGuard(limits: limits, connections: connections)
        do {
            try channel.pipeline.syncOperations.addHandler(guardHandler)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let decoder = try operations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try operations.addHandler(RequestProgress(), position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

/// Sees a connection's raw bytes: takes a connection slot (or closes at once when there is
/// none) and closes the connection when the client is too slow for the phase it is in.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum Phase {
        /// Waiting for the next request's head; `started` once a byte of it came.
        case awaitingHead(started: Bool)
        case readingBody
        /// The request is read; the answer is being made. The client owes nothing.
        case handling
    }

    private let limits: ServerLimits
    private let connections: ConnectionCount
    private var holdsSlot = false
    private var counted = false
    private var phase = Phase.awaitingHead(started: false)
    private var outstandingResponses = 0
    /// Bytes came since the last request boundary, so a new head may be half-read.
    private var bytesSinceBoundary = false
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(limits: ServerLimits, connections: ConnectionCount) {
        self.limits = limits
        self.connections = connections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { becameActive(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        releaseSlot()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        becameActive(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        releaseSlot()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        bytesSinceBoundary = true
        if case .awaitingHead(started: false) = phase {
            enter(.awaitingHead(started: true))
        }
        context.fireChannelRead(data)
    }

    private func becameActive(_ context: ChannelHandlerContext) {
        guard !counted else { return }
        counted = true
        guard connections.acquire(limit: limits.maxConnections) else {
            // Over the limit: refuse by closing, before any byte is read.
            context.close(promise: nil)
            return
        }
        holdsSlot = true
        enter(.awaitingHead(started: false))
    }

    private func releaseSlot() {
        if holdsSlot {
            holdsSlot = false
            connections.release()
        }
    }

    // Called by ``RequestProgress`` as decoded parts go by.

    func requestHead() {
        outstandingResponses += 1
        bytesSinceBoundary = false
        enter(.readingBody)
    }

    func requestEnd() {
        bytesSinceBoundary = false
        if case .readingBody = phase { enter(.handling) }
    }

    func responseEnd() {
        outstandingResponses = max(outstandingResponses - 1, 0)
        if case .handling = phase, outstandingResponses == 0 {
            enter(.awaitingHead(started: bytesSinceBoundary))
        }
    }

    private func enter(_ next: Phase) {
        phase = next
        cancelTimer()
        let limit: Duration?
        switch next {
        case .awaitingHead(let started): limit = started ? limits.headerTimeout : limits.idleTimeout
        case .readingBody: limit = limits.bodyTimeout
        case .handling: limit = nil
        }
        guard let limit, let context else { return }
        let (seconds, attoseconds) = limit.components
        let delay = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [weak self] in
            guard let self, let context = self.context else { return }
            self.timer = nil
            context.close(promise: nil)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }
}

/// Tells the ``ConnectionGuard`` where each request stands, from the decoded HTTP/1 parts.
final class RequestProgress: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The connection's guard, found when this handler joins the pipeline (it is added first).
    private var guardHandler: ConnectionGuard?

    func handlerAdded(context: ChannelHandlerContext) {
        guardHandler = try? context.pipeline.syncOperations.handler(type: ConnectionGuard.self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: guardHandler?.requestHead()
        case .end: guardHandler?.requestEnd()
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { guardHandler?.responseEnd() }
        context.write(data, promise: promise)
    }
}
