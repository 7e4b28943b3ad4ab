// Rounding and division for billing: proration, percentages, and splitting an amount into
// parts that add up exactly. Intermediate products use 128 bits (full-width multiply and
// divide), so nothing overflows before the final result is checked.

/// How to round a result that falls between two whole minor units.
///
/// The names and behaviour follow Java's `java.math.RoundingMode`. For the values 5.5, 2.5,
/// 1.6, 1.1, -1.1, -1.6, -2.5 and -5.5 rounded to whole units:
///
/// | mode        | 5.5 | 2.5 | 1.6 | 1.1 | -1.1 | -1.6 | -2.5 | -5.5 |
/// |-------------|-----|-----|-----|-----|------|------|------|------|
/// | `up`        |  6  |  3  |  2  |  2  |  -2  |  -2  |  -3  |  -6  |
/// | `down`      |  5  |  2  |  1  |  1  |  -1  |  -1  |  -2  |  -5  |
/// | `ceiling`   |  6  |  3  |  2  |  2  |  -1  |  -1  |  -2  |  -5  |
/// | `floor`     |  5  |  2  |  1  |  1  |  -2  |  -2  |  -3  |  -6  |
/// | `halfUp`    |  6  |  3  |  2  |  1  |  -1  |  -2  |  -3  |  -6  |
/// | `halfDown`  |  5  |  2  |  2  |  1  |  -1  |  -2  |  -2  |  -5  |
/// | `halfEven`  |  6  |  2  |  2  |  1  |  -1  |  -2  |  -2  |  -6  |
///
/// ``halfEven`` (banker's rounding) is the default wherever a mode can be left out: it has
/// no bias up or down over many roundings.
public enum RoundingMode: Hashable, Sendable, CaseIterable {
    /// To the nearest unit; exactly half-way goes to the even neighbour. The default.
    case halfEven
    /// To the nearest unit; exactly half-way goes away from zero.
    case halfUp
    /// To the nearest unit; exactly half-way goes toward zero.
    case halfDown
    /// Away from zero whenever anything is discarded.
    case up
    /// Toward zero: the discarded part is dropped (truncation).
    case down
    /// Toward positive infinity.
    case ceiling
    /// Toward negative infinity.
    case floor

    /// Whether a result whose magnitude was truncated, leaving `remainder` behind, should
    /// have its magnitude increased by one unit.
    func incrementsMagnitude(remainder: DiscardedFraction, isNegative: Bool, truncatedIsOdd: Bool) -> Bool {
        if remainder == .zero { return false }
        switch self {
        case .up: return true
        case .down: return false
        case .ceiling: return !isNegative
        case .floor: return isNegative
        case .halfUp: return remainder != .belowHalf
        case .halfDown: return remainder == .aboveHalf
        case .halfEven: return remainder == .aboveHalf || (remainder == .half && truncatedIsOdd)
        }
    }
}

/// What truncation discarded, as a fraction of one unit.
enum DiscardedFraction: Hashable, Sendable {
    case zero
    case belowHalf
    case half
    case aboveHalf

    /// Classifies `remainder / divisor` (with `remainder < divisor`).
    init(remainder: UInt64, divisor: UInt64) {
        if remainder == 0 {
            self = .zero
            return
        }
        // Comparing with `divisor - remainder` instead of doubling avoids overflow.
        let rest = divisor - remainder
        self = remainder < rest ? .belowHalf : remainder == rest ? .half : .aboveHalf
    }
}

extension Money {
    /// The amount multiplied by `numerator / denominator`, rounded to a whole minor unit.
    ///
    /// Use it to prorate: nine days of a thirty-day USD 10.00 plan is
    /// `multiplied(by: 9, dividedBy: 30)`, USD 3.00. The product is formed in 128 bits, so it
    /// is exact even when `minorUnits * numerator` would not fit in `Int64`; only the final
    /// result must fit. Signs follow ordinary arithmetic.
    ///
    /// - Throws: ``MoneyError/divisionByZero`` when `denominator` is zero;
    ///   ``MoneyError/overflow`` when the result does not fit in `Int64` minor units.
    public func multiplied(
        by numerator: Int64, dividedBy denominator: Int64, rounding: RoundingMode = .halfEven
    ) throws(MoneyError) -> Money {
        guard denominator != 0 else { throw .divisionByZero }
        let isNegative = ((minorUnits < 0) != (numerator < 0)) != (denominator < 0)
        let product = minorUnits.magnitude.multipliedFullWidth(by: numerator.magnitude)
        let divisor = denominator.magnitude
        // `dividingFullWidth` traps when the quotient needs more than 64 bits; this is
        // exactly the case where the high half is not below the divisor.
        guard product.high < divisor else { throw .overflow }
        let (quotient, remainder) = divisor.dividingFullWidth(product)
        var magnitude = quotient
        let discarded = DiscardedFraction(remainder: remainder, divisor: divisor)
        let roundsAway = rounding.incrementsMagnitude(
            remainder: discarded, isNegative: isNegative, truncatedIsOdd: quotient % 2 == 1)
        if roundsAway {
            let (incremented, overflow) = magnitude.addingReportingOverflow(1)
            guard !overflow else { throw .overflow }
            magnitude = incremented
        }
        return Money(minorUnits: try Self.signedMinorUnits(magnitude, isNegative: isNegative), currency: currency)
    }

