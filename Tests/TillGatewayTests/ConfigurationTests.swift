import Foundation
import TillGateway
import TillHTTP
import Logging
import Testing

private func registry() -> GatewayRegistry {
    let registry = GatewayRegistry()
    registry.register(plugin: "scripted") { settings, path, context throws(ConfigurationError) in
        _ = try settings.credential("api_key", path: path, allowInline: context.allowInlineSecrets, environment: context.environment)
        return ScriptedGateway(name: settings.name, outcomes: [])
    }
    return registry
}

private func decode(_ json: String) throws(ConfigurationError) -> GatewaysConfiguration {
    try GatewaysConfiguration.decode(json: Data(json.utf8))
}

@Suite("Gateway configuration")
struct ConfigurationTests {
    let validJSON = """
        {"gateways": [{"name": "main", "plugin": "scripted", "base_url": "https://gw.example",
                       "credentials": {"api_key": {"env": "TILL_TEST_KEY"}}}],
         "routing": {"fallback": ["main"]}}
        """

    @Test("a valid configuration builds its gateways, reading secrets from the environment")
    func valid() throws {
        let configuration = try decode(validJSON)
        let context = GatewayContext(
            http: try HTTPClient(), logger: Logger(label: "test"), environment: ["TILL_TEST_KEY": "k_123"])
        let gateways = try registry().makeGateways(configuration, context: context)
        #expect(gateways.keys.sorted() == ["main"])
    }

    @Test("errors name the field", arguments: [
        (#"{"gateways": [{"plugin": "scripted", "base_url": "https://x"}]}"#, "gateways[0].name"),
        (#"{"gateways": [{"name": "a", "plugin": "scripted", "base_url": 5}]}"#, "gateways[0].base_url"),
        (#"{"gateways": [{"name": "a", "plugin": "nope", "base_url": "https://x"}]}"#, "gateways[0].plugin"),
        (#"{"gateways": [{"name": "a", "plugin": "scripted", "base_url": "ftp://x"}]}"#, "gateways[0].base_url"),
        (#"{"gateways": [{"name": "A B", "plugin": "scripted", "base_url": "https://x"}]}"#, "gateways[0].name"),
        (#"{"gateways": [{"name": "a", "plugin": "scripted", "base_url": "https://x", "request_timeout_ms": 0}]}"#,
         "gateways[0].request_timeout_ms"),
        (#"{"gateways": [{"name": "a", "plugin": "scripted", "base_url": "https://x"}, {"name": "a", "plugin": "scripted", "base_url": "https://y"}]}"#,
         "gateways[1].name"),
        (#"{"gateways": [{"name": "a", "plugin": "scripted", "base_url": "https://x"}], "routing": {"fallback": ["b"]}}"#,
         "routing.fallback[0]"),
        (#"{"gateways": [{"name": "a", "plugin": "scripted", "base_url": "https://x"}], "routing": {"rules": [{"currencies": ["XYZ"], "gateways": ["a"]}]}}"#,
         "routing.rules[0].currencies"),
        (#"{"gateways": [{"name": "a", "plugin": "scripted", "base_url": "https://x"}], "circuit_breaker": {"failure_threshold": 0}}"#,
         "circuit_breaker.failure_threshold"),
        (#"{"gateways": []}"#, "gateways"),
    ])
    func namedErrors(json: String, field: String) {
        do {
            let configuration = try decode(json)
            try configuration.validate(registry: registry())
            Issue.record("expected an error naming \(field)")
        } catch {
            #expect(error.field == field, "\(error)")
        }
    }

    @Test("secrets: missing variables, unreadable files and inline values outside the sandbox are refused")
    func secrets() throws {
        let configuration = try decode(validJSON)
        let context = GatewayContext(http: try HTTPClient(), logger: Logger(label: "test"), environment: [:])
        #expect(throws: ConfigurationError(field: "gateways[0].credentials.api_key", "environment variable TILL_TEST_KEY is not set")) {
            _ = try registry().makeGateways(configuration, context: context)
        }
        let inline = SecretSource.inline("sk_test_1")
        #expect(throws: ConfigurationError.self) { _ = try inline.resolve(field: "f", allowInline: false) }
        #expect(try inline.resolve(field: "f", allowInline: true) == "sk_test_1")
        #expect(throws: ConfigurationError.self) {
            _ = try SecretSource.file("/nonexistent/till-secret").resolve(field: "f", allowInline: false)
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("till-secret-\(UUID().uuidString)")
        try Data("s3cret\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try SecretSource.file(file.path).resolve(field: "f", allowInline: false) == "s3cret")
    }
}
