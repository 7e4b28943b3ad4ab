import Foundation
import Logging
import PayPalGateway
import PayPalSandbox
import StripeGateway
import StripeSandbox
import Synchronization
import TillGateway
import TillServer
import TillHTTP

/// A gateway plugin wired to its own sandbox on a free loopback port, with a webhook
/// receiver: what the contract kit runs every plugin against.
public final class GatewayHarness: Sendable {
    /// The plugins the kit knows.
    public enum Plugin: String, CaseIterable, Sendable, CustomStringConvertible {
        case stripe, paypal

        public var description: String { rawValue }
    }

    public let plugin: Plugin
    /// The plugin's gateway, pointed at the sandbox.
    public let gateway: any PaymentGateway
    /// The sandbox's admin API.
    public let admin: SandboxAdmin
    /// Where the sandbox sends its webhooks.
    public let webhooks: WebhookReceiver
    /// The path the plugin POSTs to when it authorizes (for fault rules).
    public let authorizePath: String

    private let settings: GatewaySettings
    private let registry: GatewayRegistry
    private let clients: Mutex<[HTTPClient]>
    private let stopSandbox: @Sendable () async -> Void

    private init(
        plugin: Plugin, gateway: any PaymentGateway, admin: SandboxAdmin, webhooks: WebhookReceiver,
        authorizePath: String, settings: GatewaySettings, registry: GatewayRegistry, clients: [HTTPClient],
        stopSandbox: @escaping @Sendable () async -> Void
    ) {
        self.plugin = plugin
        self.gateway = gateway
        self.admin = admin
        self.webhooks = webhooks
        self.authorizePath = authorizePath
        self.settings = settings
        self.registry = registry
        self.clients = Mutex(clients)
        self.stopSandbox = stopSandbox
    }

    /// Starts `plugin`'s sandbox and builds the plugin's gateway through the registry, as
    /// the daemon would.
    public static func start(_ plugin: Plugin) async throws -> GatewayHarness {
        var logger = Logger(label: "till.testing.\(plugin)")
        logger.logLevel = .critical
        let webhooks = try await WebhookReceiver.start()
        let registry = GatewayRegistry()
        StripePlugin.register(in: registry)
        PayPalPlugin.register(in: registry)
        let quick = Duration.milliseconds(50)

        let settings: GatewaySettings
        let stop: @Sendable () async -> Void
        let authorizePath: String
        switch plugin {
        case .stripe:
            let sandbox = try await StripeSandbox.start(
                .init(webhookEndpoints: [webhooks.url], behaviorDelay: quick), logger: logger)
            settings = GatewaySettings(
                name: "stripe", plugin: StripePlugin.name, baseURL: sandbox.baseURL,
                credentials: ["secret_key": .inline("sk_test_contract_kit")],
                webhookSecret: .inline(sandbox.webhookSecret))
            stop = { await sandbox.stop() }
            authorizePath = "/v1/payment_intents"
        case .paypal:
            let sandbox = try await PayPalSandbox.start(
                .init(webhookEndpoints: [webhooks.url], behaviorDelay: quick), logger: logger)
            settings = GatewaySettings(
                name: "paypal", plugin: PayPalPlugin.name, baseURL: sandbox.baseURL,
                credentials: [
                    "client_id": .inline(sandbox.clientID), "client_secret": .inline(sandbox.clientSecret),
                ],
                options: BuiltInGateways.paypalSandboxOptions(
                    url: sandbox.baseURL, webhookID: sandbox.webhookID, webhookCA: sandbox.signing.rootPEM))
            stop = { await sandbox.stop() }
            authorizePath = "/v2/checkout/orders"
        }
        let client = try HTTPClient()
        let gateway = try Self.build(settings, registry: registry, client: client, logger: logger)
        return GatewayHarness(
            plugin: plugin, gateway: gateway, admin: SandboxAdmin(baseURL: settings.baseURL, client: client),
            webhooks: webhooks, authorizePath: authorizePath, settings: settings, registry: registry, clients: [client],
            stopSandbox: stop)
    }

    /// Another instance of the same plugin with its own HTTP client (so no connection is
    /// reused: curl silently re-sends a request when a reused connection dies), optionally
    /// pointed elsewhere or with a shorter request timeout.
    public func makeGateway(
        name: String? = nil, baseURL: String? = nil, requestTimeoutMilliseconds: Int? = nil
    ) throws -> any PaymentGateway {
        var settings = self.settings
        if let name { settings.name = name }
        if let baseURL { settings.baseURL = baseURL }
        if let requestTimeoutMilliseconds { settings.requestTimeoutMilliseconds = requestTimeoutMilliseconds }
        settings.connectTimeoutMilliseconds = min(settings.connectTimeoutMilliseconds, 2_000)
        let client = try HTTPClient()
        clients.withLock { $0.append(client) }
        var logger = Logger(label: "till.testing.\(plugin)")
        logger.logLevel = .critical
        return try Self.build(settings, registry: registry, client: client, logger: logger)
    }

    private static func build(
        _ settings: GatewaySettings, registry: GatewayRegistry, client: HTTPClient, logger: Logger
    ) throws -> any PaymentGateway {
        let configuration = GatewaysConfiguration(
            gateways: [settings], routing: RoutingTable(rules: [], fallback: [settings.name]))
        let context = GatewayContext(http: client, logger: logger, allowInlineSecrets: true)
        guard let gateway = try registry.makeGateways(configuration, context: context)[settings.name] else {
            throw SandboxAdmin.Failure(description: "the registry built no gateway named \(settings.name)")
        }
        return gateway
    }

    public func stop() async {
        for client in clients.withLock({ $0 }) { await client.shutdown() }
        await stopSandbox()
        await webhooks.stop()
    }
}

/// Loopback ports for failure tests.
public enum LoopbackPort {
    /// A port on 127.0.0.1 that was free a moment ago and has nothing listening: connecting
    /// to it is refused.
    public static func closed() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SandboxAdmin.Failure(description: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw SandboxAdmin.Failure(description: "bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw SandboxAdmin.Failure(description: "getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
