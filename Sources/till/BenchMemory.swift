import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's memory with many clients connected: `till serve --sandbox` runs as a child
/// process (so the figure is the daemon's alone, not the load generator's), `connections`
/// keep-alive sockets each send a request and stay open, and the child's peak resident set
/// (`VmHWM` in `/proc/<pid>/status`) is read while they are all open.
struct BenchMemory: Sendable, Codable, Hashable {
    var connections: Int
    var connectionsAnswered: Int
    /// Peak resident set after start-up and a few requests, before the connections: the baseline.
    var idlePeakMegabytes: Double
    /// Peak resident set with every connection open and served.
    var peakMegabytes: Double

    static func measure(executable: String, connections: Int, directory: String) async throws -> BenchMemory {
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--sandbox", "--data", directory, "--port", "0"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { stop(process) }

        let port = try await waitForPort(credentials: directory + "/sandbox-credentials.json", process: process)
        for _ in 0..<20 {
            let socket = try Socket.connect(port: port)
            _ = socket.exchange(healthRequest)
            socket.close()
        }
        let idle = try peakResidentMegabytes(pid: process.processIdentifier)

        var sockets: [Socket] = []
        sockets.reserveCapacity(connections)
        defer { for socket in sockets { socket.close() } }
        for _ in 0..<connections { sockets.append(try Socket.connect(port: port)) }
        // Every connection sends before any reads, so the daemon holds all of them busy at once.
        for socket in sockets { socket.send(healthRequest) }
        var answered = 0
        for socket in sockets where socket.receiveAnswer() { answered += 1 }
        let peak = try peakResidentMegabytes(pid: process.processIdentifier)
        return BenchMemory(connections: connections, connectionsAnswered: answered, idlePeakMegabytes: idle, peakMegabytes: peak)
    }

    private static let healthRequest = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)

    private static func waitForPort(credentials path: String, process: Process) async throws -> Int {
        for _ in 0..<600 {
            guard process.isRunning else { throw BenchFailure("`till serve --sandbox` exited with status \(process.terminationStatus)") }
            if let data = FileManager.default.contents(atPath: path),
                let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                let base = object["api_base_url"] as? String, let port = URL(string: base)?.port
            {
                return port
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchFailure("`till serve --sandbox` wrote no \(path) within 30 s")
    }

    private static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<200 where process.isRunning { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// `VmHWM`, the peak resident set size, in MB (10^6 bytes).
    static func peakResidentMegabytes(pid: Int32) throws -> Double {
        let path = "/proc/\(pid)/status"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw BenchFailure("cannot read \(path)") }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kilobytes = Double(fields[1]) { return kilobytes * 1024 / 1e6 }
        }
        throw BenchFailure("no VmHWM line in \(path)")
    }
}

/// A blocking loopback TCP socket with a receive timeout, enough to hold a connection open
/// and read one small answer.
private struct Socket {
    let fd: Int32

    static func connect(port: Int) throws -> Socket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchFailure("socket() failed: errno \(errno)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw BenchFailure("connect to 127.0.0.1:\(port) failed: errno \(code)")
        }
        return Socket(fd: fd)
    }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Reads until the end of the answer's headers plus its (small) body has arrived, or
    /// the timeout; true when an HTTP 200 came back.
    func receiveAnswer() -> Bool {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.count < 65536 {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            received.append(contentsOf: buffer[0..<count])
            let text = String(decoding: received, as: UTF8.self)
            if let headerEnd = text.range(of: "\r\n\r\n") {
                let headers = text[..<headerEnd.lowerBound].lowercased()
                let length = headers.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.distance(from: headerEnd.upperBound, to: text.endIndex) >= length {
                    return text.hasPrefix("HTTP/1.1 200")
                }
            }
        }
        return false
    }

    func exchange(_ bytes: [UInt8]) -> Bool {
        send(bytes)
        return receiveAnswer()
    }

    func close() { Glibc.close(fd) }
}
