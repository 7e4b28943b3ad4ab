import Foundation
import PropertyBased
import Testing
import TillBilling
import TillCore

/// An amount from its decimal text; the tests' amounts are all well formed.
fileprivate func money(_ text: String, _ currency: Currency) throws -> Money {
    try Money(decimalString: text, currency: currency)
}

fileprivate func rate(_ id: String, _ percent: String, _ behavior: TaxBehavior) throws -> TaxRate {
    TaxRate(id: id, displayName: id.uppercased(), percentage: try Percentage(decimalString: percent), behavior: behavior)
}

/// The figures every invoice must satisfy whatever its inputs: totals are sums of lines.
fileprivate func expectAddsUp(_ totals: InvoiceTotals, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let c = totals.currency
    #expect(totals.subtotal == (try Money.sum(totals.lines.map(\.amount), currency: c)), sourceLocation: sourceLocation)
    #expect(totals.totalDiscount == (try Money.sum(totals.lines.map(\.discountAmount), currency: c)), sourceLocation: sourceLocation)
    #expect(totals.total == (try Money.sum(totals.lines.map(\.total), currency: c)), sourceLocation: sourceLocation)
    #expect(totals.tax == (try Money.sum(totals.lines.map { try $0.tax() }, currency: c)), sourceLocation: sourceLocation)
    #expect(totals.tax == (try Money.sum(totals.taxes.map(\.amount), currency: c)), sourceLocation: sourceLocation)
    #expect(
        totals.totalExcludingTax == (try Money.sum(totals.lines.map(\.amountExcludingTax), currency: c)),
        sourceLocation: sourceLocation)
    #expect(totals.total == (try totals.totalExcludingTax.adding(totals.tax)), sourceLocation: sourceLocation)
    for line in totals.lines {
        #expect(line.total == (try line.amountExcludingTax.adding(line.tax())), sourceLocation: sourceLocation)
    }
}

@Suite("Invoice math: worked cases")
struct InvoiceMathWorkedCaseTests {
    static func threeLines() throws -> [InvoiceLineInput] {
        let vat = try rate("txr_10", "10", .exclusive)
        return try (1...3).map { InvoiceLineInput(id: "li_\($0)", amount: try money("0.33", .eur), taxRates: [vat]) }
    }

    @Test("3 × €0.33 at 10 % exclusive, rounded per line: €0.09 tax")
    func threeLinesPerLine() throws {
        let totals = try InvoiceMath.totals(
            lines: Self.threeLines(), discounts: [], currency: .eur, rounding: RoundingPolicy(mode: .halfEven, tax: .line))
        #expect(totals.tax == (try money("0.09", .eur)))
        #expect(totals.lines.map { try? $0.tax().minorUnits } == [3, 3, 3])
        #expect(totals.total == (try money("1.08", .eur)))
        #expect(totals.taxes == [LineTax(rateID: "txr_10", taxableAmount: try money("0.99", .eur), amount: try money("0.09", .eur))])
        try expectAddsUp(totals)
    }

    @Test("3 × €0.33 at 10 % exclusive, rounded per invoice: €0.10 tax, allocated back to the lines")
    func threeLinesPerInvoice() throws {
        let totals = try InvoiceMath.totals(
            lines: Self.threeLines(), discounts: [], currency: .eur, rounding: RoundingPolicy(mode: .halfEven, tax: .invoice))
        #expect(totals.tax == (try money("0.10", .eur)))
        #expect(totals.lines.map { try? $0.tax().minorUnits } == [4, 3, 3])
        #expect(totals.total == (try money("1.09", .eur)))
        #expect(totals.rounding.tax == .invoice)
        try expectAddsUp(totals)
    }

    @Test("USD 23.45 at 10 %: tax 2.345 is USD 2.35 half-up and USD 2.34 half-even")
    func halfUpAgainstHalfEven() throws {
        let line = InvoiceLineInput(id: "li_1", amount: try money("23.45", .usd), taxRates: [try rate("txr_10", "10", .exclusive)])
        for tax in TaxRounding.allCases {
            let halfUp = try InvoiceMath.totals(
                lines: [line], discounts: [], currency: .usd, rounding: RoundingPolicy(mode: .halfUp, tax: tax))
            let halfEven = try InvoiceMath.totals(
                lines: [line], discounts: [], currency: .usd, rounding: RoundingPolicy(mode: .halfEven, tax: tax))
            #expect(halfUp.tax == (try money("2.35", .usd)))
            #expect(halfEven.tax == (try money("2.34", .usd)))
            #expect(halfEven.total == (try money("25.79", .usd)))
        }
    }

