import PropertyBased
import Testing
import TillCore

@Suite("Money rounding, proration and allocation")
struct MoneyRoundingTests {
    private func usd(_ units: Int64) -> Money { Money(minorUnits: units, currency: .usd) }

    /// The table in Java's `RoundingMode` documentation: input in tenths, then the result
    /// for up, down, ceiling, floor, halfUp, halfDown, halfEven.
    static let classicTable: [(tenths: Int64, expected: [Int64])] = [
        (55, [6, 5, 6, 5, 6, 5, 6]),
        (25, [3, 2, 3, 2, 3, 2, 2]),
        (16, [2, 1, 2, 1, 2, 2, 2]),
        (11, [2, 1, 2, 1, 1, 1, 1]),
        (10, [1, 1, 1, 1, 1, 1, 1]),
        (-10, [-1, -1, -1, -1, -1, -1, -1]),
        (-11, [-2, -1, -1, -2, -1, -1, -1]),
        (-16, [-2, -1, -1, -2, -2, -2, -2]),
        (-25, [-3, -2, -2, -3, -3, -2, -2]),
        (-55, [-6, -5, -5, -6, -6, -5, -6]),
    ]
    static let tableModes: [RoundingMode] = [.up, .down, .ceiling, .floor, .halfUp, .halfDown, .halfEven]

    @Test("the classic rounding table, by proration", arguments: classicTable)
    func classicTableByProration(tenths: Int64, expected: [Int64]) throws {
        for (mode, result) in zip(Self.tableModes, expected) {
            let yen = Money(minorUnits: tenths, currency: .jpy)
            #expect(try yen.multiplied(by: 1, dividedBy: 10, rounding: mode).minorUnits == result, "\(tenths) \(mode)")
            // The same value reached with negative operands rounds the same way.
            #expect(try yen.multiplied(by: -1, dividedBy: -10, rounding: mode).minorUnits == result, "\(tenths) \(mode)")
        }
    }

    @Test("the classic rounding table, by parsing", arguments: classicTable)
    func classicTableByParsing(tenths: Int64, expected: [Int64]) throws {
        let text = (tenths < 0 ? "-" : "") + "\(tenths.magnitude / 10).\(tenths.magnitude % 10)"
        for (mode, result) in zip(Self.tableModes, expected) {
            let money = try Money(decimalString: text, currency: .jpy, rounding: mode)
            #expect(money.minorUnits == result, "\(text) \(mode)")
        }
    }

    @Test("every mode is in the table, and half-even is the default")
    func modes() throws {
        #expect(Set(Self.tableModes) == Set(RoundingMode.allCases))
        #expect(try usd(25).multiplied(by: 1, dividedBy: 10) == usd(2))
        #expect(try usd(35).multiplied(by: 1, dividedBy: 10) == usd(4))
    }

    @Test("proration is exact beyond 64-bit intermediates and checks its result")
    func prorationEdges() throws {
        #expect(try usd(1000).multiplied(by: 9, dividedBy: 30) == usd(300))
        #expect(try usd(.max).multiplied(by: 3, dividedBy: 3) == usd(.max))
        #expect(try usd(.min).multiplied(by: .max, dividedBy: .max) == usd(.min))
        #expect(try usd(.min).multiplied(by: -1, dividedBy: -1) == usd(.min))
        #expect(try usd(.max).multiplied(by: .max, dividedBy: .min, rounding: .down) == usd(-(.max - 1)))
        #expect(try usd(123).multiplied(by: 0, dividedBy: 7) == usd(0))
        #expect(throws: MoneyError.divisionByZero) { try usd(1).multiplied(by: 1, dividedBy: 0) }
        #expect(throws: MoneyError.overflow) { try usd(.max).multiplied(by: 3, dividedBy: 2) }
        #expect(throws: MoneyError.overflow) { try usd(.min).multiplied(by: 1, dividedBy: -1) }
        #expect(throws: MoneyError.overflow) { try usd(.max).multiplied(by: .max, dividedBy: 1) }
        #expect(throws: MoneyError.overflow) { try usd(.max).multiplied(by: 1, dividedBy: 1).adding(usd(1)) }
    }

    @Test("percentages and basis points")
    func percentages() throws {
        #expect(try usd(1001).multiplied(byPercent: 15) == usd(150))
        #expect(try usd(1010).multiplied(byPercent: 15) == usd(152))  // 151.5 rounds to even
        #expect(try usd(1010).multiplied(byPercent: 15, rounding: .down) == usd(151))
        #expect(try usd(10_000).multiplied(byBasisPoints: 290) == usd(290))
        #expect(try usd(1234).multiplied(byBasisPoints: 290, rounding: .ceiling) == usd(36))
        #expect(try usd(-1234).multiplied(byBasisPoints: 290, rounding: .ceiling) == usd(-35))
    }

