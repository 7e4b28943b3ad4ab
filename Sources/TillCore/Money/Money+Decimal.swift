// Exact conversion between `Money` and decimal strings such as PayPal's amount `value`.
// Digits are read and written directly: no Double, no Decimal, no locale.

extension Money {
    /// Parses a decimal amount exactly, refusing more decimal places than the currency has.
    ///
    /// Accepts what PayPal's amount `value` pattern accepts,
    /// `^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$`: ASCII digits, an optional leading `-`, and an
    /// optional `.` followed by at least one digit. So `"10.00"`, `"10.5"`, `"10"`, `".5"`,
    /// `"-0.50"` and `"007"` are accepted for USD; `"1000"` for JPY; `"5.125"` for KWD.
    ///
    /// Refused: the empty string, `+`, spaces, exponents (`"1e3"`), grouping (`"1,000"`), a
    /// trailing `.` (`"10."`), non-ASCII digits, and any decimal place beyond the currency's
    /// exponent, even a zero (`"10.000"` for USD, `"1000.0"` for JPY), since silently
    /// dropping digits would hide a caller's mistake. Use
    /// ``init(decimalString:currency:rounding:)`` for computed values that need rounding.
    ///
    /// - Throws: ``MoneyError/invalidFormat(_:)`` for malformed text;
    ///   ``MoneyError/excessPrecision(_:_:)`` for too many decimal places;
    ///   ``MoneyError/overflow`` when the amount does not fit in `Int64` minor units.
    public init(decimalString text: String, currency: Currency) throws(MoneyError) {
        let number = try DecimalNumber(parsing: text)
        guard number.fractionDigits.count <= currency.minorUnitExponent else {
            throw .excessPrecision(MoneyError.quoting(text), currency)
        }
        let magnitude = try number.minorUnitMagnitude(exponent: currency.minorUnitExponent)
        let minorUnits = try Self.signedMinorUnits(magnitude, isNegative: number.isNegative)
        self.init(minorUnits: minorUnits, currency: currency)
    }

    /// Parses a decimal amount that may have more decimal places than the currency, rounding
    /// it to the currency's minor unit with the named `rounding` mode.
    ///
    /// Meant for values computed elsewhere (`"10.005"` USD rounds to `"10.00"` half-even,
    /// `"10.01"` half-up). Text is accepted exactly as by ``init(decimalString:currency:)``,
    /// with no limit on the number of decimal places.
    ///
    /// - Throws: ``MoneyError/invalidFormat(_:)`` for malformed text;
    ///   ``MoneyError/overflow`` when the rounded amount does not fit in `Int64` minor units.
    public init(decimalString text: String, currency: Currency, rounding: RoundingMode) throws(MoneyError) {
        let number = try DecimalNumber(parsing: text)
        let exponent = currency.minorUnitExponent
        var magnitude = try number.minorUnitMagnitude(exponent: exponent)
        let dropped = number.fractionDigits.dropFirst(exponent)
        let remainder = DiscardedFraction(decimalDigits: dropped)
        let roundsAway = rounding.incrementsMagnitude(
            remainder: remainder, isNegative: number.isNegative, truncatedIsOdd: magnitude % 2 == 1)
        if roundsAway {
            let (incremented, overflow) = magnitude.addingReportingOverflow(1)
            guard !overflow else { throw .overflow }
            magnitude = incremented
        }
        let minorUnits = try Self.signedMinorUnits(magnitude, isNegative: number.isNegative)
        self.init(minorUnits: minorUnits, currency: currency)
    }

    /// The exact amount as a decimal string with exactly the currency's number of decimal
    /// places: `"10.00"` and `"-0.50"` for USD, `"1000"` for JPY, `"5.125"` for KWD.
    ///
    /// Reads back to the same amount with ``init(decimalString:currency:)``.
    public var decimalString: String {
        // `magnitude` is a UInt64, so Int64.min needs no special case.
        var digits = String(minorUnits.magnitude)
        let exponent = currency.minorUnitExponent
        let sign = minorUnits < 0 ? "-" : ""
        guard exponent > 0 else { return sign + digits }
        if digits.count <= exponent {
            digits = String(repeating: "0", count: exponent - digits.count + 1) + digits
        }
        let point = digits.index(digits.endIndex, offsetBy: -exponent)
        return sign + digits[..<point] + "." + digits[point...]
    }
}