    @Test("KWD 1.234 at 5 % exclusive: tax KWD 0.062 (three decimals)")
    func kuwaitiDinarExclusive() throws {
        let line = InvoiceLineInput(id: "li_1", amount: try money("1.234", .kwd), taxRates: [try rate("txr_5", "5", .exclusive)])
        let totals = try InvoiceMath.totals(lines: [line], discounts: [], currency: .kwd, rounding: .standard)
        #expect(totals.tax == (try money("0.062", .kwd)))
        #expect(totals.total == (try money("1.296", .kwd)))
    }

    @Test("KWD 10.500 inclusive at 5 %: tax KWD 0.500, net KWD 10.000")
    func kuwaitiDinarInclusive() throws {
        let line = InvoiceLineInput(id: "li_1", amount: try money("10.500", .kwd), taxRates: [try rate("txr_5", "5", .inclusive)])
        let totals = try InvoiceMath.totals(lines: [line], discounts: [], currency: .kwd, rounding: .standard)
        #expect(totals.tax == (try money("0.500", .kwd)))
        #expect(totals.totalExcludingTax == (try money("10.000", .kwd)))
        #expect(totals.total == (try money("10.500", .kwd)))
        #expect(totals.lines[0].taxes[0].taxableAmount == (try money("10.000", .kwd)))
    }

    @Test("€24.00 with 20 % VAT inclusive: tax €4.00")
    func inclusiveVAT() throws {
        let line = InvoiceLineInput(id: "li_1", amount: try money("24.00", .eur), taxRates: [try rate("txr_vat", "20", .inclusive)])
        for tax in TaxRounding.allCases {
            let totals = try InvoiceMath.totals(
                lines: [line], discounts: [], currency: .eur, rounding: RoundingPolicy(mode: .halfEven, tax: tax))
            #expect(totals.tax == (try money("4.00", .eur)))
            #expect(totals.totalExcludingTax == (try money("20.00", .eur)))
            #expect(totals.total == (try money("24.00", .eur)))
        }
    }
}

@Suite("Invoice math: discounts and refusals")
struct InvoiceMathRuleTests {
    @Test("a percentage discount is split over the positive discountable lines by largest remainder")
    func percentOffAllocation() throws {
        let lines = [
            InvoiceLineInput(id: "a", amount: try money("10.00", .usd)),
            InvoiceLineInput(id: "b", amount: try money("10.00", .usd)),
            InvoiceLineInput(id: "c", amount: try money("10.00", .usd)),
            InvoiceLineInput(id: "credit", amount: try money("-5.00", .usd), discountable: false),
            InvoiceLineInput(id: "fee", amount: try money("3.00", .usd), discountable: false),
        ]
        let off = Discount.percentOff(try Percentage(decimalString: "3.3333"))
        let totals = try InvoiceMath.totals(lines: lines, discounts: [off], currency: .usd, rounding: .standard)
        // 3.3333 % of 30.00 is 0.99999, half-even 1.00: 0.34 + 0.33 + 0.33.
        #expect(totals.totalDiscount == (try money("1.00", .usd)))
        #expect(totals.lines.map(\.discountAmount.minorUnits) == [34, 33, 33, 0, 0])
        #expect(totals.total == (try money("27.00", .usd)))
        try expectAddsUp(totals)
    }

    @Test("discounts apply in order and an amount off caps at what is left to discount")
    func amountOffCaps() throws {
        let lines = [
            InvoiceLineInput(id: "a", amount: try money("20.00", .usd)),
            InvoiceLineInput(id: "proration", amount: try money("-8.00", .usd), discountable: false),
        ]
        let totals = try InvoiceMath.totals(
            lines: lines,
            discounts: [.percentOff(try Percentage(decimalString: "50")), .amountOff(try money("25.00", .usd))],
            currency: .usd, rounding: .standard)
        #expect(totals.totalDiscount == (try money("20.00", .usd)))
        #expect(totals.total == (try money("-8.00", .usd)), "an invoice of credits may be negative")
        try expectAddsUp(totals)
    }

