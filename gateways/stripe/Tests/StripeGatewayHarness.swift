import Foundation
import Logging
import SandboxSupport
import StripeGateway
import StripeSandbox
import TillCore
import TillCrypto
import TillGateway
import TillHTTP
import TillTesting

/// A Stripe sandbox on a free loopback port with a webhook receiver, and a gateway built
/// through the plugin's factory from settings, as the daemon would build it.
struct StripeGatewayHarness {
    static let key = "sk_test_stripe_gateway_tests"
    static let webhookSecret = "whsec_stripe_gateway_tests"

    let sandbox: StripeSandboxServer
    let receiver: WebhookReceiver
    let http: HTTPClient
    let gateway: any PaymentGateway

    static var logger: Logger {
        var logger = Logger(label: "stripe-gateway-tests")
        logger.logLevel = .critical
        return logger
    }

    static func settings(
        baseURL: String, requestTimeoutMilliseconds: Int = 10_000, options: [String: String] = [:],
        webhookSecret: SecretSource? = .inline(webhookSecret)
    ) -> GatewaySettings {
        GatewaySettings(
            name: "stripe", plugin: StripePlugin.name, baseURL: baseURL, credentials: ["secret_key": .inline(key)],
            webhookSecret: webhookSecret, options: options, connectTimeoutMilliseconds: 2_000,
            requestTimeoutMilliseconds: requestTimeoutMilliseconds)
    }

    static func makeGateway(_ settings: GatewaySettings, http: HTTPClient) throws -> any PaymentGateway {
        let registry = GatewayRegistry()
        StripePlugin.register(in: registry)
        let configuration = GatewaysConfiguration(gateways: [settings], routing: RoutingTable(rules: [], fallback: []))
        let context = GatewayContext(http: http, logger: logger, allowInlineSecrets: true, environment: [:])
        guard let gateway = try registry.makeGateways(configuration, context: context)[settings.name] else {
            throw HarnessError(description: "the registry built no gateway")
        }
        return gateway
    }

    static func with(_ body: (StripeGatewayHarness) async throws -> Void) async throws {
        let receiver = try await WebhookReceiver.start()
        let sandbox = try await StripeSandbox.start(
            StripeSandboxConfiguration(
                webhookEndpoints: [receiver.url], webhookSecret: webhookSecret,
                webhookRetry: .init(maxAttempts: 3, initialDelay: .milliseconds(20), maxDelay: .milliseconds(100)),
                // Long enough that a test's next call (a refund right after a capture) lands
                // before the delayed dispute, even on a loaded machine.
                behaviorDelay: .milliseconds(400)),
            logger: logger)
        let http = try HTTPClient()
        do {
            let gateway = try makeGateway(settings(baseURL: sandbox.baseURL), http: http)
            try await body(StripeGatewayHarness(sandbox: sandbox, receiver: receiver, http: http, gateway: gateway))
        } catch {
            await http.shutdown()
            await sandbox.stop()
            await receiver.stop()
            throw error
        }
        await http.shutdown()
        await sandbox.stop()
        await receiver.stop()
    }

    /// A gateway on its own fresh HTTP client (no reused connection for curl to resend on).
    func freshGateway(requestTimeoutMilliseconds: Int = 10_000, baseURL: String? = nil) throws -> (any PaymentGateway, HTTPClient) {
        let client = try HTTPClient()
        let gateway = try Self.makeGateway(
            Self.settings(baseURL: baseURL ?? sandbox.baseURL, requestTimeoutMilliseconds: requestTimeoutMilliseconds),
            http: client)
        return (gateway, client)
    }

    var ledger: [LedgerEntry] { sandbox.environment.ledger.all }

    func addFault(_ rule: FaultRule) { sandbox.environment.faults.add(rule) }

    /// Polls until `check` holds (the sandbox's delayed behaviours run on its own timer).
    func eventually(_ what: String, timeout: Duration = .seconds(10), _ check: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !check() {
            guard ContinuousClock.now < deadline else { throw HarnessError(description: "timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

struct HarnessError: Error, CustomStringConvertible { var description: String }

enum Fixtures {
    static let usd = Currency.usd

    static func money(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: .usd) }

    static func card(_ number: String, cvc: String? = "123") -> CardDetails {
        CardDetails(
            number: SecureBytes(Array(number.utf8)), expiryMonth: 12,
            expiryYear: Calendar.current.component(.year, from: Date()) + 3, cvc: cvc.map { SecureBytes(Array($0.utf8)) })
    }

    static func reference(_ operation: String = "authorize", payment: String = "pay_" + random()) -> TransactionReference {
        TransactionReference(
            paymentID: payment, transactionID: "txn_" + random(), idempotencyKey: "\(payment):\(operation):\(random())")
    }

    static func random() -> String { String(UInt64.random(in: 0...UInt64.max), radix: 36) }

    static func authorize(
        _ number: String = "4242424242424242", amount: Int64 = 5_000, mode: CaptureMode = .manual,
        reference: TransactionReference = reference()
    ) -> AuthorizeRequest {
        AuthorizeRequest(
            reference: reference, amount: money(amount), card: card(number), captureMode: mode,
            metadata: ["order": "A-17"], returnURL: "https://shop.example/return")
    }
}
