import PropertyBased
import Testing
import TillCore

@Suite("Money decimal strings")
struct MoneyDecimalTests {
    @Test(
        "accepted inputs parse exactly",
        arguments: [
            ("10.00", Currency.usd, Int64(1000)), ("10.5", .usd, 1050), ("10", .usd, 1000),
            (".5", .usd, 50), ("-.5", .usd, -50), ("-0.50", .usd, -50), ("007", .usd, 700),
            ("0", .usd, 0), ("-0", .usd, 0), ("0.00", .usd, 0), ("0.01", .usd, 1),
            ("1000", .jpy, 1000), ("-1000", .jpy, -1000), ("5.125", .kwd, 5125), ("5.1", .kwd, 5100),
            ("0.0001", .clf, 1), ("1", .clf, 10000),
            ("0000000000000000000000000000000000000001.00", .usd, 100),
        ])
    func accepted(text: String, currency: Currency, minorUnits: Int64) throws {
        let money = try Money(decimalString: text, currency: currency)
        #expect(money == Money(minorUnits: minorUnits, currency: currency))
    }

    @Test(
        "malformed inputs are refused as invalid format",
        arguments: [
            "", "+1", "+1.00", " 1", "1 ", "1 000", "1e3", "1E3", "1.5e2", "1,000", "1,000.00", "10,5",
            "10.", ".", "-", "-.", "--1", "-+1", "1-", "1.2.3", "1..2", "0x10", "NaN", "nan", "Infinity",
            "inf", "1_000", "\u{2212}1", "١٢٣", "１０", "10\u{0}", "10\n", "$10", "10USD", "1.-5", "½",
        ])
    func malformed(text: String) {
        #expect(throws: MoneyError.invalidFormat(text)) {
            try Money(decimalString: text, currency: .usd)
        }
        #expect(throws: MoneyError.invalidFormat(text)) {
            try Money(decimalString: text, currency: .usd, rounding: .halfEven)
        }
    }

    @Test(
        "more decimal places than the currency has are refused, zeros included",
        arguments: [
            ("10.000", Currency.usd), ("0.001", .usd), ("-1.999", .usd), ("1000.0", .jpy), ("1.5", .jpy),
            ("5.1250", .kwd), ("0.00001", .clf),
        ])
    func excessPrecision(text: String, currency: Currency) {
        #expect(throws: MoneyError.excessPrecision(text, currency)) {
            try Money(decimalString: text, currency: currency)
        }
    }

    @Test("the Int64 bounds parse; one unit beyond them overflows")
    func bounds() throws {
        #expect(try Money(decimalString: "92233720368547758.07", currency: .usd).minorUnits == .max)
        #expect(try Money(decimalString: "-92233720368547758.08", currency: .usd).minorUnits == .min)
        #expect(try Money(decimalString: "9223372036854775807", currency: .jpy).minorUnits == .max)
        #expect(try Money(decimalString: "-9223372036854775808", currency: .jpy).minorUnits == .min)
        for (text, currency) in [
            ("92233720368547758.08", Currency.usd), ("-92233720368547758.09", .usd),
            ("9223372036854775808", .jpy), ("-9223372036854775809", .jpy),
            ("18446744073709551616", .jpy), ("99999999999999999999999999", .usd), ("922337203685477.5808", .clf),
        ] {
            #expect(throws: MoneyError.overflow) { try Money(decimalString: text, currency: currency) }
        }
    }

    @Test(
        "printing has exactly the currency's decimal places",
        arguments: [
            (Int64(1000), Currency.usd, "10.00"), (1050, .usd, "10.50"), (-50, .usd, "-0.50"), (5, .usd, "0.05"),
            (-5, .usd, "-0.05"), (0, .usd, "0.00"), (1000, .jpy, "1000"), (-7, .jpy, "-7"), (0, .jpy, "0"),
            (5125, .kwd, "5.125"), (1, .kwd, "0.001"), (1, .clf, "0.0001"), (-123456, .clf, "-12.3456"),
            (.max, .usd, "92233720368547758.07"), (.min, .usd, "-92233720368547758.08"),
            (.min, .jpy, "-9223372036854775808"), (.min, .clf, "-922337203685477.5808"),
        ])
    func printing(minorUnits: Int64, currency: Currency, text: String) {
        let money = Money(minorUnits: minorUnits, currency: currency)
        #expect(money.decimalString == text)
        #expect(money.description == "\(text) \(currency.code)")
    }

    @Test("print then parse is the identity for random amounts in every currency")
    func roundTripRandom() async {
        let currencies = Currency.all
        await propertyCheck(count: 500, input: Gen.int64(), Gen.int(in: 0...(currencies.count - 1))) { units, index throws in
            let money = Money(minorUnits: units, currency: currencies[index])
            #expect(try Money(decimalString: money.decimalString, currency: money.currency) == money)
            #expect(
                try Money(decimalString: money.decimalString, currency: money.currency, rounding: .up) == money)
        }
    }

    @Test("print then parse is the identity at the edges for every currency")
    func roundTripEdges() throws {
        for currency in Currency.all {
            for units: Int64 in [.min, .min + 1, -1, 0, 1, 9, 10, 99, 100, 101, .max - 1, .max] {
                let money = Money(minorUnits: units, currency: currency)
                let text = money.decimalString
                #expect(try Money(decimalString: text, currency: currency) == money, "\(text) \(currency)")
                let fractionDigits = text.split(separator: ".").dropFirst().first?.count ?? 0
                #expect(fractionDigits == currency.minorUnitExponent)
            }
        }
    }

    @Test("parse then print gives the canonical form")
    func canonicalForm() throws {
        #expect(try Money(decimalString: "007.5", currency: .usd).decimalString == "7.50")
        #expect(try Money(decimalString: "-.5", currency: .usd).decimalString == "-0.50")
        #expect(try Money(decimalString: "-0", currency: .usd).decimalString == "0.00")
        #expect(try Money(decimalString: "5", currency: .kwd).decimalString == "5.000")
    }

    @Test("parsing with rounding rounds only the places beyond the exponent")
    func parsingWithRounding() throws {
        func parse(_ text: String, _ currency: Currency, _ mode: RoundingMode) throws -> String {
            try Money(decimalString: text, currency: currency, rounding: mode).decimalString
        }
        #expect(try parse("10.005", .usd, .halfEven) == "10.00")
        #expect(try parse("10.015", .usd, .halfEven) == "10.02")
        #expect(try parse("10.005", .usd, .halfUp) == "10.01")
        #expect(try parse("10.0050000000000000000000000001", .usd, .halfEven) == "10.01")
        #expect(try parse("10.00499999999999999999999999", .usd, .halfUp) == "10.00")
        #expect(try parse("10.000", .usd, .up) == "10.00")
        #expect(try parse("10.0001", .usd, .up) == "10.01")
        #expect(try parse("-10.0001", .usd, .up) == "-10.01")
        #expect(try parse("-10.0001", .usd, .ceiling) == "-10.00")
        #expect(try parse("-10.0001", .usd, .floor) == "-10.01")
        #expect(try parse("-0.001", .usd, .halfEven) == "0.00")
        #expect(try parse("1000.5", .jpy, .halfEven) == "1000")
        #expect(try parse("5.12345", .kwd, .halfEven) == "5.123")
        #expect(try parse("10.5", .usd, .down) == "10.50")
        #expect(try parse("92233720368547758.074", .usd, .halfEven) == "92233720368547758.07")
        #expect(throws: MoneyError.overflow) { try parse("92233720368547758.075", .usd, .halfUp) }
        #expect(try parse("-92233720368547758.075", .usd, .halfDown) == "-92233720368547758.07")
        #expect(throws: MoneyError.overflow) { try parse("-92233720368547758.085", .usd, .halfUp) }
    }

    @Test("errors name the input and the rule; huge inputs are shortened")
    func errorMessages() {
        let excess = MoneyError.excessPrecision("10.000", .usd).description
        #expect(excess.contains("10.000") && excess.contains("USD") && excess.contains("2"))
        #expect(MoneyError.invalidFormat("1,000").description.contains("1,000"))
        let huge = String(repeating: "9", count: 10_000) + "x"
        do {
            _ = try Money(decimalString: huge, currency: .usd)
            Issue.record("accepted a malformed huge input")
        } catch {
            guard case .invalidFormat(let quoted) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(quoted.count <= 65)
        }
    }
}
