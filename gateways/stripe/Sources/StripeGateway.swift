import TillGateway

/// The Stripe plugin: PaymentIntents with manual capture over TillHTTP.
public enum StripePlugin {
    /// The name configuration uses to pick this plugin.
    public static let name = "stripe"
}
