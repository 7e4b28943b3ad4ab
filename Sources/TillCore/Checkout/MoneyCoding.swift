// Money and Currency belong to the money work and are not Codable there (yet); the checkout
// types persist amounts as minor units plus the ISO code so they do not depend on that choice.

extension KeyedDecodingContainer {
    func decodeCurrency(forKey key: Key) throws -> Currency {
        let code = try decode(String.self, forKey: key)
        guard let currency = Currency(code: code) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "unknown ISO 4217 currency code \(code)")
        }
        return currency
    }

    func decodeMoney(amountKey: Key, currencyKey: Key) throws -> Money {
        Money(minorUnits: try decode(Int64.self, forKey: amountKey), currency: try decodeCurrency(forKey: currencyKey))
    }
}

extension KeyedEncodingContainer {
    mutating func encodeMoney(_ money: Money, amountKey: Key, currencyKey: Key) throws {
        try encode(money.minorUnits, forKey: amountKey)
        try encode(money.currency.code, forKey: currencyKey)
    }
}
