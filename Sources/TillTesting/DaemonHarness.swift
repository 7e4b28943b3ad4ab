import Foundation
import Logging
import PayPalSandbox
import SandboxSupport
import StripeSandbox
import TillGateway
import TillHTTP
import TillServer
import TillStore

/// Both sandbox gateways and the daemon, in this process, on free loopback ports, with a
/// fresh data directory, one merchant and its keys; the sandboxes' webhooks go to the
/// daemon's webhook route. Every call is real HTTP.
public final class DaemonHarness: Sendable {
    public let stripe: StripeSandboxServer
    public let paypal: PayPalSandboxServer
    public let daemon: RunningDaemon
    public let merchantID: String
    public let secretKey: String
    public let publishableKey: String
    public let dataDirectory: String
    public let http: HTTPClient

    private init(
        stripe: StripeSandboxServer, paypal: PayPalSandboxServer, daemon: RunningDaemon, merchant: Merchants.Created,
        dataDirectory: String, http: HTTPClient
    ) {
        self.stripe = stripe
        self.paypal = paypal
        self.daemon = daemon
        self.merchantID = merchant.merchant.id
        self.secretKey = merchant.secretKey
        self.publishableKey = merchant.publishableKey
        self.dataDirectory = dataDirectory
        self.http = http
    }

    /// Starts everything. `routing` replaces the default (Stripe first, PayPal fallback).
    /// `logFile`, if given, receives every log line at `logLevel` and above.
    public static func start(
        routing: RoutingTable? = nil, reconcileInterval: Duration = .seconds(30), logLevel: Logger.Level = .critical,
        logFile: String? = nil, serverLimits: ServerLimits = ServerLimits(),
        authFailureLimit: AuthenticationThrottle.Limit = .unlimited, connectPayPalWebhooks: Bool = true
    ) async throws -> DaemonHarness {
        var logger =
            logFile.map { Logger(label: "till.testing.daemon", factory: FileLogHandler.factory(path: $0)) }
            ?? Logger(label: "till.testing.daemon")
        logger.logLevel = logLevel
        let quick = Duration.milliseconds(200)
        let retry = WebhookDispatcher.RetryPolicy(maxAttempts: 5, initialDelay: .milliseconds(50), maxDelay: .milliseconds(500))
        let stripe = try await StripeSandbox.start(.init(webhookRetry: retry, behaviorDelay: quick), logger: logger)
        let paypal = try await PayPalSandbox.start(.init(webhookRetry: retry, behaviorDelay: quick), logger: logger)
        var gateways = BuiltInGateways.sandboxConfiguration(
            stripeURL: stripe.baseURL, stripeWebhookSecret: stripe.webhookSecret, paypalURL: paypal.baseURL,
            paypalClientID: paypal.clientID, paypalClientSecret: paypal.clientSecret, paypalWebhookID: paypal.webhookID,
            paypalWebhookCA: paypal.signing.rootPEM)
        if let routing { gateways.routing = routing }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("till-daemon-\(UUID().uuidString)", isDirectory: true).path
        var configuration = DaemonConfiguration(
            dataDirectory: directory, port: 0, gateways: gateways, allowInlineSecrets: true,
            reconcileInterval: reconcileInterval, environment: [:], sandbox: true,
            authFailureLimit: authFailureLimit)
        // The sandbox setup: plain http; loopback only where a test allows it (``allowWebhooks(to:)``).
        configuration.webhookPolicy = WebhookURLPolicy(allowsPlainHTTP: true)
        configuration.serverLimits = serverLimits
        let daemon = try await Daemon.start(configuration, registry: BuiltInGateways.registry(), logger: logger)
        let merchant = try await Merchants.create(name: "Test Shop", in: daemon.server.store, audit: daemon.server.audit)
        let http = try HTTPClient()
        let stripeAdmin = SandboxAdmin(baseURL: stripe.baseURL, client: http)
        let paypalAdmin = SandboxAdmin(baseURL: paypal.baseURL, client: http)
        try await stripeAdmin.addWebhookEndpoint(daemon.baseURL + "/v1/gateways/stripe/webhooks")
        // A test that plays the attacker holding a delivery the daemon never saw leaves
        // PayPal's webhooks unconnected.
        if connectPayPalWebhooks {
            try await paypalAdmin.addWebhookEndpoint(daemon.baseURL + "/v1/gateways/paypal/webhooks")
        }
        return DaemonHarness(
            stripe: stripe, paypal: paypal, daemon: daemon, merchant: merchant, dataDirectory: directory, http: http)
    }