    @Test("a discount lowers the base the tax is computed on")
    func discountBeforeTax() throws {
        let line = InvoiceLineInput(id: "a", amount: try money("100.00", .usd), taxRates: [try rate("txr", "8.875", .exclusive)])
        let totals = try InvoiceMath.totals(
            lines: [line], discounts: [.amountOff(try money("20.00", .usd))], currency: .usd, rounding: .standard)
        #expect(totals.lines[0].amountExcludingTax == (try money("80.00", .usd)))
        #expect(totals.tax == (try money("7.10", .usd)))
        #expect(totals.total == (try money("87.10", .usd)))
    }

    @Test("a line in another currency is refused, naming the currency")
    func currencyMismatch() throws {
        let line = InvoiceLineInput(id: "a", amount: try money("1.00", .eur))
        let error = #expect(throws: BillingError.self) {
            try InvoiceMath.totals(lines: [line], discounts: [], currency: .usd, rounding: .standard)
        }
        #expect(error?.param == "currency")
        #expect(error?.kind == .invalidInput)
        let discount = #expect(throws: BillingError.self) {
            try InvoiceMath.totals(
                lines: [InvoiceLineInput(id: "a", amount: try money("1.00", .usd))],
                discounts: [.amountOff(try money("1.00", .eur))], currency: .usd, rounding: .standard)
        }
        #expect(discount?.param == "currency")
    }

    @Test("a line may not mix inclusive and exclusive rates, nor name a rate twice")
    func mixedRates() throws {
        let mixed = InvoiceLineInput(
            id: "a", amount: try money("1.00", .usd),
            taxRates: [try rate("x", "10", .exclusive), try rate("i", "5", .inclusive)])
        let error = #expect(throws: BillingError.self) {
            try InvoiceMath.totals(lines: [mixed], discounts: [], currency: .usd, rounding: .standard)
        }
        #expect(error?.param == "tax_rates")
        let twice = InvoiceLineInput(
            id: "a", amount: try money("1.00", .usd), taxRates: [try rate("x", "10", .exclusive), try rate("x", "10", .exclusive)])
        #expect(throws: BillingError.self) {
            try InvoiceMath.totals(lines: [twice], discounts: [], currency: .usd, rounding: .standard)
        }
        let duplicateLines = [
            InvoiceLineInput(id: "a", amount: try money("1.00", .usd)), InvoiceLineInput(id: "a", amount: try money("2.00", .usd)),
        ]
        #expect(throws: BillingError.self) {
            try InvoiceMath.totals(lines: duplicateLines, discounts: [], currency: .usd, rounding: .standard)
        }
    }

    @Test("an overflowing invoice is refused as arithmetic, not a trap")
    func overflow() throws {
        let lines = [
            InvoiceLineInput(id: "a", amount: Money(minorUnits: .max, currency: .usd)),
            InvoiceLineInput(id: "b", amount: Money(minorUnits: 1, currency: .usd)),
        ]
        let error = #expect(throws: BillingError.self) {
            try InvoiceMath.totals(lines: lines, discounts: [], currency: .usd, rounding: .standard)
        }
        #expect(error?.kind == .arithmetic)
    }

    @Test("multiple inclusive rates share the amount: 119.00 at 10 % + 9 % is 10.00 + 9.00")
    func twoInclusiveRates() throws {
        let line = InvoiceLineInput(
            id: "a", amount: try money("119.00", .usd),
            taxRates: [try rate("state", "10", .inclusive), try rate("city", "9", .inclusive)])
        for tax in TaxRounding.allCases {
            let totals = try InvoiceMath.totals(lines: [line], discounts: [], currency: .usd, rounding: RoundingPolicy(tax: tax))
            #expect(totals.lines[0].taxes.map(\.amount) == [try money("10.00", .usd), try money("9.00", .usd)])
            #expect(totals.totalExcludingTax == (try money("100.00", .usd)))
        }
    }

    @Test("the totals survive JSON as the document stores them")
    func codableRoundTrip() throws {
        let lines = [
            InvoiceLineInput(id: "a", amount: try money("12.34", .usd), taxRates: [try rate("x", "8.875", .exclusive)]),
            InvoiceLineInput(id: "b", amount: try money("-1.00", .usd), discountable: false),
        ]
        let totals = try InvoiceMath.totals(
            lines: lines, discounts: [.percentOff(try Percentage(decimalString: "10")), .amountOff(try money("0.50", .usd))],
            currency: .usd, rounding: RoundingPolicy(mode: .halfUp, tax: .invoice))
        let data = try JSONEncoder().encode(totals)
        #expect(try JSONDecoder().decode(InvoiceTotals.self, from: data) == totals)
        let json = try #require(String(data: data, encoding: .utf8))
        #expect(json.contains(#""mode":"half_up""#))
        let discounts: [Discount] = [.percentOff(try Percentage(decimalString: "12.5")), .amountOff(try money("5.00", .usd))]
        #expect(try JSONDecoder().decode([Discount].self, from: JSONEncoder().encode(discounts)) == discounts)
    }
}

