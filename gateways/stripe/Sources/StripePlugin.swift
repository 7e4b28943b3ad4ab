public import TillGateway
import Foundation

/// The Stripe plugin: registers ``StripeGateway`` under `"stripe"`.
///
/// Settings it reads (errors name the field under the gateway's path):
/// - `base_url`; `credentials.secret_key` (`sk_…` or `rk_…`); `webhook_secret` (`whsec_…`,
///   optional, but without it every webhook is rejected);
/// - `options.webhook_tolerance_seconds` (1–3600, default 300), `options.stripe_version`
///   (`2024-06-20` or `2025-03-31.basil`); any other option is refused as a likely typo;
/// - `connect_timeout_ms`, `request_timeout_ms`.
public enum StripePlugin {
    /// The name configuration uses to pick this plugin.
    public static let name = "stripe"

    static let knownOptions: Set<String> = ["webhook_tolerance_seconds", "stripe_version"]

    /// Registers the plugin's factory.
    public static func register(in registry: GatewayRegistry) {
        registry.register(plugin: name, factory: makeGateway)
    }

    /// Builds a gateway from settings; `path` (`gateways[0]`) prefixes field names in errors.
    public static func makeGateway(
        _ settings: GatewaySettings, path: String, context: GatewayContext
    ) throws(ConfigurationError) -> any PaymentGateway {
        try StripeGateway(
            configuration: configuration(settings, path: path, context: context), http: context.http,
            logger: context.logger, now: context.now)
    }

    /// The validated configuration for `settings`.
    public static func configuration(
        _ settings: GatewaySettings, path: String, context: GatewayContext
    ) throws(ConfigurationError) -> StripeGateway.Configuration {
        try settings.validate(path: path)
        let key = try settings.credential(
            "secret_key", path: path, allowInline: context.allowInlineSecrets, environment: context.environment)
        guard key.hasPrefix("sk_") || key.hasPrefix("rk_"), key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw ConfigurationError(
                field: "\(path).credentials.secret_key", "must be a Stripe secret or restricted key (sk_… or rk_…)")
        }
        let webhookSecret = try settings.webhookSecret?.resolve(
            field: "\(path).webhook_secret", allowInline: context.allowInlineSecrets, environment: context.environment)
        for option in settings.options.keys.sorted() where !knownOptions.contains(option) {
            throw ConfigurationError(
                field: "\(path).options.\(option)",
                "is not a Stripe option; known: \(knownOptions.sorted().joined(separator: ", "))")
        }
        var tolerance = 300
        if let text = settings.options["webhook_tolerance_seconds"] {
            guard let value = Int(text), (1...3_600).contains(value) else {
                throw ConfigurationError(
                    field: "\(path).options.webhook_tolerance_seconds", "must be a whole number of seconds from 1 to 3600, got \"\(text)\"")
            }
            tolerance = value
        }
        let version = settings.options["stripe_version"]
        if let version, !isStripeVersion(version) {
            throw ConfigurationError(
                field: "\(path).options.stripe_version", "must look like 2024-06-20 or 2025-03-31.basil, got \"\(version)\"")
        }
        return StripeGateway.Configuration(
            name: settings.name, baseURL: settings.baseURL, secretKey: key, webhookSecret: webhookSecret,
            webhookTolerance: TimeInterval(tolerance), stripeVersion: version,
            connectTimeout: .milliseconds(settings.connectTimeoutMilliseconds),
            requestTimeout: .milliseconds(settings.requestTimeoutMilliseconds))
    }

    /// `YYYY-MM-DD`, optionally followed by `.name` (Stripe's release names).
    static func isStripeVersion(_ text: String) -> Bool {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let date = Array(parts[0].utf8)
        guard date.count == 10, date[4] == UInt8(ascii: "-"), date[7] == UInt8(ascii: "-") else { return false }
        for (index, byte) in date.enumerated() where index != 4 && index != 7 {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return false }
        }
        if parts.count == 2 {
            return !parts[1].isEmpty && parts[1].utf8.allSatisfy { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }
        }
        return true
    }
}
