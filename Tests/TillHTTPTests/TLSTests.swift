import Foundation
import Testing
import TillHTTP

/// A TLS server from the `openssl` command line tool with a self-signed certificate for
/// 127.0.0.1, generated into a temporary directory.
struct OpenSSLServer {
    static let opensslPath = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    let process: Process
    let directory: URL
    let port: Int
    var certificatePath: String { directory.appendingPathComponent("cert.pem").path }
    var url: String { "https://127.0.0.1:\(port)/" }

    static func start(openssl: String) async throws -> OpenSSLServer {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("till-http-tls-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try await run(openssl, [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", directory.appendingPathComponent("key.pem").path,
            "-out", directory.appendingPathComponent("cert.pem").path,
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ])
        let port = try await TestServer.closedPort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: openssl)
        process.arguments = [
            "s_server", "-accept", "127.0.0.1:\(port)", "-www", "-quiet",
            "-cert", directory.appendingPathComponent("cert.pem").path,
            "-key", directory.appendingPathComponent("key.pem").path,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return OpenSSLServer(process: process, directory: directory, port: port)
    }

    /// SIGKILL, because a child spawned from a pool thread inherits that thread's signal
    /// mask, in which SIGTERM may be blocked.
    func stop() async {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        _ = await Self.exited(process, seconds: 10)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Polls rather than `waitUntilExit()`, which would block a cooperative thread.
    private static func exited(_ process: Process, seconds: Int) async -> Bool {
        await eventually(seconds: seconds) { !process.isRunning }
    }

    private static func run(_ executable: String, _ arguments: [String]) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        guard await exited(process, seconds: 60) else {
            kill(process.processIdentifier, SIGKILL)
            throw OpenSSLFailed(arguments: arguments, status: -1)
        }
        guard process.terminationStatus == 0 else {
            throw OpenSSLFailed(arguments: arguments, status: process.terminationStatus)
        }
    }

    struct OpenSSLFailed: Error {
        let arguments: [String]
        let status: Int32
    }
}

@Suite("TLS verification", .serialized)
struct TLSTests {
    @Test(
        "a self-signed server is refused by default and accepted with its certificate as CA bundle",
        .enabled(if: OpenSSLServer.opensslPath != nil, "needs the openssl command line tool")
    )
    func verification() async throws {
        let openssl = try #require(OpenSSLServer.opensslPath)
        // The port was free when chosen, but parallel tests bind ports too: if another
        // listener took it first, s_server exits, and a new port is tried.
        var started: OpenSSLServer?
        for _ in 0..<5 where started == nil {
            let server = try await OpenSSLServer.start(openssl: openssl)
            if try await Self.listens(server) {
                started = server
            } else {
                await server.stop()
            }
        }
        let server = try #require(started, "openssl s_server did not start")
        do {
            try await check(server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// Waits until s_server answers; an unverified client only serves as a probe here.
    private static func listens(_ server: OpenSSLServer) async throws -> Bool {
        let probe = try HTTPClient(configuration: .init(tls: .init(verifyPeer: false, verifyHost: false)))
        defer { Task { await probe.shutdown() } }
        for _ in 0..<200 {
            guard server.process.isRunning else { return false }
            if let response = try? await bounded({ try await probe.execute(HTTPRequest(url: server.url), timeout: .seconds(5)) }),
                response.status == 200
            {
                return true
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    private func check(_ server: OpenSSLServer) async throws {

        let strict = try HTTPClient()
        let error = try await failure(strict, HTTPRequest(method: .POST, url: server.url, body: [1]))
        #expect(error?.phase == .tls)
        #expect(error?.delivery == .notDelivered)
        await strict.shutdown()

        let trusting = try HTTPClient(configuration: .init(tls: .init(caBundlePath: server.certificatePath)))
        let response = try await bounded { try await trusting.execute(HTTPRequest(url: server.url)) }
        #expect(response.status == 200)
        await trusting.shutdown()

        let missingBundle = try HTTPClient(configuration: .init(tls: .init(caBundlePath: server.directory.appendingPathComponent("absent.pem").path)))
        let bundleError = try await failure(missingBundle, HTTPRequest(url: server.url))
        #expect(bundleError?.phase == .tls)
        #expect(bundleError?.delivery == .notDelivered)
        await missingBundle.shutdown()
    }
}
