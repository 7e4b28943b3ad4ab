/// An exact amount of one currency, as a signed count of its minor units.
///
/// `Money(minorUnits: 1050, currency: .usd)` is USD 10.50; `Money(minorUnits: 1050,
/// currency: .jpy)` is JPY 1050. No floating point is involved anywhere: amounts are
/// parsed from and printed to decimal strings exactly (see ``init(decimalString:currency:)``
/// and ``decimalString``), and every operation that could overflow `Int64` or mix two
/// currencies throws a ``MoneyError`` instead of trapping.
///
/// `Money` is deliberately not `Comparable`: there is no order between amounts in
/// different currencies. Compare with ``isLess(than:)`` and ``isLessThanOrEqual(to:)``,
/// which throw on a currency mismatch.
public struct Money: Hashable, Sendable {
    /// The amount as a count of the currency's minor units (cents for USD, yen for JPY).
    public let minorUnits: Int64
    /// The currency the amount is in.
    public let currency: Currency

    /// An amount of `minorUnits` minor units of `currency`.
    public init(minorUnits: Int64, currency: Currency) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    /// No money in `currency`.
    public static func zero(_ currency: Currency) -> Money {
        Money(minorUnits: 0, currency: currency)
    }

    /// Whether the amount is zero.
    public var isZero: Bool { minorUnits == 0 }
    /// Whether the amount is below zero.
    public var isNegative: Bool { minorUnits < 0 }
    /// Whether the amount is above zero.
    public var isPositive: Bool { minorUnits > 0 }
}

// MARK: - Checked arithmetic

extension Money {
    /// The sum of this amount and `other`.
    ///
    /// - Throws: ``MoneyError/currencyMismatch(_:_:)`` when the currencies differ;
    ///   ``MoneyError/overflow`` when the sum does not fit in `Int64` minor units.
    public func adding(_ other: Money) throws(MoneyError) -> Money {
        try requireSameCurrency(other)
        let (sum, overflow) = minorUnits.addingReportingOverflow(other.minorUnits)
        guard !overflow else { throw .overflow }
        return Money(minorUnits: sum, currency: currency)
    }

    /// This amount minus `other`.
    ///
    /// - Throws: ``MoneyError/currencyMismatch(_:_:)`` when the currencies differ;
    ///   ``MoneyError/overflow`` when the difference does not fit in `Int64` minor units.
    public func subtracting(_ other: Money) throws(MoneyError) -> Money {
        try requireSameCurrency(other)
        let (difference, overflow) = minorUnits.subtractingReportingOverflow(other.minorUnits)
        guard !overflow else { throw .overflow }
        return Money(minorUnits: difference, currency: currency)
    }

    /// The amount with its sign flipped.
    ///
    /// - Throws: ``MoneyError/overflow`` for `Int64.min` minor units, whose negation does
    ///   not fit.
    public func negated() throws(MoneyError) -> Money {
        let (negation, overflow) = Int64(0).subtractingReportingOverflow(minorUnits)
        guard !overflow else { throw .overflow }
        return Money(minorUnits: negation, currency: currency)
    }

    /// The amount without its sign.
    ///
    /// - Throws: ``MoneyError/overflow`` for `Int64.min` minor units.
    public func magnitude() throws(MoneyError) -> Money {
        isNegative ? try negated() : self
    }

    /// The amount multiplied by a whole number (a quantity, for example).
    ///
    /// - Throws: ``MoneyError/overflow`` when the product does not fit in `Int64` minor units.
    public func multiplied(by factor: Int64) throws(MoneyError) -> Money {
        let (product, overflow) = minorUnits.multipliedReportingOverflow(by: factor)
        guard !overflow else { throw .overflow }
        return Money(minorUnits: product, currency: currency)
    }

    /// The total of `amounts`, all of which must be in `currency`; zero when there are none.
    ///
    /// The currency is given explicitly so that an empty sequence still has one.
    ///
    /// - Throws: ``MoneyError/currencyMismatch(_:_:)`` at the first amount in another
    ///   currency; ``MoneyError/overflow`` when a running total leaves `Int64`.
    public static func sum(_ amounts: some Sequence<Money>, currency: Currency) throws(MoneyError) -> Money {
        var total = Money.zero(currency)
        for amount in amounts {
            total = try total.adding(amount)
        }
        return total
    }

    /// Whether this amount is less than `other`.
    ///
    /// - Throws: ``MoneyError/currencyMismatch(_:_:)`` when the currencies differ.
    public func isLess(than other: Money) throws(MoneyError) -> Bool {
        try requireSameCurrency(other)
        return minorUnits < other.minorUnits
    }

    /// Whether this amount is less than or equal to `other`.
    ///
    /// - Throws: ``MoneyError/currencyMismatch(_:_:)`` when the currencies differ.
    public func isLessThanOrEqual(to other: Money) throws(MoneyError) -> Bool {
        try requireSameCurrency(other)
        return minorUnits <= other.minorUnits
    }

    private func requireSameCurrency(_ other: Money) throws(MoneyError) {
        guard currency == other.currency else { throw .currencyMismatch(currency, other.currency) }
    }
}

extension Money: CustomStringConvertible {
    /// The exact decimal amount followed by the currency code: `"10.50 USD"`.
    public var description: String { "\(decimalString) \(currency.code)" }
}
