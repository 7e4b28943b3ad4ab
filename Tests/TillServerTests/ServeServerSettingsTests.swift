import Foundation
import TillTesting
import Testing

@Suite("till serve: the server section and the webhook and limit flags (the built binary)")
struct ServeServerSettingsTests {
    static let gateways =
        #""gateways": [{"name": "stripe", "plugin": "stripe", "base_url": "https://api.stripe.com", "credentials": {"secret_key": {"env": "TILL_TEST_SURELY_UNSET_VARIABLE"}}}]"#

    @Test(
        "a bad server section or flag is refused before anything starts, naming what is wrong",
        .enabled(if: TillProcess.binary != nil, "the till executable is built by `swift build --build-tests`"))
    func refused() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("till-server-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cases: [(server: String, flags: [String], expected: String)] = [
            (#"{"idle_timeout": 5}"#, [], "server.idle_timeout"),
            (#"{"allow_webhook_hosts": ["localhost:9000"]}"#, [], "localhost:9000"),
            (#"{"allow_webhook_hosts": ["127.0.0.1"]}"#, [], "127.0.0.1"),
            (#"{"max_connections": 0}"#, [], "connection limit"),
            (#"{"header_timeout_seconds": -1}"#, [], "header timeout"),
            ("{}", ["--allow-webhook-host", "[::1]"], "[::1]"),
            ("{}", ["--idle-timeout", "0"], "idle timeout"),
            ("{}", ["--max-connections=-5"], "connection limit"),
        ]
        for (index, (server, flags, expected)) in cases.enumerated() {
            let file = directory + "/config-\(index).json"
            try Data("{\(Self.gateways), \"server\": \(server)}".utf8).write(to: URL(fileURLWithPath: file))
            let process = try TillProcess(["serve", "--config", file, "--data", directory + "/data", "--port", "0"] + flags)
            let status = try await process.waitForExit(within: .seconds(60))
            #expect(status != 0)
            #expect(process.errorOutput.contains(expected), "expected \(expected) in: \(process.errorOutput)")
        }
    }
}
