import TillGateway

/// The PayPal plugin: Orders v2 with AUTHORIZE intent and Payments v2 over TillHTTP.
public enum PayPalPlugin {
    /// The name configuration uses to pick this plugin.
    public static let name = "paypal"
}
