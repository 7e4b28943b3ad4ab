import Foundation
import SandboxSupport
import Logging
import TillAudit
import TillHTTP
import TillServer
import TillStore

#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

/// What `till serve --sandbox` writes to `<data>/sandbox-credentials.json` so scripts can
/// start from it. The secret key in it is the only copy: the database keeps its hash.
struct SandboxCredentials: Codable, Sendable {
    struct Stripe: Codable, Sendable {
        var url: String
        /// The sandbox takes any `sk_test_…` key; this is the one the daemon uses.
        var apiKey = "sk_test_till_sandbox"
        var webhookSecret: String

        enum CodingKeys: String, CodingKey {
            case url
            case apiKey = "api_key"
            case webhookSecret = "webhook_secret"
        }
    }

    struct PayPal: Codable, Sendable {
        var url: String
        var clientID: String
        var clientSecret: String
        var webhookID: String
        /// The root certificate (PEM) the sandbox's webhook signing certificates chain to.
        var webhookCA: String

        enum CodingKeys: String, CodingKey {
            case url
            case clientID = "client_id"
            case clientSecret = "client_secret"
            case webhookID = "webhook_id"
            case webhookCA = "webhook_ca_pem"
        }
    }

    var apiBaseURL: String
    var dataDirectory: String
    var merchantID: String
    var secretKey: String
    var publishableKey: String
    var stripe: Stripe
    var paypal: PayPal
    var note =
        "secret_key is stored hashed in the database: this file is its only copy. Later starts of `till serve --sandbox` reuse it."

    enum CodingKeys: String, CodingKey {
        case apiBaseURL = "api_base_url"
        case dataDirectory = "data_directory"
        case merchantID = "merchant_id"
        case secretKey = "secret_key"
        case publishableKey = "publishable_key"
        case stripe = "stripe_sandbox"
        case paypal = "paypal_sandbox"
        case note
    }

    static let fileName = "sandbox-credentials.json"
}

/// The steps of `till serve --sandbox` around the daemon itself.
enum SandboxSetup {
    /// The sandboxes the daemon talks to, started here or already running elsewhere.
    struct Sandboxes: Sendable {
        var stripe: SandboxCredentials.Stripe
        var paypal: SandboxCredentials.PayPal
        /// Running in their own process (`till sandbox`): their state outlives the daemon.
        var attached: Bool
        var stop: @Sendable () async -> Void
    }

    /// The merchant and keys the sandbox setup hands out.
    struct Access: Sendable {
        var merchantID: String
        var secretKey: String
        var publishableKey: String
        /// A new merchant (first start, or the credentials file was gone).
        var created: Bool
    }

