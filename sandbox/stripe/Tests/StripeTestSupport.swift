import Foundation
import Logging
import SandboxSupport
import StripeSandbox
import TillHTTP
import TillTesting

/// A Stripe sandbox on a free loopback port, a webhook receiver, and a small client that
/// speaks Stripe's form encoding over real HTTP.
struct StripeHarness {
    static let key = "sk_test_swift_tests_0123"
    static let secret = "whsec_swift_tests_secret"

    let sandbox: StripeSandboxServer
    let receiver: WebhookReceiver
    let http: HTTPClient

    struct Reply {
        var status: Int
        var headers: TillHTTP.HTTPHeaders
        var body: [UInt8]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }
        var id: String { json["id"] as? String ?? "" }
        subscript(key: String) -> Any? { json[key] }
    }

    static func withSandbox(_ body: (StripeHarness) async throws -> Void) async throws {
        var logger = Logger(label: "stripe-sandbox-tests")
        logger.logLevel = .warning
        let receiver = try await WebhookReceiver.start()
        let sandbox = try await StripeSandbox.start(
            StripeSandboxConfiguration(
                webhookEndpoints: [receiver.url], webhookSecret: secret,
                webhookRetry: .init(maxAttempts: 4, initialDelay: .milliseconds(20), maxDelay: .milliseconds(100)),
                behaviorDelay: .milliseconds(50)),
            logger: logger)
        let http = try HTTPClient()
        let harness = StripeHarness(sandbox: sandbox, receiver: receiver, http: http)
        do {
            try await body(harness)
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

    static func encode(_ pairs: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return pairs.map { key, value in
            (key.addingPercentEncoding(withAllowedCharacters: allowed) ?? key) + "="
                + (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)
        }.joined(separator: "&")
    }

    func call(
        _ method: HTTPMethod, _ path: String, _ form: [(String, String)] = [], rawBody: String? = nil,
        key: String? = StripeHarness.key, headers extra: [(String, String)] = []
    ) async throws -> Reply {
        var headers = TillHTTP.HTTPHeaders()
        if let key { headers.add(name: "Authorization", value: "Bearer \(key)") }
        headers.add(name: "Stripe-Version", value: "2020-08-27")
        for (name, value) in extra { headers.add(name: name, value: value) }
        var url = sandbox.baseURL + path
        var body: [UInt8]?
        if method == .GET {
            if !form.isEmpty { url += "?" + Self.encode(form) }
        } else {
            headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            body = Array((rawBody ?? Self.encode(form)).utf8)
        }
        let response = try await http.execute(HTTPRequest(method: method, url: url, headers: headers, body: body))
        return Reply(status: response.status, headers: response.headers, body: response.body)
    }

    func post(_ path: String, _ form: [(String, String)] = [], headers: [(String, String)] = []) async throws -> Reply {
        try await call(.POST, path, form, headers: headers)
    }

    func get(_ path: String, _ query: [(String, String)] = []) async throws -> Reply {
        try await call(.GET, path, query)
    }

    func admin(_ path: String, json: String = "{}") async throws -> Reply {
        let response = try await http.execute(
            HTTPRequest(
                method: .POST, url: sandbox.baseURL + path, headers: ["Content-Type": "application/json"],
                body: Array(json.utf8)))
        return Reply(status: response.status, headers: response.headers, body: response.body)
    }

    func adminGet(_ path: String) async throws -> Reply {
        let response = try await http.execute(HTTPRequest(method: .GET, url: sandbox.baseURL + path))
        return Reply(status: response.status, headers: response.headers, body: response.body)
    }

    /// A confirmed PaymentIntent paid with a `pm_card_*` alias.
    func pay(
        _ method: String, amount: Int = 1000, currency: String = "usd", manual: Bool = false
    ) async throws -> Reply {
        try await post(
            "/v1/payment_intents",
            [
                ("amount", String(amount)), ("currency", currency), ("payment_method", method), ("confirm", "true"),
                ("capture_method", manual ? "manual" : "automatic"),
            ])
    }

    func ledger() async throws -> [[String: Any]] {
        try await adminGet("/_sandbox/ledger").json["data"] as? [[String: Any]] ?? []
    }

    /// Polls until `check` holds (delayed behaviours run on the sandbox's own timer).
    func eventually(
        _ what: String, timeout: Duration = .seconds(10), _ check: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !check() {
            guard ContinuousClock.now < deadline else { throw Timeout(description: "timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    struct Timeout: Error, CustomStringConvertible { var description: String }
}

extension Dictionary where Key == String, Value == Any {
    func object(_ key: String) -> [String: Any] { self[key] as? [String: Any] ?? [:] }
    func string(_ key: String) -> String? { self[key] as? String }
    func int(_ key: String) -> Int? { self[key] as? Int }
    func list(_ key: String = "data") -> [[String: Any]] { self[key] as? [[String: Any]] ?? [] }
}
