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
    /// How long delayed behaviours wait: a pending refund settling, a refund failing after
    /// it succeeded, a dispute arriving after capture, a dispute decided after evidence.
    public var behaviorDelay: Duration

    public init(
        host: String = "127.0.0.1", port: Int = 0, webhookEndpoints: [String] = [], webhookSecret: String? = nil,
        webhookRetry: WebhookDispatcher.RetryPolicy = .init(), behaviorDelay: Duration = .seconds(1)
    ) {
        self.host = host
        self.port = port
        self.webhookEndpoints = webhookEndpoints
        self.webhookSecret = webhookSecret
        self.webhookRetry = webhookRetry
        self.behaviorDelay = behaviorDelay
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

/// The Stripe-like sandbox gateway: PaymentIntents, Charges, Refunds, Disputes, Events and
/// card PaymentMethods over Stripe's REST dialect, so that Stripe's own client libraries work
/// against it unchanged but for the base URL. See `sandbox/README.md` for the test cards and
/// the admin routes (`/_sandbox/disputes`, `/_sandbox/3ds/{id}`, …).
public enum StripeSandbox {
    /// Starts the sandbox and returns once it listens.
    public static func start(_ configuration: StripeSandboxConfiguration, logger: Logger) async throws
        -> StripeSandboxServer
    {
        let secret = try configuration.webhookSecret ?? "whsec_" + Hex.encode(SecureRandom.bytes(count: 24))
        let environment = try SandboxEnvironment(
            webhookEndpoints: configuration.webhookEndpoints, webhookRetry: configuration.webhookRetry, logger: logger)
        let work = DelayedWork()
        let gateway = StripeGateway(
            environment: environment, work: work, delay: configuration.behaviorDelay, webhookSecret: secret)
        let router = Router(context: SandboxContext.self)
        StripeRoutes(gateway: gateway, environment: environment).install(on: router)
        let server = try await SandboxServer.start(
            name: "stripe-sandbox", router: router, host: configuration.host, port: configuration.port,
            services: [environment.webhooks, work], logger: logger)
        return StripeSandboxServer(server: server, environment: environment, webhookSecret: secret)
    }
}