    /// Runs `body` against a fresh harness and stops it afterwards, whether `body` throws
    /// or not.
    public static func with<T>(
        routing: RoutingTable? = nil, reconcileInterval: Duration = .seconds(30), serverLimits: ServerLimits = ServerLimits(),
        _ body: (DaemonHarness) async throws -> T
    ) async throws -> T {
        let harness = try await start(routing: routing, reconcileInterval: reconcileInterval, serverLimits: serverLimits)
        do {
            let value = try await body(harness)
            await harness.stop()
            return value
        } catch {
            await harness.stop()
            throw error
        }
    }

    /// The daemon's base URL.
    public var baseURL: String { daemon.baseURL }

    /// Puts `endpoint` on the daemon's webhook allow-list, as an operator's
    /// `--allow-webhook-host` would: test receivers listen on loopback, which is refused otherwise.
    public func allowWebhooks(to endpoint: SocketEndpoint) {
        daemon.server.webhookDestinations.allow(endpoint)
    }

    /// Allows the receiver's address; see ``allowWebhooks(to:)-(SocketEndpoint)``.
    public func allowWebhooks(to receiver: WebhookReceiver) {
        if let endpoint = receiver.socketEndpoint { allowWebhooks(to: endpoint) }
    }

    public var stripeAdmin: SandboxAdmin { SandboxAdmin(baseURL: stripe.baseURL, client: http) }
    public var paypalAdmin: SandboxAdmin { SandboxAdmin(baseURL: paypal.baseURL, client: http) }

    /// An API answer.
    public struct Answer: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: [UInt8]

        /// The body as a JSON object (empty if it is not one).
        public var json: [String: Any] {
            ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:]
        }

        public var text: String { String(decoding: body, as: UTF8.self) }

        /// `error.code` of an error answer.
        public var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    }

    /// Calls the API. `key` defaults to the merchant's secret key; pass `""` for none.
    public func call(
        _ method: HTTPMethod, _ path: String, json: String? = nil, key: String? = nil, headers: [String: String] = [:]
    ) async throws -> Answer {
        var fields: HTTPHeaders = [:]
        let key = key ?? secretKey
        if !key.isEmpty { fields.add(name: "Authorization", value: "Bearer \(key)") }
        if json != nil { fields.add(name: "Content-Type", value: "application/json") }
        for (name, value) in headers { fields.add(name: name, value: value) }
        let response = try await http.execute(
            HTTPRequest(method: method, url: baseURL + path, headers: fields, body: json.map { Array($0.utf8) }))
        return Answer(status: response.status, headers: response.headers, body: response.body)
    }

    /// Calls the API with `bytes` as the body, sent as they are, with `contentType` (none
    /// if `nil`): for bodies `call` cannot make (UTF-16, a byte order mark, another media type).
    public func send(
        _ method: HTTPMethod, _ path: String, bytes: [UInt8], contentType: String?, key: String? = nil,
        headers: [String: String] = [:]
    ) async throws -> Answer {
        var fields: HTTPHeaders = [:]
        let key = key ?? secretKey
        if !key.isEmpty { fields.add(name: "Authorization", value: "Bearer \(key)") }
        if let contentType { fields.add(name: "Content-Type", value: contentType) }
        for (name, value) in headers { fields.add(name: name, value: value) }
        let response = try await http.execute(HTTPRequest(method: method, url: baseURL + path, headers: fields, body: bytes))
        return Answer(status: response.status, headers: response.headers, body: response.body)
    }

    /// Tokenizes a card with the publishable key; returns the token id.
    public func tokenize(_ number: String = "4242424242424242", cvc: String = "123") async throws -> String {
        let answer = try await call(
            .POST, "/v1/tokens",
            json: #"{"card": {"number": "\#(number)", "exp_month": 12, "exp_year": 2034, "cvc": "\#(cvc)", "name": "Test Buyer"}}"#,
            key: publishableKey)
        guard answer.status == 201, let id = answer.json["id"] as? String else {
            throw SandboxAdmin.Failure(description: "tokenizing failed: HTTP \(answer.status) \(answer.text)")
        }
        return id
    }

    public func stop() async {
        await daemon.stop()
        await stripe.stop()
        await paypal.stop()
        await http.shutdown()
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }
}
