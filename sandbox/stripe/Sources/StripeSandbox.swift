import Hummingbird
import Logging
import SandboxSupport
import TillCrypto

/// How to run the Stripe-like sandbox.
public struct StripeSandboxConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port.
    public var port: Int
    /// Where events are POSTed.
    public var webhookEndpoints: [String]
    /// The `whsec_…` secret events are signed with; generated when `nil`.
    public var webhookSecret: String?
    public var webhookRetry: WebhookDispatcher.RetryPolicy

    public init(
        host: String = "127.0.0.1", port: Int = 0, webhookEndpoints: [String] = [], webhookSecret: String? = nil,
        webhookRetry: WebhookDispatcher.RetryPolicy = .init()
    ) {
        self.host = host
        self.port = port
        self.webhookEndpoints = webhookEndpoints
        self.webhookSecret = webhookSecret
        self.webhookRetry = webhookRetry
    }
}

/// A running Stripe-like sandbox.
public final class StripeSandboxServer: Sendable {
    public let server: RunningSandbox
    public let environment: SandboxEnvironment
    /// The secret webhooks are signed with.
    public let webhookSecret: String

    init(server: RunningSandbox, environment: SandboxEnvironment, webhookSecret: String) {
        self.server = server
        self.environment = environment
        self.webhookSecret = webhookSecret
    }

    /// `http://host:port`: the base URL to give a Stripe client (`api_base`).
    public var baseURL: String { server.baseURL }
    public var port: Int { server.port }

    public func stop() async { await server.stop() }
}

/// The Stripe-like sandbox gateway.
public enum StripeSandbox {
    /// Starts the sandbox and returns once it listens.
    public static func start(_ configuration: StripeSandboxConfiguration, logger: Logger) async throws
        -> StripeSandboxServer
    {
        let secret = try configuration.webhookSecret ?? "whsec_" + Hex.encode(SecureRandom.bytes(count: 24))
        let environment = try SandboxEnvironment(
            webhookEndpoints: configuration.webhookEndpoints, webhookRetry: configuration.webhookRetry, logger: logger)
        let router = Router(context: SandboxContext.self)
        router.addSandboxAdminRoutes(environment: environment, resetGateway: {})
        let server = try await SandboxServer.start(
            name: "stripe-sandbox", router: router, host: configuration.host, port: configuration.port,
            services: [environment.webhooks], logger: logger)
        return StripeSandboxServer(server: server, environment: environment, webhookSecret: secret)
    }
}