extension Money {
    /// `Int64` minor units from a magnitude and a sign, refusing what does not fit.
    static func signedMinorUnits(_ magnitude: UInt64, isNegative: Bool) throws(MoneyError) -> Int64 {
        if isNegative {
            // One more unit fits below zero than above it.
            guard magnitude <= Int64.min.magnitude else { throw .overflow }
            return magnitude == Int64.min.magnitude ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw .overflow }
        return Int64(magnitude)
    }
}

/// A decimal number split into sign and digit runs, validated against PayPal's pattern.
private struct DecimalNumber {
    var isNegative: Bool
    var integerDigits: ArraySlice<UInt8>
    var fractionDigits: ArraySlice<UInt8>

    init(parsing text: String) throws(MoneyError) {
        let bytes = Array(text.utf8)
        let invalid = MoneyError.invalidFormat(MoneyError.quoting(text))
        var index = bytes.startIndex
        isNegative = index < bytes.endIndex && bytes[index] == UInt8(ascii: "-")
        if isNegative { index += 1 }

        let integerStart = index
        while index < bytes.endIndex, bytes[index].isASCIIDigit { index += 1 }
        integerDigits = bytes[integerStart..<index]

        if index < bytes.endIndex, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let fractionStart = index
            while index < bytes.endIndex, bytes[index].isASCIIDigit { index += 1 }
            fractionDigits = bytes[fractionStart..<index]
            // A point must be followed by a digit: "10." is refused, ".5" is accepted.
            guard !fractionDigits.isEmpty else { throw invalid }
        } else {
            fractionDigits = []
            guard !integerDigits.isEmpty else { throw invalid }
        }
        guard index == bytes.endIndex else { throw invalid }
    }

    /// The digits up to `exponent` decimal places, as a count of minor units, with missing
    /// decimal places read as zeros.
    func minorUnitMagnitude(exponent: Int) throws(MoneyError) -> UInt64 {
        var value: UInt64 = 0
        let kept = fractionDigits.prefix(exponent)
        for digit in integerDigits {
            value = try appending(digit - UInt8(ascii: "0"), to: value)
        }
        for digit in kept {
            value = try appending(digit - UInt8(ascii: "0"), to: value)
        }
        for _ in kept.count..<exponent {
            value = try appending(0, to: value)
        }
        return value
    }

    private func appending(_ digit: UInt8, to value: UInt64) throws(MoneyError) -> UInt64 {
        let (shifted, overflowMultiplying) = value.multipliedReportingOverflow(by: 10)
        let (result, overflowAdding) = shifted.addingReportingOverflow(UInt64(digit))
        guard !overflowMultiplying, !overflowAdding else { throw .overflow }
        return result
    }
}

extension DiscardedFraction {
    /// Classifies decimal digits cut off after the last kept place (their value is
    /// `0.d1d2d3...` of one minor unit) without converting them to a number, so any
    /// number of them works.
    init(decimalDigits digits: ArraySlice<UInt8>) {
        guard let first = digits.first else {
            self = .zero
            return
        }
        let restIsZero = digits.dropFirst().allSatisfy { $0 == UInt8(ascii: "0") }
        switch first {
        case UInt8(ascii: "0"): self = restIsZero ? .zero : .belowHalf
        case UInt8(ascii: "1")...UInt8(ascii: "4"): self = .belowHalf
        case UInt8(ascii: "5"): self = restIsZero ? .half : .aboveHalf
        default: self = .aboveHalf
        }
    }
}

extension UInt8 {
    fileprivate var isASCIIDigit: Bool {
        self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9")
    }
}
