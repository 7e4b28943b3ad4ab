import NIOCore
import NIOHTTP1

/// Serves one connection of ``TestServer``; see its routes.
final class TestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let events: ServerEvents
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var streaming = false

    init(events: ServerEvents) {
        self.events = events
    }

    func channelInactive(context: ChannelHandlerContext) {
        if streaming {
            streaming = false
            events.update { $0.streamsEnded += 1 }
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            guard let head else { return }
            events.update { $0.requests += 1 }
            route(context: context, head: head)
        }
    }

    private func route(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let (path, query) = Self.split(head.uri)
        switch path {
        case "/echo":
            var headers = HTTPHeaders()
            headers.add(name: "x-method", value: head.method.rawValue)
            for (name, value) in head.headers {
                headers.add(name: "x-echo-\(name.lowercased())", value: value)
            }
            headers.add(name: "x-multi", value: "one")
            headers.add(name: "X-Multi", value: "two")
            respond(context: context, headers: headers, body: body)
        case "/delay":
            let milliseconds = Int64(query["ms"] ?? "0") ?? 0
            let id = query["id"] ?? ""
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(milliseconds)) {
                self.respond(context: context, headers: HTTPHeaders(), body: ByteBuffer(string: id))
            }
        case "/drop":
            context.close(promise: nil)
        case "/partial":
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: "1000")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "0123456789")))), promise: nil)
            context.close(promise: nil)
        case "/stream":
            streaming = true
            events.update { $0.streamsStarted += 1 }
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok))), promise: nil)
            streamChunk(context: context)
        case "/bytes":
            let count = Int(query["n"] ?? "0") ?? 0
            respond(context: context, headers: HTTPHeaders(), body: ByteBuffer(repeating: UInt8(ascii: "x"), count: count))
        default:
            respond(context: context, status: .notFound, headers: HTTPHeaders(), body: ByteBuffer(string: "no route \(path)"))
        }
    }

    private func streamChunk(context: ChannelHandlerContext) {
        guard streaming, context.channel.isActive else { return }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "chunk\n")))), promise: nil)
        context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(20)) {
            self.streamChunk(context: context)
        }
    }

    private func respond(
        context: ChannelHandlerContext,
        status: HTTPResponseStatus = .ok,
        headers: HTTPHeaders,
        body: ByteBuffer
    ) {
        guard context.channel.isActive else { return }
        var headers = headers
        headers.add(name: "content-length", value: "\(body.readableBytes)")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private static func split(_ uri: String) -> (String, [String: String]) {
        let parts = uri.split(separator: "?", maxSplits: 1)
        let path = parts.first.map(String.init) ?? uri
        var query: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1)
                if keyValue.count == 2 { query[String(keyValue[0])] = String(keyValue[1]) }
            }
        }
        return (path, query)
    }
}
