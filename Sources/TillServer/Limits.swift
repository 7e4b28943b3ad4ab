import TillCore
import StripeGateway

/// What the API allows in `metadata`, measured in UTF-8 bytes (documented in openapi.json).
///
/// Gateways limit metadata too, and Till adds its own references to what it sends them; a
/// request Till accepts must never be refused by a gateway for metadata Till allowed. Stripe
/// is the strictest plugin (PayPal gets no merchant metadata): 50 keys, keys up to 40 and
/// values up to 500 characters. A character is at least one byte, so the byte limits below
/// stay within Stripe's, and the key count leaves room for Till's own keys.
public enum MetadataLimits {
    /// The strictest gateway's key limit.
    public static let gatewayMaxKeys = StripeGateway.MetadataKey.stripeMaxKeys
    /// The keys Till adds on the way to a gateway.
    public static let reservedKeys = StripeGateway.MetadataKey.all
    /// Merchant keys may not start with it: Till's keys do, now and later.
    public static let reservedPrefix = "till_"
    /// The most keys a merchant may send.
    public static let maxKeys = gatewayMaxKeys - reservedKeys.count
    public static let maxKeyBytes = 40
    public static let maxValueBytes = 500
}

/// The largest amount the API accepts for a payment, per currency, in minor units; above it
/// the request is refused (400, `amount_too_large`) before any gateway is called.
///
/// The default is Stripe's ceiling, 99,999,999 minor units (USD 999,999.99, JPY 99,999,999),
/// which the big gateways share within an order of magnitude: an amount beyond it is a bug
/// or an attack on the merchant, not a sale. Operators raise or lower it per currency.
public struct AmountLimits: Sendable, Hashable {
    public static let defaultMaximum: Int64 = 99_999_999

    /// For currencies without an override.
    public var defaultMaximum: Int64
    /// Keyed by lower-case ISO 4217 code (`"jpy"`).
    public var overrides: [String: Int64]

    public init(defaultMaximum: Int64 = AmountLimits.defaultMaximum, overrides: [String: Int64] = [:]) {
        self.defaultMaximum = defaultMaximum
        self.overrides = Dictionary(overrides.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// The ceiling for `currency`.
    public func maximum(for currency: Currency) -> Int64 {
        overrides[currency.code.lowercased()] ?? defaultMaximum
    }

    /// Refuses `amount` above its currency's ceiling.
    func check(_ amount: Money) throws(APIError) {
        let maximum = maximum(for: amount.currency)
        guard amount.minorUnits <= maximum else {
            throw APIError.invalid(
                "amount is larger than this daemon accepts for \(amount.currency.code.lowercased()): at most \(maximum) minor units",
                param: "amount", code: "amount_too_large")
        }
    }
}