    /// `percent` percent of the amount, rounded to a whole minor unit (15% of USD 10.01 is
    /// USD 1.50 half-even).
    ///
    /// - Throws: ``MoneyError/overflow`` when the result does not fit in `Int64` minor units.
    public func multiplied(byPercent percent: Int64, rounding: RoundingMode = .halfEven) throws(MoneyError) -> Money {
        try multiplied(by: percent, dividedBy: 100, rounding: rounding)
    }

    /// `basisPoints` hundredths of a percent of the amount, rounded to a whole minor unit
    /// (a 2.9% fee is 290 basis points).
    ///
    /// - Throws: ``MoneyError/overflow`` when the result does not fit in `Int64` minor units.
    public func multiplied(
        byBasisPoints basisPoints: Int64, rounding: RoundingMode = .halfEven
    ) throws(MoneyError) -> Money {
        try multiplied(by: basisPoints, dividedBy: 10_000, rounding: rounding)
    }

    /// Splits the amount into parts proportional to `ratios` that add up exactly to it.
    ///
    /// Each part first gets its proportional share rounded toward zero; the minor units left
    /// over (fewer than the number of parts) go one each to the parts with the largest
    /// discarded fractions, earlier parts first on ties (the largest remainder method). So
    /// parts with equal ratios differ by at most one minor unit, a zero ratio gets zero, and
    /// a negative amount splits into non-positive parts. USD 1.00 over `[1, 1, 1]` is
    /// `[0.34, 0.33, 0.33]`.
    ///
    /// - Throws: ``MoneyError/invalidRatios(_:)`` when `ratios` is empty, has a negative
    ///   entry, or totals zero; ``MoneyError/overflow`` when the ratios' total does not fit
    ///   in 64 bits.
    public func allocated(_ ratios: [Int64]) throws(MoneyError) -> [Money] {
        guard !ratios.isEmpty, ratios.allSatisfy({ $0 >= 0 }) else { throw .invalidRatios(ratios) }
        var total: UInt64 = 0
        for ratio in ratios {
            let (sum, overflow) = total.addingReportingOverflow(ratio.magnitude)
            guard !overflow else { throw .overflow }
            total = sum
        }
        guard total > 0 else { throw .invalidRatios(ratios) }

        let whole = minorUnits.magnitude
        var shares: [UInt64] = []
        var remainders: [UInt64] = []
        shares.reserveCapacity(ratios.count)
        remainders.reserveCapacity(ratios.count)
        for ratio in ratios {
            // ratio <= total, so whole * ratio / total <= whole and the quotient fits.
            let (share, remainder) = total.dividingFullWidth(whole.multipliedFullWidth(by: ratio.magnitude))
            shares.append(share)
            remainders.append(remainder)
        }
        // The shares were rounded down, so they sum to at most `whole`; the shortfall is the
        // sum of the discarded fractions, which is less than the number of parts.
        let leftover = whole - shares.reduce(0, +)
        let byLargestRemainder = ratios.indices.sorted {
            remainders[$0] != remainders[$1] ? remainders[$0] > remainders[$1] : $0 < $1
        }
        for index in byLargestRemainder.prefix(Int(leftover)) {
            shares[index] += 1
        }
        var parts: [Money] = []
        parts.reserveCapacity(shares.count)
        for share in shares {
            let minorUnits = try Self.signedMinorUnits(share, isNegative: isNegative)
            parts.append(Money(minorUnits: minorUnits, currency: currency))
        }
        return parts
    }

    /// Splits the amount into `count` parts as equal as possible that add up exactly to it,
    /// larger parts first (USD 1.00 into 3 is `[0.34, 0.33, 0.33]`).
    ///
    /// - Throws: ``MoneyError/invalidRatios(_:)`` when `count` is not positive.
    public func split(into count: Int) throws(MoneyError) -> [Money] {
        guard count > 0 else { throw .invalidRatios([]) }
        return try allocated(Array(repeating: 1, count: count))
    }
}