@Suite("Percentage and rounding names")
struct PercentageTests {
    @Test(arguments: [
        ("10", 100_000, "10"), ("8.875", 88_750, "8.875"), ("0.5", 5_000, "0.5"), (".5", 5_000, "0.5"),
        ("100", 1_000_000, "100"), ("100.0000", 1_000_000, "100"), ("0", 0, "0"), ("0.0001", 1, "0.0001"),
        ("007.25", 72_500, "7.25"), ("12.0500", 120_500, "12.05"),
    ])
    func parses(_ text: String, _ millionths: Int64, _ printed: String) throws {
        let percentage = try Percentage(decimalString: text)
        #expect(percentage.millionths == millionths)
        #expect(percentage.decimalString == printed)
        #expect(try Percentage(decimalString: percentage.decimalString) == percentage)
    }

    @Test(arguments: [
        "", ".", "10.", "-1", "+5", "100.0001", "101", "1e2", " 5", "5 ", "0.00001", "1,5", "١٠",
        String(repeating: "9", count: 500),
    ])
    func refuses(_ text: String) {
        let error = #expect(throws: BillingError.self) { try Percentage(decimalString: text) }
        #expect(error?.param == "percentage")
    }

    @Test("millionths outside 0...1_000_000 are refused")
    func millionthsRange() throws {
        #expect(throws: BillingError.self) { try Percentage(millionths: -1) }
        #expect(throws: BillingError.self) { try Percentage(millionths: 1_000_001) }
        #expect(try Percentage(millionths: 1_000_000) == .hundred)
    }

    @Test("rounding modes have stable names that read back")
    func roundingNames() throws {
        let names = RoundingMode.allCases.map { RoundingPolicy.name(of: $0) }
        #expect(Set(names) == ["half_even", "half_up", "half_down", "up", "down", "ceiling", "floor"])
        for mode in RoundingMode.allCases {
            #expect(RoundingPolicy.mode(named: RoundingPolicy.name(of: mode)) == mode)
            let policy = RoundingPolicy(mode: mode, tax: .invoice)
            #expect(try JSONDecoder().decode(RoundingPolicy.self, from: JSONEncoder().encode(policy)) == policy)
        }
        #expect(throws: BillingError.self) { try RoundingPolicy.parseMode("bankers") }
        #expect(RoundingPolicy.standard == RoundingPolicy(mode: .halfEven, tax: .line))
    }
}

@Suite("Invoice math: properties")
struct InvoiceMathPropertyTests {
    /// The rates lines pick from: two exclusive, two inclusive.
    static let rates: [TaxRate] = [
        TaxRate(id: "ex10", displayName: "A", percentage: Self.percent(100_000), behavior: .exclusive),
        TaxRate(id: "ex8875", displayName: "B", percentage: Self.percent(88_750), behavior: .exclusive),
        TaxRate(id: "in20", displayName: "C", percentage: Self.percent(200_000), behavior: .inclusive),
        TaxRate(id: "in5.5", displayName: "D", percentage: Self.percent(55_000), behavior: .inclusive),
    ]
    /// Which rates a line may carry, by index into ``rates``.
    static let combinations: [[Int]] = [[], [0], [0, 1], [2], [2, 3], [1], [3]]

    static func percent(_ millionths: Int64) -> Percentage {
        (try? Percentage(millionths: millionths)) ?? .zero
    }

