import Foundation
import PropertyBased
import Testing
import TillBilling
import TillCore

private func at(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Date {
    try #require(try? Date(text, strategy: .iso8601), "not an RFC 3339 instant: \(text)", sourceLocation: sourceLocation)
}

private func param(of body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let error as BillingError {
        return error.param
    } catch {
        return "not a BillingError: \(error)"
    }
}

@Suite("Proration")
struct ProrationTests {
    /// April 2024 in UTC: 30 days.
    static func april() throws -> BillingPeriod {
        BillingPeriod(start: try at("2024-04-01T00:00:00Z"), end: try at("2024-05-01T00:00:00Z"))
    }

    static func factor(at text: String, zone: String = "UTC") throws -> ProrationFactor {
        try ProrationFactor(period: april(), at: at(text), calendar: BillingCalendar(timeZoneIdentifier: zone))
    }

    @Test("a change on day 11 of 30 leaves 20 of 30: the day of the change is remaining")
    func dayTen() throws {
        let factor = try Self.factor(at: "2024-04-11T00:00:00Z")
        #expect(factor == (try ProrationFactor(remainingDays: 20, periodDays: 30)))
        #expect(factor.remainingDays == 20 && factor.periodDays == 30)
        // Any time on that day is the same day.
        #expect(try Self.factor(at: "2024-04-11T23:59:59Z") == factor)
        #expect(!factor.isWhole)
    }

    @Test("the worked amounts: ¥667 credit and ¥1,333 charge, $20.00 of $30.00")
    func workedAmounts() throws {
        let factor = try Self.factor(at: "2024-04-11T09:30:00Z")
        #expect(try factor.unused(of: Money(minorUnits: 1000, currency: .jpy)) == Money(minorUnits: 667, currency: .jpy))
        #expect(try factor.unused(of: Money(minorUnits: 2000, currency: .jpy)) == Money(minorUnits: 1333, currency: .jpy))
        #expect(try factor.unused(of: Money(minorUnits: 3000, currency: .usd)) == Money(minorUnits: 2000, currency: .usd))
        // The rounding mode is the caller's to name.
        #expect(try factor.unused(of: Money(minorUnits: 1000, currency: .jpy), rounding: .down) == Money(minorUnits: 666, currency: .jpy))
        #expect(try factor.unused(of: Money(minorUnits: -1000, currency: .jpy)) == Money(minorUnits: -667, currency: .jpy))
    }

    @Test("before the period all of it remains; at or after its end none")
    func clamping() throws {
        #expect(try Self.factor(at: "2024-03-15T00:00:00Z") == ProrationFactor(remainingDays: 30, periodDays: 30))
        #expect(try Self.factor(at: "2024-04-01T00:00:00Z").isWhole)
        #expect(try Self.factor(at: "2024-04-30T12:00:00Z") == ProrationFactor(remainingDays: 1, periodDays: 30))
        #expect(try Self.factor(at: "2024-05-01T00:00:00Z") == ProrationFactor(remainingDays: 0, periodDays: 30))
        #expect(try Self.factor(at: "2025-01-01T00:00:00Z") == ProrationFactor(remainingDays: 0, periodDays: 30))
        #expect(try Self.factor(at: "2025-01-01T00:00:00Z").unused(of: Money(minorUnits: 3000, currency: .usd)).isZero)
    }

    @Test("days are counted in the customer's timezone")
    func localDays() throws {
        let tokyo = try BillingCalendar(timeZoneIdentifier: "Asia/Tokyo")
        let period = BillingPeriod(start: try at("2024-04-01T00:00:00+09:00"), end: try at("2024-05-01T00:00:00+09:00"))
        // Still 10 April in UTC, already 11 April in Tokyo.
        let factor = try ProrationFactor(period: period, at: at("2024-04-10T20:00:00Z"), calendar: tokyo)
        #expect(factor == (try ProrationFactor(remainingDays: 20, periodDays: 30)))
        // March in New York has a 23-hour day and still 31 days.
        let newYork = try BillingCalendar(timeZoneIdentifier: "America/New_York")
        let march = BillingPeriod(start: try at("2024-03-01T00:00:00-05:00"), end: try at("2024-04-01T00:00:00-04:00"))
        #expect(try ProrationFactor(period: march, at: at("2024-03-11T00:00:00-04:00"), calendar: newYork).remainingDays == 21)
        #expect(try ProrationFactor(period: march, at: at("2024-03-11T00:00:00-04:00"), calendar: newYork).periodDays == 31)
    }

    @Test("impossible factors and day-less periods are refused")
    func refusals() throws {
        #expect(param { _ = try ProrationFactor(remainingDays: 0, periodDays: 0) } == "period_days")
        #expect(param { _ = try ProrationFactor(remainingDays: -1, periodDays: 30) } == "remaining_days")
        #expect(param { _ = try ProrationFactor(remainingDays: 31, periodDays: 30) } == "remaining_days")
        let utc = try BillingCalendar(timeZoneIdentifier: "UTC")
        let hours = BillingPeriod(start: try at("2024-04-01T01:00:00Z"), end: try at("2024-04-01T05:00:00Z"))
        #expect(param { _ = try ProrationFactor(period: hours, at: hours.start, calendar: utc) } == "period")
        let backwards = BillingPeriod(start: try at("2024-05-01T00:00:00Z"), end: try at("2024-04-01T00:00:00Z"))
        #expect(param { _ = try ProrationFactor(period: backwards, at: backwards.end, calendar: utc) } == "period")
        let bad = Data(#"{"remainingDays":31,"periodDays":30}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ProrationFactor.self, from: bad) }
        let good = try ProrationFactor(remainingDays: 20, periodDays: 30)
        #expect(try JSONDecoder().decode(ProrationFactor.self, from: JSONEncoder().encode(good)) == good)
    }

    @Test("the unused share never exceeds the amount, and the share and the rest add up to it")
    func neverMoreThanPaid() async {
        await propertyCheck(
            count: 500, input: Gen.int64(in: -1_000_000_000_000...1_000_000_000_000), Gen.int64(in: 1...366), Gen.int64(in: 0...366)
        ) { units, period, rawRemaining throws in
            let remaining = rawRemaining % (period + 1)
            let factor = try ProrationFactor(remainingDays: remaining, periodDays: period)
            let rest = try ProrationFactor(remainingDays: period - remaining, periodDays: period)
            let amount = Money(minorUnits: units, currency: .usd)
            let unused = try factor.unused(of: amount, rounding: .down)
            #expect(unused.minorUnits.magnitude <= units.magnitude)
            #expect(unused.minorUnits == 0 || (unused.minorUnits < 0) == (units < 0))
            let used = try rest.unused(of: amount, rounding: .up)
            #expect(try unused.adding(used) == amount, "\(units) × \(remaining)/\(period)")
        }
    }
}
