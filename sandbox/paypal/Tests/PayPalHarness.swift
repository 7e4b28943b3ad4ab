import Foundation
import Logging
import PayPalSandbox
import SandboxSupport
import TillHTTP
import TillTesting

/// A PayPal-like sandbox on a free loopback port, a webhook receiver, and a client with an
/// access token; stop it with ``stop()``.
struct PayPalHarness {
    let sandbox: PayPalSandboxServer
    let receiver: WebhookReceiver
    let client: HTTPClient
    var token: String

    static let visa = "4242424242424242"

    static func start(tokenLifetime: Int = 32_400) async throws -> PayPalHarness {
        let receiver = try await WebhookReceiver.start()
        var logger = Logger(label: "paypal-sandbox-tests")
        logger.logLevel = .warning
        let sandbox = try await PayPalSandbox.start(
            .init(
                clientID: "client-id", clientSecret: "client-secret", webhookEndpoints: [receiver.url],
                webhookID: "WH-TEST",
                webhookRetry: .init(maxAttempts: 4, initialDelay: .milliseconds(20), maxDelay: .milliseconds(100)),
                behaviorDelay: .milliseconds(50), tokenLifetime: tokenLifetime),
            logger: logger)
        let client = try HTTPClient(configuration: .init(timeout: .seconds(10)))
        var harness = PayPalHarness(sandbox: sandbox, receiver: receiver, client: client, token: "")
        let response = try await harness.tokenRequest(id: "client-id", secret: "client-secret")
        harness.token = response.json["access_token"] as? String ?? ""
        return harness
    }

    func stop() async {
        await client.shutdown()
        await sandbox.stop()
        await receiver.stop()
    }

    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        var issue: String? { (json["details"] as? [[String: Any]])?.first?["issue"] as? String }
    }

    func tokenRequest(id: String, secret: String, form: String = "grant_type=client_credentials") async throws -> Reply {
        let basic = Data("\(id):\(secret)".utf8).base64EncodedString()
        let response = try await client.execute(
            HTTPRequest(
                method: .POST, url: sandbox.baseURL + "/v1/oauth2/token",
                headers: ["Authorization": "Basic \(basic)", "Content-Type": "application/x-www-form-urlencoded"],
                body: Array(form.utf8)))
        return Reply(status: response.status, headers: response.headers, body: response.body)
    }

    /// Calls the API with the harness's token, `Prefer: return=representation` unless told otherwise.
    func call(
        _ method: HTTPMethod, _ path: String, json: Any? = nil, raw: [UInt8]? = nil, headers: [(String, String)] = [],
        representation: Bool = true, token: String? = nil
    ) async throws -> Reply {
        var fields = HTTPHeaders(headers)
        fields.add(name: "Content-Type", value: "application/json")
        let bearer = token ?? self.token
        if !bearer.isEmpty { fields.add(name: "Authorization", value: "Bearer \(bearer)") }
        if representation { fields.add(name: "Prefer", value: "return=representation") }
        var body = raw
        if let json { body = Array(try JSONSerialization.data(withJSONObject: json)) }
        let response = try await client.execute(
            HTTPRequest(method: method, url: sandbox.baseURL + path, headers: fields, body: body ?? (method == .POST ? [] : nil)))
        return Reply(status: response.status, headers: response.headers, body: response.body)
    }

    static func order(
        _ intent: String = "AUTHORIZE", value: String = "10.00", currency: String = "USD", card: String? = visa
    ) -> [String: Any] {
        var order: [String: Any] = [
            "intent": intent,
            "purchase_units": [["amount": ["currency_code": currency, "value": value]]],
        ]
        if let card {
            order["payment_source"] = ["card": ["number": card, "expiry": "2035-12", "security_code": "123"]]
        }
        return order
    }

    /// Creates an order paid by `card` and returns it.
    func createOrder(
        _ intent: String = "AUTHORIZE", value: String = "10.00", currency: String = "USD", card: String = visa
    ) async throws -> [String: Any] {
        try await call(.POST, "/v2/checkout/orders", json: Self.order(intent, value: value, currency: currency, card: card)).json
    }

    func ledger() async throws -> [[String: Any]] {
        try await call(.GET, "/_sandbox/ledger").json["data"] as? [[String: Any]] ?? []
    }

    /// `(kind, amount)` of the ledger entries of one payment.
    func movements(of payment: String) async throws -> [String] {
        try await ledger().filter { $0["payment"] as? String == payment }.map { "\($0["kind"] ?? "") \($0["amount"] ?? "")" }
    }

    /// Waits for an event of `type` about resource `id`.
    func event(_ type: String, resource id: String) async throws -> WebhookReceiver.Received {
        try await receiver.wait { received in
            guard let json = received.json, json["event_type"] as? String == type,
                let resource = json["resource"] as? [String: Any]
            else { return false }
            return resource["id"] as? String == id || resource["dispute_id"] as? String == id
        }
    }
}

extension [String: Any] {
    var id: String { self["id"] as? String ?? "" }
    var status: String { self["status"] as? String ?? "" }
    var unit: [String: Any] { (self["purchase_units"] as? [[String: Any]])?.first ?? [:] }
    var payments: [String: Any] { unit["payments"] as? [String: Any] ?? [:] }
    var authorization: [String: Any] { (payments["authorizations"] as? [[String: Any]])?.first ?? [:] }
    var capture: [String: Any] { (payments["captures"] as? [[String: Any]])?.first ?? [:] }
    func link(_ rel: String) -> String? {
        (self["links"] as? [[String: Any]])?.first { $0["rel"] as? String == rel }?["href"] as? String
    }
}