    @Test("a * n / n is the identity")
    func prorationIdentity() async {
        await propertyCheck(input: Gen.int64(), Gen.int64(in: Int64.min + 1 ... Int64.max).filter { $0 != 0 }) { a, n throws in
            for mode in RoundingMode.allCases {
                #expect(try usd(a).multiplied(by: n, dividedBy: n, rounding: mode) == usd(a))
            }
        }
    }

    @Test("proration lands within one unit of the exact rational, on the side the mode names")
    func prorationAccuracy() async {
        let amounts = Gen.int64(in: -1_000_000_000_000...1_000_000_000_000)
        let numerators = Gen.int64(in: -1_000_000...1_000_000)
        let denominators = Gen.int64(in: -1_000_000...1_000_000).filter { $0 != 0 }
        await propertyCheck(count: 300, input: amounts, numerators, denominators) { a, n, d in
            // Int128 exists only in the test, as an independent reference.
            let exact = Int128(a) * Int128(n)
            let divisor = Int128(d)
            for mode in RoundingMode.allCases {
                let result = Int128(try usd(a).multiplied(by: n, dividedBy: d, rounding: mode).minorUnits)
                // |result - exact/d| < 1  <=>  |result*d - exact| < |d|
                let error = result * divisor - exact
                #expect(error.magnitude < divisor.magnitude, "\(a)*\(n)/\(d) \(mode)")
                let truncated = exact / divisor
                let exactIsWhole = exact % divisor == 0
                let exactIsNegative = (exact < 0) != (divisor < 0)
                switch mode {
                case .down: #expect(result == truncated)
                case .up: #expect(result == (exactIsWhole ? truncated : truncated + (exactIsNegative ? -1 : 1)))
                case .floor: #expect(result == (exactIsWhole || !exactIsNegative ? truncated : truncated - 1))
                case .ceiling: #expect(result == (exactIsWhole || exactIsNegative ? truncated : truncated + 1))
                case .halfEven, .halfUp, .halfDown:
                    // Nearest: twice the error is at most the divisor.
                    #expect(2 * error.magnitude <= divisor.magnitude)
                }
            }
        }
    }

    @Test("allocation splits exactly by largest remainder")
    func allocationExamples() throws {
        #expect(try usd(100).allocated([1, 1, 1]) == [usd(34), usd(33), usd(33)])
        #expect(try usd(-100).allocated([1, 1, 1]) == [usd(-34), usd(-33), usd(-33)])
        #expect(try usd(100).split(into: 3) == [usd(34), usd(33), usd(33)])
        #expect(try usd(5).allocated([3, 7]) == [usd(2), usd(3)])  // 1.5 and 3.5: earlier wins the tie
        #expect(try usd(100).allocated([0, 1, 0]) == [usd(0), usd(100), usd(0)])
        #expect(try usd(0).allocated([1, 2]) == [usd(0), usd(0)])
        #expect(try usd(.min).allocated([1, 1]) == [usd(.min / 2), usd(.min / 2)])
        #expect(try usd(.max).allocated([.max, .max]).map(\.minorUnits) == [.max / 2 + 1, .max / 2])
        #expect(try usd(7).allocated([Int64.max]) == [usd(7)])
        #expect(throws: MoneyError.invalidRatios([])) { try usd(1).allocated([]) }
        #expect(throws: MoneyError.invalidRatios([1, -1])) { try usd(1).allocated([1, -1]) }
        #expect(throws: MoneyError.invalidRatios([0, 0])) { try usd(1).allocated([0, 0]) }
        #expect(throws: MoneyError.invalidRatios([])) { try usd(1).split(into: 0) }
        #expect(throws: MoneyError.overflow) { try usd(1).allocated([.max, .max, .max]) }
    }

    @Test("allocated parts sum to the whole, follow the ratios, and equal ratios differ by at most one")
    func allocationProperties() async {
        let ratios = Gen.int64(in: 0...1_000).array(of: 1...12).filter { $0.contains { $0 > 0 } }
        await propertyCheck(count: 300, input: Gen.int64(), ratios) { units, ratios in
            let whole = usd(units)
            let parts = try whole.allocated(ratios)
            #expect(parts.count == ratios.count)
            #expect(try Money.sum(parts, currency: .usd) == whole)
            let total = Int128(ratios.reduce(0, +))
            for (part, ratio) in zip(parts, ratios) {
                // Each part is within one unit of its exact share, on the amount's side of zero.
                let error = Int128(part.minorUnits) * total - Int128(units) * Int128(ratio)
                #expect(error.magnitude < total.magnitude)
                #expect(units >= 0 ? part.minorUnits >= 0 : part.minorUnits <= 0)
                if ratio == 0 { #expect(part.isZero) }
            }
            for i in ratios.indices {
                for j in ratios.indices where ratios[i] == ratios[j] {
                    #expect((parts[i].minorUnits - parts[j].minorUnits).magnitude <= 1)
                }
            }
        }
    }
}
