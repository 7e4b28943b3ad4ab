import Foundation
import Logging
import Synchronization
import TillHTTP

/// What a plugin gets to build a gateway instance with.
public struct GatewayContext: Sendable {
    /// The shared HTTP client (libcurl; connection reuse across gateways).
    public var http: HTTPClient
    public var logger: Logger
    /// Whether inline secret values are acceptable (the sandbox setup only).
    public var allowInlineSecrets: Bool
    public var environment: [String: String]
    public var now: @Sendable () -> Date

    public init(
        http: HTTPClient, logger: Logger, allowInlineSecrets: Bool = false,
        environment: [String: String] = ProcessInfo.processInfo.environment, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.http = http
        self.logger = logger
        self.allowInlineSecrets = allowInlineSecrets
        self.environment = environment
        self.now = now
    }
}

/// Builds a gateway instance from its settings; `path` names the settings in errors.
public typealias GatewayFactory = @Sendable (
    _ settings: GatewaySettings, _ path: String, _ context: GatewayContext
) throws(ConfigurationError) -> any PaymentGateway

/// The plugins Till knows, by name. A plugin registers one factory; configuration picks
/// plugins by name, so adding a gateway touches nothing in the engine.
public final class GatewayRegistry: Sendable {
    private let factories = Mutex<[String: GatewayFactory]>([:])

    public init() {}

    /// Registers `factory` under `plugin`, replacing any earlier one.
    public func register(plugin: String, factory: @escaping GatewayFactory) {
        factories.withLock { $0[plugin] = factory }
    }

    public var plugins: Set<String> { factories.withLock { Set($0.keys) } }

    /// Builds every configured gateway, by name, after validating the configuration.
    public func makeGateways(
        _ configuration: GatewaysConfiguration, context: GatewayContext
    ) throws(ConfigurationError) -> [String: any PaymentGateway] {
        try configuration.validate(registry: self)
        var gateways: [String: any PaymentGateway] = [:]
        for (index, settings) in configuration.gateways.enumerated() {
            let path = "gateways[\(index)]"
            guard let factory = factories.withLock({ $0[settings.plugin] }) else {
                throw ConfigurationError(field: "\(path).plugin", "unknown plugin \"\(settings.plugin)\"")
            }
            gateways[settings.name] = try factory(settings, path, context)
        }
        return gateways
    }
}
