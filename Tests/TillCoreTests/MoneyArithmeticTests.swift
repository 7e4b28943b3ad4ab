import PropertyBased
import Testing
import TillCore

@Suite("Money checked arithmetic")
struct MoneyArithmeticTests {
    private func usd(_ units: Int64) -> Money { Money(minorUnits: units, currency: .usd) }

    @Test("adding and subtracting in one currency")
    func addSubtract() throws {
        #expect(try usd(1050).adding(usd(-50)) == usd(1000))
        #expect(try usd(1050).subtracting(usd(2000)) == usd(-950))
        #expect(try usd(.max).adding(usd(.min)) == usd(-1))
        #expect(try usd(.min).subtracting(usd(.min)) == usd(0))
    }

    @Test("overflow at the Int64 bounds is an error, not a trap")
    func overflow() {
        #expect(throws: MoneyError.overflow) { try usd(.max).adding(usd(1)) }
        #expect(throws: MoneyError.overflow) { try usd(.min).adding(usd(-1)) }
        #expect(throws: MoneyError.overflow) { try usd(.min).subtracting(usd(1)) }
        #expect(throws: MoneyError.overflow) { try usd(.max).subtracting(usd(-1)) }
        #expect(throws: MoneyError.overflow) { try usd(.min).negated() }
        #expect(throws: MoneyError.overflow) { try usd(.min).magnitude() }
        #expect(throws: MoneyError.overflow) { try usd(.max).multiplied(by: 2) }
        #expect(throws: MoneyError.overflow) { try usd(.min).multiplied(by: -1) }
        #expect(throws: MoneyError.overflow) { try Money.sum([usd(.max), usd(1)], currency: .usd) }
    }

    @Test("mixing currencies is an error naming both")
    func currencyMismatch() {
        let yen = Money(minorUnits: 100, currency: .jpy)
        #expect(throws: MoneyError.currencyMismatch(.usd, .jpy)) { try usd(100).adding(yen) }
        #expect(throws: MoneyError.currencyMismatch(.usd, .jpy)) { try usd(100).subtracting(yen) }
        #expect(throws: MoneyError.currencyMismatch(.usd, .jpy)) { try usd(100).isLess(than: yen) }
        #expect(throws: MoneyError.currencyMismatch(.usd, .jpy)) { try usd(100).isLessThanOrEqual(to: yen) }
        #expect(throws: MoneyError.currencyMismatch(.usd, .jpy)) {
            try Money.sum([usd(1), yen], currency: .usd)
        }
        #expect(usd(100) != yen)
        #expect(MoneyError.currencyMismatch(.usd, .jpy).description.contains("USD and JPY"))
    }

    @Test("negation, magnitude, multiplication, sums and comparisons")
    func otherOperations() throws {
        #expect(try usd(50).negated() == usd(-50))
        #expect(try usd(.max).negated() == usd(.min + 1))
        #expect(try usd(-50).magnitude() == usd(50))
        #expect(try usd(250).multiplied(by: 3) == usd(750))
        #expect(try usd(250).multiplied(by: -2) == usd(-500))
        #expect(try Money.sum([usd(1), usd(2), usd(3)], currency: .usd) == usd(6))
        #expect(try Money.sum([Money](), currency: .jpy) == .zero(.jpy))
        #expect(try usd(1).isLess(than: usd(2)))
        #expect(try !usd(2).isLess(than: usd(2)))
        #expect(try usd(2).isLessThanOrEqual(to: usd(2)))
        #expect(usd(0).isZero && usd(-1).isNegative && usd(1).isPositive)
    }

    @Test("adding then subtracting returns the start, whenever adding succeeds")
    func addSubtractProperty() async {
        await propertyCheck(input: Gen.int64(), Gen.int64()) { a, b in
            let (expected, overflow) = a.addingReportingOverflow(b)
            do {
                let sum = try usd(a).adding(usd(b))
                #expect(!overflow)
                #expect(sum.minorUnits == expected)
                #expect(try sum.subtracting(usd(b)) == usd(a))
            } catch {
                #expect(overflow)
                #expect(error as? MoneyError == .overflow)
            }
        }
    }
}