    static func lines(_ amounts: [Int64], _ picks: [Int], _ flags: UInt64, currency: Currency = .usd) -> [InvoiceLineInput] {
        amounts.enumerated().map { index, amount in
            let combination = combinations[picks[index % picks.count] % combinations.count]
            return InvoiceLineInput(
                id: "li_\(index)", amount: Money(minorUnits: amount, currency: currency),
                discountable: flags >> (index % 64) & 1 == 0, taxRates: combination.map { rates[$0] })
        }
    }

    static let amounts = Gen.int64(in: -20_000...2_000_000).array(of: 1...12)
    static let picks = Gen.int(in: 0...6).array(of: 12)
    static let modes = Gen.int(in: 0...(RoundingMode.allCases.count - 1))

    @Test("totals equal the sums of the lines, for any lines, rates, discounts and mode")
    func totalsAddUp() async {
        await propertyCheck(
            count: 300, input: Self.amounts, Self.picks, Self.modes, Gen.uint64(in: 0 ... .max), Gen.int64(in: 0...3_000_000)
        ) { amounts, picks, modeIndex, flags, discountSeed throws in
            let lines = Self.lines(amounts, picks, flags)
            let discounts: [Discount] = [
                .percentOff(Self.percent(discountSeed % 1_000_001)),
                .amountOff(Money(minorUnits: discountSeed / 3, currency: .usd)),
            ]
            .prefix(Int(flags >> 62)).map { $0 }
            for tax in TaxRounding.allCases {
                let policy = RoundingPolicy(mode: RoundingMode.allCases[modeIndex], tax: tax)
                let totals = try InvoiceMath.totals(lines: lines, discounts: discounts, currency: .usd, rounding: policy)
                try expectAddsUp(totals)
                #expect(totals.lines.count == lines.count)
                for (input, line) in zip(lines, totals.lines) {
                    #expect(!line.discountAmount.isNegative)
                    if !input.discountable || !input.amount.isPositive { #expect(line.discountAmount.isZero) }
                    #expect(line.discountAmount.minorUnits <= max(input.amount.minorUnits, 0))
                }
                let discountable = lines.filter { $0.discountable && $0.amount.isPositive }.reduce(0) { $0 + $1.amount.minorUnits }
                #expect(totals.totalDiscount.minorUnits <= discountable)
            }
        }
    }

    /// Per-line and per-invoice tax of one rate group (a rate at one combined inclusive
    /// percentage) both lie near the exact tax `S`: each line's rounding is within one unit
    /// (half a unit for the half-way modes), the invoice's too. So for `n` lines they differ
    /// by at most `n` units, or `(n + 1) / 2` for the half-way modes.
    @Test("per-invoice tax differs from per-line tax by at most the rounding of each line")
    func perInvoiceNearPerLine() async {
        await propertyCheck(count: 300, input: Self.amounts, Self.picks, Self.modes) { amounts, picks, modeIndex throws in
            let mode = RoundingMode.allCases[modeIndex]
            let lines = Self.lines(amounts, picks, 0)
            let perLine = try InvoiceMath.totals(
                lines: lines, discounts: [], currency: .usd, rounding: RoundingPolicy(mode: mode, tax: .line))
            let perInvoice = try InvoiceMath.totals(
                lines: lines, discounts: [], currency: .usd, rounding: RoundingPolicy(mode: mode, tax: .invoice))
            var groups: [String: Int64] = [:]
            for line in lines {
                let inclusive = line.taxRates.filter { $0.behavior == .inclusive }.reduce(0) { $0 + $1.percentage.millionths }
                for rate in line.taxRates { groups["\(rate.id)@\(inclusive)", default: 0] += 1 }
            }
            let halfWay: Set<RoundingMode> = [.halfEven, .halfUp, .halfDown]
            let bound = groups.values.reduce(0) { $0 + (halfWay.contains(mode) ? ($1 + 1) / 2 : $1) }
            #expect(abs(perInvoice.tax.minorUnits - perLine.tax.minorUnits) <= bound, "mode \(mode), groups \(groups)")
            // Each line keeps its tax within one unit of its own per-line tax at every rate.
            for (a, b) in zip(perLine.lines, perInvoice.lines) {
                for (x, y) in zip(a.taxes, b.taxes) { #expect(abs(x.amount.minorUnits - y.amount.minorUnits) <= 1) }
            }
        }
    }
}
