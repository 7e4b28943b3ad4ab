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
    /// PayPal as the fallback, with the sandboxes' generated credentials inline.
    public static func sandboxConfiguration(
        stripeURL: String, stripeWebhookSecret: String, paypalURL: String, paypalClientID: String,
        paypalClientSecret: String, paypalWebhookID: String, paypalWebhookSecret: String
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
                    webhookSecret: .inline(paypalWebhookSecret), options: ["webhook_id": paypalWebhookID]),
            ],
            routing: RoutingTable(rules: [], fallback: ["stripe", "paypal"]))
    }
}
