import Foundation
import PayPalGateway
import StripeGateway
import TillGateway

/// The gateway plugins this build of Till ships with.
public enum BuiltInGateways {
    /// A registry with every built-in plugin: one line per plugin.
    public static func registry() -> GatewayRegistry {
        let registry = GatewayRegistry()
        StripePlugin.register(in: registry)
        PayPalPlugin.register(in: registry)
        return registry
    }

    /// The gateway configuration for the bundled sandboxes: both plugins, Stripe first,
    /// PayPal as the fallback, with the sandboxes' generated credentials inline. PayPal's
    /// webhooks are checked as PayPal's are, by certificate: `paypalWebhookCA` (the
    /// sandbox's root, PEM) is the only anchor, and certificates are fetched only from the
    /// sandbox itself, over plain HTTP on its loopback address.
    public static func sandboxConfiguration(
        stripeURL: String, stripeWebhookSecret: String, paypalURL: String, paypalClientID: String,
        paypalClientSecret: String, paypalWebhookID: String, paypalWebhookCA: String
    ) -> GatewaysConfiguration {
        GatewaysConfiguration(
            gateways: [
                GatewaySettings(
                    name: "stripe", plugin: StripePlugin.name, baseURL: stripeURL,
                    credentials: ["secret_key": .inline("sk_test_till_sandbox")],
                    webhookSecret: .inline(stripeWebhookSecret)),
                GatewaySettings(
                    name: "paypal", plugin: PayPalPlugin.name, baseURL: paypalURL,
                    credentials: ["client_id": .inline(paypalClientID), "client_secret": .inline(paypalClientSecret)],
                    options: paypalSandboxOptions(url: paypalURL, webhookID: paypalWebhookID, webhookCA: paypalWebhookCA)),
            ],
            routing: RoutingTable(rules: [], fallback: ["stripe", "paypal"]))
    }

    /// The PayPal plugin's options for a PayPal-like sandbox at `url`: its webhook id, its
    /// root as the only anchor, and the sandbox itself as the only certificate host.
    public static func paypalSandboxOptions(url: String, webhookID: String, webhookCA: String) -> [String: String] {
        [
            "webhook_id": webhookID, "webhook_verification": "certificate", "webhook_ca_pem": webhookCA,
            "webhook_cert_hosts": authority(of: url), "webhook_cert_allow_http": url.hasPrefix("http://") ? "true" : "false",
        ]
    }

    /// `host:port` of a base URL such as `http://127.0.0.1:12112/`.
    static func authority(of url: String) -> String {
        var rest = Substring(url)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        return String(rest.prefix { $0 != "/" }).lowercased()
    }
}
