import Dispatch
import Foundation
import TillServer
import TillTesting
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The daemon's HTTP server closes slow and idle clients and caps its connections. Limits are
/// tiny (1 s) and waits generous (20 s): the tests say "closed eventually, and for this
/// reason" (the other limits are far longer than the wait), never "closed after exactly".
@Suite("HTTP server timeouts and connection cap")
struct ServerLimitsTests {
    static let long = Duration.seconds(120)
    static let wait = Duration.seconds(20)

    @Test("a half-sent request head is closed after the header timeout")
    func halfSentHeader() async throws {
        let limits = ServerLimits(idleTimeout: Self.long, headerTimeout: .seconds(1), bodyTimeout: Self.long)
        try await DaemonHarness.with(serverLimits: limits) { harness in
            let socket = try RawSocket(port: harness.daemon.port)
            socket.send("GET /healthz HTTP/1.1\r\nHost: till.test\r\nX-Slow: ")
            #expect(await socket.waitUntilClosed(within: Self.wait))
        }
    }

    @Test("an idle connection is closed after the idle timeout, fresh or after a request")
    func idle() async throws {
        let limits = ServerLimits(idleTimeout: .seconds(1), headerTimeout: Self.long, bodyTimeout: Self.long)
        try await DaemonHarness.with(serverLimits: limits) { harness in
            let fresh = try RawSocket(port: harness.daemon.port)
            let used = try RawSocket(port: harness.daemon.port)
            used.send("GET /healthz HTTP/1.1\r\nHost: till.test\r\n\r\n")
            #expect(await used.readResponseHead(within: Self.wait)?.hasPrefix("HTTP/1.1 200") == true)
            #expect(await used.waitUntilClosed(within: Self.wait))
            #expect(await fresh.waitUntilClosed(within: Self.wait))
        }
    }

    @Test("a request body that stops arriving is closed after the body timeout")
    func slowBody() async throws {
        let limits = ServerLimits(idleTimeout: Self.long, headerTimeout: Self.long, bodyTimeout: .seconds(1))
        try await DaemonHarness.with(serverLimits: limits) { harness in
            let socket = try RawSocket(port: harness.daemon.port)
            socket.send(
                "POST /v1/payments HTTP/1.1\r\nHost: till.test\r\nAuthorization: Bearer \(harness.secretKey)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"amount\":")
            #expect(await socket.waitUntilClosed(within: Self.wait))
        }
    }

    @Test("a connection that keeps working is not cut by the idle timeout")
    func busyConnectionStays() async throws {
        let limits = ServerLimits(idleTimeout: .seconds(2), headerTimeout: .seconds(2), bodyTimeout: .seconds(2))
        try await DaemonHarness.with(serverLimits: limits) { harness in
            let socket = try RawSocket(port: harness.daemon.port)
            // Bounded: eight requests, well inside each limit of one another; the whole run
            // outlasts the idle timeout, so a connection-lifetime timer would have cut it.
            for _ in 0..<8 {
                socket.send("GET /healthz HTTP/1.1\r\nHost: till.test\r\n\r\n")
                #expect(await socket.readResponseHead(within: Self.wait)?.hasPrefix("HTTP/1.1 200") == true)
                try await Task.sleep(for: .milliseconds(400))
            }
        }
    }

    @Test("connections beyond the cap are closed at once; a freed slot is reused")
    func connectionCap() async throws {
        try await DaemonHarness.with(serverLimits: ServerLimits(maxConnections: 2)) { harness in
            let port = harness.daemon.port
            let first = try RawSocket(port: port)
            let second = try RawSocket(port: port)
            for socket in [first, second] {
                socket.send("GET /healthz HTTP/1.1\r\nHost: till.test\r\n\r\n")
                #expect(await socket.readResponseHead(within: Self.wait)?.hasPrefix("HTTP/1.1 200") == true)
            }
            let third = try RawSocket(port: port)
            third.send("GET /healthz HTTP/1.1\r\nHost: till.test\r\n\r\n")
            #expect(await third.readResponseHead(within: Self.wait) == nil)
            #expect(await third.waitUntilClosed(within: Self.wait))
            // The two held connections still work.
            second.send("GET /healthz HTTP/1.1\r\nHost: till.test\r\n\r\n")
            #expect(await second.readResponseHead(within: Self.wait)?.hasPrefix("HTTP/1.1 200") == true)

            first.close()
            // The slot frees once the server has seen the close: a bounded number of tries.
            var served = false
            for _ in 0..<50 where !served {
                let next = try RawSocket(port: port)
                next.send("GET /healthz HTTP/1.1\r\nHost: till.test\r\n\r\n")
                served = await next.readResponseHead(within: .seconds(5))?.hasPrefix("HTTP/1.1 200") == true
                if !served { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(served)
        }
    }
}

/// A blocking TCP client on 127.0.0.1, for sending exactly the bytes a test wants. Its
/// waits run on a Dispatch queue, not on the tasks' cooperative threads: blocking those would
/// stall the daemon under test, whose handlers need them. One test uses one socket at a time,
/// hence `@unchecked Sendable`.
final class RawSocket: @unchecked Sendable {
    struct ConnectFailed: Error {}

    private var fd: Int32
    private var buffered: [UInt8] = []

    init(port: Int) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw ConnectFailed() }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            Glibc.close(fd)
            throw ConnectFailed()
        }
    }

    deinit { close() }

    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    private enum ReadResult { case bytes, closed, timedOut }

    /// One read of what is there, waiting at most until `deadline`.
    private func readSome(until deadline: ContinuousClock.Instant) -> ReadResult {
        while ContinuousClock.now < deadline {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 100) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return .closed }
            buffered += chunk.prefix(count)
            return .bytes
        }
        return .timedOut
    }

    /// True if the server closes the connection within `limit` (whatever it sent first).
    func waitUntilClosed(within limit: Duration) async -> Bool {
        await offThePool { $0.blockingWaitUntilClosed(within: limit) }
    }

    /// The status line and headers of the next response (its body skipped by its
    /// Content-Length); `nil` if none came within `limit` or the connection closed first.
    func readResponseHead(within limit: Duration) async -> String? {
        await offThePool { $0.blockingReadResponseHead(within: limit) }
    }

    private func offThePool<T: Sendable>(_ body: @escaping @Sendable (RawSocket) -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: body(self)) }
        }
    }

    private func blockingWaitUntilClosed(within limit: Duration) -> Bool {
        let deadline = ContinuousClock.now + limit
        while true {
            switch readSome(until: deadline) {
            case .closed: return true
            case .timedOut: return false
            case .bytes: buffered = []
            }
        }
    }

    private func blockingReadResponseHead(within limit: Duration) -> String? {
        let deadline = ContinuousClock.now + limit
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        while true {
            if let end = buffered.firstRange(of: separator) {
                let head = String(decoding: buffered[..<end.lowerBound], as: UTF8.self)
                let length = head.split(separator: "\r\n").compactMap { line -> Int? in
                    let parts = line.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                    return Int(parts[1].trimmingCharacters(in: .whitespaces))
                }.first ?? 0
                while buffered.count < end.upperBound + length {
                    guard readSome(until: deadline) == .bytes else { return nil }
                }
                buffered.removeFirst(end.upperBound + length)
                return head
            }
            guard readSome(until: deadline) == .bytes else { return nil }
        }
    }
}
