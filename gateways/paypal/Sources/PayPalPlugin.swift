import Foundation
import Logging
import TillCore
import TillCrypto
import TillGateway

/// The PayPal plugin: Orders v2 with AUTHORIZE intent and Payments v2 over TillHTTP.
public enum PayPalPlugin {
    /// The name configuration uses to pick this plugin.
    public static let name = "paypal"

    /// Registers the plugin's factory under ``name``.
    ///
    /// The factory reads `base_url`; credentials `client_id` and `client_secret`; options
    /// `webhook_id` (webhooks are refused without it), `webhook_verification` (`certificate`,
    /// the default, or `api`), for `certificate` also `webhook_ca_bundle` (a PEM file, default
    /// the system bundle), `webhook_ca_pem` (PEM text instead of a file), `webhook_cert_hosts`
    /// (comma-separated `host` or `host:port`, default PayPal's API hosts) and
    /// `webhook_cert_allow_http` (`true` for a sandbox on loopback; default `false`),
    /// `webhook_tolerance_seconds` (default 300) and `currencies` (comma-separated ISO codes,
    /// default all); and the timeouts. `webhook_secret` is refused: PayPal signs with a
    /// certificate, not a shared secret. Errors name the field under `path`.
    public static func register(in registry: GatewayRegistry) {
        registry.register(plugin: name, factory: makeGateway)
    }

    /// Builds an instance from its settings; errors name the field (`gateways[0].credentials.client_id`).
    @Sendable public static func makeGateway(
        _ settings: GatewaySettings, path: String, context: GatewayContext
    ) throws(ConfigurationError) -> any PaymentGateway {
        try settings.validate(path: path)
        let allowInline = context.allowInlineSecrets
        let environment = context.environment
        let clientID = try settings.credential("client_id", path: path, allowInline: allowInline, environment: environment)
        let clientSecret = try settings.credential(
            "client_secret", path: path, allowInline: allowInline, environment: environment)
        guard settings.webhookSecret == nil else {
            throw ConfigurationError(
                field: "\(path).webhook_secret",
                "is not used by PayPal, which signs webhooks with a certificate: remove it and set options.webhook_id (and options.webhook_verification if not certificate)")
        }
        let webhookID = settings.options["webhook_id"].flatMap { $0.isEmpty ? nil : $0 }
        let verification: PayPalGateway.Configuration.WebhookVerification
        if webhookID != nil {
            verification = try webhookVerification(settings.options, path: "\(path).options")
        } else if let stray = settings.options.keys.sorted().first(where: { $0.hasPrefix("webhook_") }) {
            throw ConfigurationError(
                field: "\(path).options.\(stray)", "needs options.webhook_id: without it the gateway accepts no webhooks")
        } else {
            // Never consulted: without a webhook id every webhook is refused first.
            verification = .api
        }
        var tolerance = 300
        if let text = settings.options["webhook_tolerance_seconds"] {
            guard let seconds = Int(text), (1...86_400).contains(seconds) else {
                throw ConfigurationError(
                    field: "\(path).options.webhook_tolerance_seconds", "must be a whole number of seconds from 1 to 86400, got \"\(text)\"")
            }
            tolerance = seconds
        }
        var currencies: Set<Currency>?
        if let text = settings.options["currencies"] {
            var set = Set<Currency>()
            for code in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).uppercased() }) {
                guard let currency = Currency(code: code) else {
                    throw ConfigurationError(field: "\(path).options.currencies", "\"\(code)\" is not an ISO 4217 currency")
                }
                set.insert(currency)
            }
            guard !set.isEmpty else {
                throw ConfigurationError(field: "\(path).options.currencies", "name at least one currency")
            }
            currencies = set
        }
        let configuration = PayPalGateway.Configuration(
            baseURL: settings.baseURL, clientID: clientID, clientSecret: clientSecret, webhookID: webhookID,
            webhookVerification: verification, webhookTolerance: .seconds(tolerance),
            connectTimeout: .milliseconds(settings.connectTimeoutMilliseconds),
            requestTimeout: .milliseconds(settings.requestTimeoutMilliseconds), currencies: currencies)
        var logger = context.logger
        logger[metadataKey: "gateway"] = "\(settings.name)"
        return PayPalGateway(name: settings.name, configuration: configuration, http: context.http, logger: logger, now: context.now)
    }

    /// Reads the verification options. The trust store is loaded here, so a missing or
    /// unreadable bundle is a startup error naming the option, not a webhook rejection later.
    static func webhookVerification(
        _ options: [String: String], path: String
    ) throws(ConfigurationError) -> PayPalGateway.Configuration.WebhookVerification {
        let certificateOptions = ["webhook_ca_bundle", "webhook_ca_pem", "webhook_cert_hosts", "webhook_cert_allow_http"]
        switch options["webhook_verification"] ?? "certificate" {
        case "api":
            if let stray = certificateOptions.first(where: { options[$0] != nil }) {
                throw ConfigurationError(field: "\(path).\(stray)", "applies only with webhook_verification \"certificate\"")
            }
            return .api
        case "certificate":
            break
        case let other:
            throw ConfigurationError(
                field: "\(path).webhook_verification", "must be \"certificate\" or \"api\", got \"\(other)\"")
        }
        let trust: X509TrustStore
        switch (options["webhook_ca_bundle"], options["webhook_ca_pem"]) {
        case (.some, .some):
            throw ConfigurationError(field: "\(path).webhook_ca_pem", "set webhook_ca_bundle or webhook_ca_pem, not both")
        case (nil, .some(let pem)):
            do {
                trust = try X509TrustStore(pem: pem)
            } catch {
                throw ConfigurationError(field: "\(path).webhook_ca_pem", "is not a PEM certificate bundle: \(error)")
            }
        case (let file, nil):
            let bundle = file ?? X509TrustStore.systemBundlePath
            do {
                trust = try X509TrustStore(bundleFile: bundle)
            } catch {
                throw ConfigurationError(
                    field: "\(path).webhook_ca_bundle", "cannot load the CA bundle \(bundle): \(error)")
            }
        }
        var hosts = CertificateURLPolicy.payPalHosts
        if let text = options["webhook_cert_hosts"] {
            hosts = Set(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty })
            guard !hosts.isEmpty else {
                throw ConfigurationError(field: "\(path).webhook_cert_hosts", "name at least one host")
            }
        }
        var allowHTTP = false
        switch options["webhook_cert_allow_http"] {
        case nil, "false": break
        case "true": allowHTTP = true
        case let other?:
            throw ConfigurationError(field: "\(path).webhook_cert_allow_http", "must be true or false, got \"\(other)\"")
        }
        return .certificate(policy: CertificateURLPolicy(allowedHosts: hosts, allowsPlainHTTP: allowHTTP), trust: trust)
    }
}
