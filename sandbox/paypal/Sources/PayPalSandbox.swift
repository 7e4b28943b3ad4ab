import Hummingbird
import Logging
import SandboxSupport
import Synchronization
import TillCrypto

/// How to run the PayPal-like sandbox.
public struct PayPalSandboxConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port.
    public var port: Int
    /// The OAuth2 client credentials the sandbox accepts; generated when `nil`.
    public var clientID: String?
    public var clientSecret: String?
    /// Where events are POSTed.
    public var webhookEndpoints: [String]
    /// The id of the (one) webhook registration events are sent for; generated when `nil`.
    public var webhookID: String?
    /// The certificate authority webhooks are signed under; `nil` shares one generated per
    /// process (pass one to make a sandbox whose certificates another does not trust).
    public var signing: PayPalSigningAuthority?
    public var webhookRetry: WebhookDispatcher.RetryPolicy
    /// How long after the call that causes them delayed behaviours happen: a pending refund
    /// completing, a refund failing, a test card's dispute opening after capture.
    public var behaviorDelay: Duration
    /// Lifetime of OAuth access tokens (`expires_in`), in seconds of the sandbox clock.
    public var tokenLifetime: Int

    public init(
        host: String = "127.0.0.1", port: Int = 0, clientID: String? = nil, clientSecret: String? = nil,
        webhookEndpoints: [String] = [], webhookID: String? = nil, signing: PayPalSigningAuthority? = nil,
        webhookRetry: WebhookDispatcher.RetryPolicy = .init(), behaviorDelay: Duration = .seconds(1),
        tokenLifetime: Int = 32_400
    ) {
        self.behaviorDelay = behaviorDelay
        self.tokenLifetime = max(1, tokenLifetime)
        self.host = host
        self.port = port
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.webhookEndpoints = webhookEndpoints
        self.webhookID = webhookID
        self.signing = signing
        self.webhookRetry = webhookRetry
    }
}

/// A running PayPal-like sandbox.
public final class PayPalSandboxServer: Sendable {
    public let server: RunningSandbox
    public let environment: SandboxEnvironment
    public let clientID: String
    public let clientSecret: String
    public let webhookID: String
    /// Whose certificates sign the webhooks: trust ``PayPalSigningAuthority/root``.
    public let signing: PayPalSigningAuthority

    init(
        server: RunningSandbox, environment: SandboxEnvironment, clientID: String, clientSecret: String,
        webhookID: String, signing: PayPalSigningAuthority
    ) {
        self.server = server
        self.environment = environment
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.webhookID = webhookID
        self.signing = signing
    }

    /// `http://host:port`: the base URL to give a PayPal client.
    public var baseURL: String { server.baseURL }
    public var port: Int { server.port }
    /// `host:port`, the authority of the certificate URLs, for an allow-list.
    public var authority: String { "\(server.host):\(server.port)" }

    public func stop() async { await server.stop() }
}

/// The PayPal-like sandbox gateway.
public enum PayPalSandbox {
    /// Starts the sandbox and returns once it listens.
    public static func start(_ configuration: PayPalSandboxConfiguration, logger: Logger) async throws
        -> PayPalSandboxServer
    {
        func generated(_ prefix: String, _ bytes: Int) throws -> String {
            try prefix + Hex.encode(SecureRandom.bytes(count: bytes))
        }
        let clientID = try configuration.clientID ?? generated("sandbox-client-", 12)
        let clientSecret = try configuration.clientSecret ?? generated("", 24)
        let webhookID = try configuration.webhookID ?? generated("WH-", 10).uppercased()
        let signing = try configuration.signing ?? PayPalSigningAuthority.processWide ?? PayPalSigningAuthority.generate()
        let environment = try SandboxEnvironment(
            webhookEndpoints: configuration.webhookEndpoints, webhookRetry: configuration.webhookRetry, logger: logger)
        let gateway = PayPalGateway(
            environment: environment, webhookID: webhookID, signing: signing,
            behaviorDelay: configuration.behaviorDelay)
        let api = PayPalAPI(
            gateway: gateway, clientID: clientID, clientSecret: clientSecret, tokenLifetime: configuration.tokenLifetime)
        let router = Router(context: SandboxContext.self)
        router.add(
            middleware: FaultMiddleware(faults: environment.faults) { status in
                PayPalError.internalError(status: status.code).response
            })
        router.add(middleware: PayPalNotFoundMiddleware())
        api.addRoutes(to: router)
        api.addAdminRoutes(to: router)
        router.addSandboxAdminRoutes(environment: environment, resetGateway: { gateway.reset() })
        let server = try await SandboxServer.start(
            name: "paypal-sandbox", router: router, host: configuration.host, port: configuration.port,
            services: [environment.webhooks, gateway.scheduler], logger: logger)
        gateway.base.withLock { $0 = server.baseURL }
        return PayPalSandboxServer(
            server: server, environment: environment, clientID: clientID, clientSecret: clientSecret,
            webhookID: webhookID, signing: signing)
    }
}
