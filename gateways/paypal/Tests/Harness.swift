import Foundation
import Logging
import PayPalGateway
import PayPalSandbox
import SandboxSupport
import Synchronization
import TillCore
import TillCrypto
import TillGateway
import TillHTTP
import TillTesting

/// A clock the test moves by hand, for token expiry.
final class TestClock: Sendable {
    private let offset = Mutex<TimeInterval>(0)
    var now: Date { Date().addingTimeInterval(offset.withLock { $0 }) }
    func advance(_ seconds: TimeInterval) { offset.withLock { $0 += seconds } }
}

/// A PayPal-like sandbox on a free loopback port, a webhook receiver, and a gateway built
/// through the plugin's factory.
struct Harness {
    let sandbox: PayPalSandboxServer
    let receiver: WebhookReceiver
    let http: HTTPClient
    let gateway: PayPalGateway
    let clock: TestClock

    static let visa = "4242424242424242"

    /// - Parameter options: plugin options over the defaults; an empty value removes one.
    static func start(
        tokenLifetime: Int = 32_400, requestTimeoutMilliseconds: Int = 10_000, options: [String: String] = [:]
    ) async throws -> Harness {
        let receiver = try await WebhookReceiver.start()
        var logger = Logger(label: "paypal-gateway-tests")
        logger.logLevel = .warning
        let sandbox = try await PayPalSandbox.start(
            .init(
                clientID: "client-id", clientSecret: "client-secret", webhookEndpoints: [receiver.url],
                webhookID: "WH-TEST",
                webhookRetry: .init(maxAttempts: 3, initialDelay: .milliseconds(20), maxDelay: .milliseconds(100)),
                behaviorDelay: .milliseconds(50), tokenLifetime: tokenLifetime),
            logger: logger)
        // A fresh client per harness: curl silently resends a request once on a reused
        // connection that died, which would hide a dropped response.
        let http = try HTTPClient(configuration: .init(timeout: .seconds(10)))
        let clock = TestClock()
        // The plugin checks the sandbox's signatures as PayPal's: by certificate, trusting
        // only the sandbox's root and fetching only from the sandbox.
        var settingsOptions = [
            "webhook_id": "WH-TEST", "webhook_ca_pem": sandbox.signing.rootPEM,
            "webhook_cert_hosts": "127.0.0.1:\(sandbox.port)", "webhook_cert_allow_http": "true",
        ]
        settingsOptions.merge(options) { $1 }
        settingsOptions = settingsOptions.filter { !$0.value.isEmpty }
        let settings = GatewaySettings(
            name: "paypal-test", plugin: PayPalPlugin.name, baseURL: sandbox.baseURL,
            credentials: ["client_id": .inline("client-id"), "client_secret": .inline("client-secret")],
            options: settingsOptions,
            connectTimeoutMilliseconds: 2_000, requestTimeoutMilliseconds: requestTimeoutMilliseconds)
        let context = GatewayContext(
            http: http, logger: logger, allowInlineSecrets: true, environment: [:], now: { clock.now })
        let built = try PayPalPlugin.makeGateway(settings, path: "gateways[0]", context: context)
        guard let gateway = built as? PayPalGateway else { throw HarnessError(description: "not a PayPalGateway") }
        return Harness(sandbox: sandbox, receiver: receiver, http: http, gateway: gateway, clock: clock)
    }

    struct HarnessError: Error, CustomStringConvertible { var description: String }

    func stop() async {
        await http.shutdown()
        await sandbox.stop()
        await receiver.stop()
    }

    // MARK: Requests

    static func reference(_ operation: String = "auth") -> TransactionReference {
        let id = UUID().uuidString.lowercased().prefix(12)
        return TransactionReference(
            paymentID: "pay_\(id)", transactionID: "txn_\(operation)_\(id)", idempotencyKey: "idem_\(operation)_\(id)")
    }

    static func usd(_ cents: Int64) -> Money { Money(minorUnits: cents, currency: .usd) }

    static func card(_ number: String = visa, cvc: String? = "123") -> CardDetails {
        CardDetails(
            number: SecureBytes(Array(number.utf8)), expiryMonth: 12, expiryYear: 2035,
            cvc: cvc.map { SecureBytes(Array($0.utf8)) }, holderName: "Ada Lovelace")
    }

    static func authorizeRequest(
        _ amount: Money = usd(1_000), card number: String = visa, reference: TransactionReference = reference()
    ) -> AuthorizeRequest {
        AuthorizeRequest(reference: reference, amount: amount, card: card(number), returnURL: "https://shop.example/return")
    }

    /// Authorizes and returns the result, or throws.
    func authorized(_ amount: Money = usd(1_000), card: String = visa) async throws -> AuthorizationResult {
        let outcome = await gateway.authorize(Self.authorizeRequest(amount, card: card))
        guard case .succeeded(let result) = outcome else { throw HarnessError(description: "authorize: \(outcome)") }
        return result
    }

    func capture(_ auth: AuthorizationResult, _ amount: Money, final: Bool = true, reference: TransactionReference = reference("cap"))
        async -> GatewayOutcome<CaptureResult>
    {
        await gateway.capture(
            CaptureRequest(
                reference: reference, gatewayPaymentReference: auth.gatewayPaymentReference,
                gatewayAuthorizationReference: auth.gatewayAuthorizationReference, amount: amount, isFinal: final))
    }

    func refund(_ auth: AuthorizationResult, capture: String, _ amount: Money, reference: TransactionReference = reference("ref"))
        async -> GatewayOutcome<RefundResult>
    {
        await gateway.refund(
            RefundRequest(
                reference: reference, gatewayPaymentReference: auth.gatewayPaymentReference,
                gatewayCaptureReference: capture, amount: amount))
    }

    // MARK: The sandbox's admin API

    func admin(_ method: HTTPMethod, _ path: String, json: String? = nil) async throws -> [String: Any] {
        let response = try await http.execute(
            HTTPRequest(
                method: method, url: sandbox.baseURL + path, headers: ["Content-Type": "application/json"],
                body: json.map { Array($0.utf8) } ?? (method == .POST ? [] : nil)))
        return (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
    }

    func ledger(payment: String) async throws -> [String] {
        let entries = try await admin(.GET, "/_sandbox/ledger")["data"] as? [[String: Any]] ?? []
        return entries.filter { $0["payment"] as? String == payment }.map { "\($0["kind"] ?? "") \($0["amount"] ?? "")" }
    }

    func fault(_ json: String) async throws { _ = try await admin(.POST, "/_sandbox/faults", json: json) }

    /// Waits for a webhook of `type` and returns it as the gateway would receive it.
    func webhook(_ type: String, about id: String) async throws -> WebhookRequest {
        let received = try await receiver.wait { received in
            guard let json = received.json, json["event_type"] as? String == type,
                let resource = json["resource"] as? [String: Any]
            else { return false }
            return resource["id"] as? String == id || resource["dispute_id"] as? String == id
                || ((resource["disputed_transactions"] as? [[String: Any]])?.first?["seller_transaction_id"] as? String) == id
        }
        return WebhookRequest(headers: received.headers, body: received.body, receivedAt: Date())
    }
}
