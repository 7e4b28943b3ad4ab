import Foundation
import Logging
import TillCore
import TillGateway

/// The PayPal plugin: Orders v2 with AUTHORIZE intent and Payments v2 over TillHTTP.
public enum PayPalPlugin {
    /// The name configuration uses to pick this plugin.
    public static let name = "paypal"

    /// Registers the plugin's factory under ``name``.
    ///
    /// The factory reads `base_url`; credentials `client_id` and `client_secret`;
    /// `webhook_secret`; options `webhook_id` (required with a webhook secret),
    /// `webhook_tolerance_seconds` (default 300) and `currencies` (comma-separated ISO codes,
    /// default all); and the timeouts. Errors name the field under `path`.
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
        let webhookSecret = try settings.webhookSecret.map { source throws(ConfigurationError) in
            try source.resolve(field: "\(path).webhook_secret", allowInline: allowInline, environment: environment)
        }
        let webhookID = settings.options["webhook_id"]
        if webhookSecret != nil, webhookID?.isEmpty ?? true {
            throw ConfigurationError(
                field: "\(path).options.webhook_id", "is required with a webhook_secret: PayPal's signature covers it")
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
            baseURL: settings.baseURL, clientID: clientID, clientSecret: clientSecret, webhookSecret: webhookSecret,
            webhookID: webhookID, webhookTolerance: .seconds(tolerance),
            connectTimeout: .milliseconds(settings.connectTimeoutMilliseconds),
            requestTimeout: .milliseconds(settings.requestTimeoutMilliseconds), currencies: currencies)
        var logger = context.logger
        logger[metadataKey: "gateway"] = "\(settings.name)"
        return PayPalGateway(name: settings.name, configuration: configuration, http: context.http, logger: logger, now: context.now)
    }
}
