import TillCore

/// One routing rule: when a payment matches every condition given, try `gateways` in order.
public struct RoutingRule: Sendable, Hashable, Decodable {
    /// ISO codes, any case; `nil` matches every currency.
    public var currencies: Set<String>?
    /// Card brands (`visa`, `amex`, ...); `nil` matches every brand.
    public var brands: Set<String>?
    /// Inclusive bounds in minor units; `nil` leaves that side open.
    public var minAmount: Int64?
    public var maxAmount: Int64?
    /// Merchant ids; `nil` matches every merchant.
    public var merchants: Set<String>?
    /// Gateway instance names, in priority order.
    public var gateways: [String]

    public init(
        currencies: Set<String>? = nil, brands: Set<String>? = nil, minAmount: Int64? = nil, maxAmount: Int64? = nil,
        merchants: Set<String>? = nil, gateways: [String]
    ) {
        self.currencies = currencies
        self.brands = brands
        self.minAmount = minAmount
        self.maxAmount = maxAmount
        self.merchants = merchants
        self.gateways = gateways
    }

    private enum CodingKeys: String, CodingKey {
        case currencies, brands, merchants, gateways
        case minAmount = "min_amount"
        case maxAmount = "max_amount"
    }

    public func matches(_ payment: RoutingContext) -> Bool {
        if let currencies, !currencies.contains(where: { $0.uppercased() == payment.amount.currency.code }) { return false }
        if let brands {
            guard let brand = payment.cardBrand?.lowercased(), brands.contains(where: { $0.lowercased() == brand }) else {
                return false
            }
        }
        if let minAmount, payment.amount.minorUnits < minAmount { return false }
        if let maxAmount, payment.amount.minorUnits > maxAmount { return false }
        if let merchants {
            guard let merchant = payment.merchantID, merchants.contains(merchant) else { return false }
        }
        return true
    }
}

/// What routing looks at.
public struct RoutingContext: Sendable, Hashable {
    public var amount: Money
    public var cardBrand: String?
    public var merchantID: String?
    /// A gateway the merchant asked for (`"gateway"` on the payment); it goes first.
    public var preferredGateway: String?

    public init(amount: Money, cardBrand: String? = nil, merchantID: String? = nil, preferredGateway: String? = nil) {
        self.amount = amount
        self.cardBrand = cardBrand
        self.merchantID = merchantID
        self.preferredGateway = preferredGateway
    }
}

/// The routing rules: the first matching rule's gateways, then the fallback order.
public struct RoutingTable: Sendable, Hashable, Decodable {
    public var rules: [RoutingRule]
    /// Tried after the matching rule's gateways (or alone when no rule matches).
    public var fallback: [String]

    public init(rules: [RoutingRule], fallback: [String]) {
        self.rules = rules
        self.fallback = fallback
    }

    private enum CodingKeys: String, CodingKey {
        case rules, fallback
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rules = try c.decodeIfPresent([RoutingRule].self, forKey: .rules) ?? []
        fallback = try c.decodeIfPresent([String].self, forKey: .fallback) ?? []
    }

    /// Gateway names in the order to try them, without repeats.
    public func order(for payment: RoutingContext) -> [String] {
        var names: [String] = []
        if let preferred = payment.preferredGateway { names.append(preferred) }
        if let rule = rules.first(where: { $0.matches(payment) }) { names += rule.gateways }
        names += fallback
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }

    func validate(knownGateways: Set<String>, path: String) throws(ConfigurationError) {
        for (index, rule) in rules.enumerated() {
            let rulePath = "\(path).rules[\(index)]"
            guard !rule.gateways.isEmpty else {
                throw ConfigurationError(field: "\(rulePath).gateways", "name at least one gateway")
            }
            for (position, name) in rule.gateways.enumerated() where !knownGateways.contains(name) {
                throw ConfigurationError(field: "\(rulePath).gateways[\(position)]", "no gateway is named \"\(name)\"")
            }
            for code in rule.currencies ?? [] where Currency(code: code) == nil {
                throw ConfigurationError(field: "\(rulePath).currencies", "\"\(code)\" is not an ISO 4217 currency")
            }
            if let min = rule.minAmount, let max = rule.maxAmount, min > max {
                throw ConfigurationError(field: "\(rulePath).min_amount", "is greater than max_amount")
            }
        }
        for (position, name) in fallback.enumerated() where !knownGateways.contains(name) {
            throw ConfigurationError(field: "\(path).fallback[\(position)]", "no gateway is named \"\(name)\"")
        }
    }
}