    /// Creates the data directory (and its parents) readable by its owner only.
    static func makeDataDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw ServeError("--data \(path) exists and is not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ServeError("cannot create the data directory \(path): \(error.localizedDescription)")
        }
    }

    /// Points both sandboxes' webhooks at the daemon through their admin API. The
    /// sandboxes ignore a URL they already have, so restarts do not double deliveries.
    static func registerWebhooks(daemonURL: String, sandboxes: Sandboxes) async throws {
        let http = try HTTPClient()
        do {
            try await register(daemonURL: daemonURL, sandboxes: sandboxes, http: http)
        } catch {
            await http.shutdown()
            throw error
        }
        await http.shutdown()
    }

    private static func register(daemonURL: String, sandboxes: Sandboxes, http: HTTPClient) async throws {
        for (sandboxURL, gateway) in [(sandboxes.stripe.url, "stripe"), (sandboxes.paypal.url, "paypal")] {
            let body = try JSONSerialization.data(withJSONObject: ["url": "\(daemonURL)/v1/gateways/\(gateway)/webhooks"])
            let response: HTTPResponse
            do {
                response = try await http.execute(
                    HTTPRequest(
                        method: .POST, url: sandboxURL + "/_sandbox/webhook-endpoints",
                        headers: ["Content-Type": "application/json"], body: Array(body)))
            } catch {
                throw ServeError("cannot reach the \(gateway) sandbox at \(sandboxURL) to register webhooks: \(error)")
            }
            guard (200..<300).contains(response.status) else {
                throw ServeError(
                    "the \(gateway) sandbox at \(sandboxURL) refused the webhook registration: HTTP \(response.status)")
            }
        }
    }

    /// The root certificate an attached PayPal-like sandbox signs webhooks under, from its
    /// admin API. Trusting what the sandbox hands out is sound only because it is the
    /// sandbox the operator named, and only sandbox mode does it; real gateways are checked
    /// against a CA bundle.
    static func certificateAuthority(ofPayPalSandbox url: String) async throws -> String {
        let http = try HTTPClient()
        let response: HTTPResponse
        do {
            response = try await http.execute(HTTPRequest(method: .GET, url: url + "/_sandbox/ca.pem"), timeout: .seconds(10))
        } catch {
            await http.shutdown()
            throw ServeError("cannot fetch the PayPal sandbox's webhook CA from \(url)/_sandbox/ca.pem: \(error)")
        }
        await http.shutdown()
        let pem = String(decoding: response.body, as: UTF8.self)
        guard response.status == 200, pem.contains("-----BEGIN CERTIFICATE-----") else {
            throw ServeError(
                "\(url)/_sandbox/ca.pem answered HTTP \(response.status) without a certificate: is it a PayPal-like sandbox from this version of till?")
        }
        return pem
    }

    /// Reuses the merchant and keys of an earlier start when its credentials file still
    /// holds live keys; issues new keys for that merchant when they were revoked; creates a
    /// merchant otherwise.
    static func merchantAccess(
        in dataDirectory: String, store: Store, audit: AuditTrail, logger: Logger
    ) async throws -> Access {
        let path = (dataDirectory as NSString).appendingPathComponent(SandboxCredentials.fileName)
        guard let data = FileManager.default.contents(atPath: path),
            let previous = try? JSONDecoder().decode(SandboxCredentials.self, from: data),
            try await store.merchant(id: previous.merchantID) != nil
        else {
            let created = try await Merchants.create(name: "Sandbox Merchant", in: store, audit: audit)
            logger.notice("created the sandbox merchant", metadata: ["merchant": "\(created.merchant.id)"])
            return Access(
                merchantID: created.merchant.id, secretKey: created.secretKey, publishableKey: created.publishableKey,
                created: true)
        }
        func live(_ key: String) async throws -> Bool {
            try await store.apiKey(hash: APIKeys.hash(key))?.merchantId == previous.merchantID
        }
        var access = Access(
            merchantID: previous.merchantID, secretKey: previous.secretKey, publishableKey: previous.publishableKey,
            created: false)
        if try await !live(previous.secretKey) {
            access.secretKey = try await Merchants.createKey(.secret, merchantID: previous.merchantID, in: store, audit: audit).key
            logger.notice("issued a new secret key for the sandbox merchant", metadata: ["merchant": "\(previous.merchantID)"])
        }
        if try await !live(previous.publishableKey) {
            access.publishableKey = try await Merchants.createKey(.publishable, merchantID: previous.merchantID, in: store, audit: audit).key
            logger.notice(
                "issued a new publishable key for the sandbox merchant", metadata: ["merchant": "\(previous.merchantID)"])
        }
        return access
    }

    /// Writes the credentials file with mode 0600 (created private, then renamed into place,
    /// so a reader never sees half a file); returns its path.
    static func write(_ credentials: SandboxCredentials, in dataDirectory: String) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let bytes = Array(try encoder.encode(credentials)) + Array("\n".utf8)
        let path = (dataDirectory as NSString).appendingPathComponent(SandboxCredentials.fileName)
        try writePrivately(bytes, to: path)
        return path
    }

    static func writePrivately(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw ServeError("cannot write \(temporary): errno \(errno)") }
        // An older file left with wider permissions is narrowed before anything secret goes in.
        guard fchmod(descriptor, 0o600) == 0 else {
            close(descriptor)
            throw ServeError("cannot restrict \(temporary) to its owner: errno \(errno)")
        }
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { systemWrite(descriptor, $0.baseAddress, $0.count) }
            guard result > 0 else {
                close(descriptor)
                throw ServeError("cannot write \(temporary): errno \(errno)")
            }
            written += result
        }
        fsync(descriptor)
        close(descriptor)
        guard rename(temporary, path) == 0 else { throw ServeError("cannot move \(temporary) to \(path): errno \(errno)") }
    }

    /// `<data>/till.json`: what a configuration for real gateways looks like, written once
    /// for reference (`till serve --config <data>/till.json` after setting its variables).
    static func writeReferenceConfiguration(in dataDirectory: String) throws {
        let path = (dataDirectory as NSString).appendingPathComponent("till.json")
        guard !FileManager.default.fileExists(atPath: path) else { return }
        try writePrivately(Array(referenceConfiguration.utf8), to: path)
    }

    static let referenceConfiguration = """
        {
          "gateways": [
            {
              "name": "stripe",
              "plugin": "stripe",
              "base_url": "https://api.stripe.com",
              "credentials": {"secret_key": {"env": "STRIPE_SECRET_KEY"}},
              "webhook_secret": {"env": "STRIPE_WEBHOOK_SECRET"},
              "connect_timeout_ms": 5000,
              "request_timeout_ms": 30000
            },
            {
              "name": "paypal",
              "plugin": "paypal",
              "base_url": "https://api-m.paypal.com",
              "credentials": {
                "client_id": {"env": "PAYPAL_CLIENT_ID"},
                "client_secret": {"file": "/etc/till/paypal-client-secret"}
              },
              "options": {"webhook_id": "WH-REPLACE-ME", "webhook_verification": "certificate"}
            }
          ],
          "routing": {
            "rules": [{"currencies": ["EUR", "GBP"], "gateways": ["paypal", "stripe"]}],
            "fallback": ["stripe", "paypal"]
          },
          "circuit_breaker": {"failure_threshold": 5, "open_seconds": 30}
        }

        """

    static func banner(_ credentials: SandboxCredentials, path: String, newMerchant: Bool, attached: Bool) -> String {
        """
        Till is serving at \(credentials.apiBaseURL) against the sandbox gateways\(attached ? " (attached)" : "").

          API               \(credentials.apiBaseURL)/v1   (OpenAPI: \(credentials.apiBaseURL)/openapi.json)
          merchant          \(credentials.merchantID)\(newMerchant ? " (created)" : "")
          secret key        \(credentials.secretKey)
          publishable key   \(credentials.publishableKey)

          Stripe-like       \(credentials.stripe.url)
          PayPal-like       \(credentials.paypal.url)
          webhooks          both sandboxes send theirs to \(credentials.apiBaseURL)/v1/gateways/{stripe,paypal}/webhooks
          health            \(credentials.apiBaseURL)/healthz  /readyz  /metrics

        Written to \(path) (mode 0600). The secret key is stored hashed: that file is its only copy.
        Try:
          curl -s \(credentials.apiBaseURL)/v1/tokens -H 'Authorization: Bearer \(credentials.publishableKey)' \\
            -H 'Content-Type: application/json' \\
            -d '{"card": {"number": "\(TestCards.approved.number)", "exp_month": 12, "exp_year": 2034, "cvc": "123"}}'

        Press Ctrl-C to stop.

        """
    }
}
