import Foundation
import PropertyBased
import Testing
import TillBilling

/// An RFC 3339 instant; the offset in the text says which wall clock the test means.
private func at(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Date {
    try #require(try? Date(text, strategy: .iso8601), "not an RFC 3339 instant: \(text)", sourceLocation: sourceLocation)
}

private func calendar(_ identifier: String) throws -> BillingCalendar {
    try BillingCalendar(timeZoneIdentifier: identifier)
}

private func boundaries(
    _ calendar: BillingCalendar, anchor: Date, _ recurrence: Recurrence, _ indices: ClosedRange<Int>
) throws -> [Date] {
    try indices.map { index in try calendar.boundary(anchor: anchor, recurrence: recurrence, index: index) }
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

@Suite("BillingCalendar: recurrences and timezones")
struct BillingCalendarInputTests {
    @Test("interval counts keep a period to at most a year (three for yearly plans)")
    func recurrenceBounds() throws {
        for (interval, maximum) in [(BillingInterval.day, 365), (.week, 52), (.month, 12), (.year, 3)] {
            #expect(try Recurrence(interval, count: 1).count == 1)
            #expect(try Recurrence(interval, count: maximum).count == maximum)
            #expect(param { _ = try Recurrence(interval, count: maximum + 1) } == "interval_count")
            #expect(param { _ = try Recurrence(interval, count: 0) } == "interval_count")
            #expect(param { _ = try Recurrence(interval, count: -1) } == "interval_count")
        }
        #expect(try Recurrence(.month).count == 1)
    }

    @Test("a decoded recurrence is checked like a constructed one")
    func recurrenceCoding() throws {
        let quarterly = try Recurrence(.month, count: 3)
        let data = try JSONEncoder().encode(quarterly)
        #expect(try JSONDecoder().decode(Recurrence.self, from: data) == quarterly)
        let bad = Data(#"{"interval":"month","count":13}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Recurrence.self, from: bad) }
    }

    @Test("only IANA zone names are timezones", arguments: ["UTC", "GMT", "Asia/Tokyo", "America/New_York", "Europe/Paris", "America/Argentina/Buenos_Aires", "Etc/GMT-14"])
    func acceptsIANANames(_ identifier: String) throws {
        _ = try calendar(identifier)
    }

    @Test("abbreviations, offsets and unknown names are refused", arguments: ["", "JST", "EST", "GMT+9", "GMT+0900", "+09:00", "asia/tokyo", "Mars/Olympus", "Asia/Tokyo ", "../etc/passwd"])
    func refusesOthers(_ identifier: String) {
        #expect(param { _ = try calendar(identifier) } == "timezone")
    }

    @Test("a local date prints as ISO 8601 and orders by calendar")
    func localDates() throws {
        let date = try LocalDate(year: 2024, month: 2, day: 1)
        #expect(date.description == "2024-02-01")
        #expect(try LocalDate(year: 2024, month: 1, day: 31) < date)
        #expect(try LocalDate(year: 2023, month: 12, day: 31) < LocalDate(year: 2024, month: 1, day: 1))
        #expect(try LocalDate(year: 2024, month: 2, day: 29).day == 29)
        #expect(param { _ = try LocalDate(year: 2023, month: 2, day: 29) } == "date")
        #expect(param { _ = try LocalDate(year: 2024, month: 13, day: 1) } == "date")
        #expect(param { _ = try LocalDate(year: 0, month: 1, day: 1) } == "date")
        let bad = Data(#"{"year":2024,"month":4,"day":31}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(LocalDate.self, from: bad) }
        #expect(try JSONDecoder().decode(LocalDate.self, from: JSONEncoder().encode(date)) == date)
    }

    @Test("a period is half-open")
    func halfOpen() throws {
        let period = BillingPeriod(start: try at("2024-04-01T00:00:00Z"), end: try at("2024-05-01T00:00:00Z"))
        #expect(period.contains(period.start))
        #expect(period.contains(try at("2024-04-30T23:59:59Z")))
        #expect(!period.contains(period.end))
        #expect(!period.contains(try at("2024-03-31T23:59:59Z")))
    }
}

@Suite("BillingCalendar: month ends")
struct BillingCalendarMonthEndTests {
    @Test("31 January bills on the last day of shorter months and returns to the 31st")
    func thirtyFirst() throws {
        let utc = try calendar("UTC")
        let monthly = try Recurrence(.month)
        #expect(
            try boundaries(utc, anchor: at("2024-01-31T09:15:00Z"), monthly, 0...4) == [
                at("2024-01-31T09:15:00Z"), at("2024-02-29T09:15:00Z"), at("2024-03-31T09:15:00Z"),
                at("2024-04-30T09:15:00Z"), at("2024-05-31T09:15:00Z"),
            ])
        #expect(try utc.boundary(anchor: at("2023-01-31T09:15:00Z"), recurrence: monthly, index: 1) == at("2023-02-28T09:15:00Z"))
    }

    @Test("30 January goes to 29 February and back to 30 March, without drift")
    func thirtieth() throws {
        let utc = try calendar("UTC")
        #expect(
            try boundaries(utc, anchor: at("2024-01-30T00:00:00Z"), Recurrence(.month), 1...2) == [
                at("2024-02-29T00:00:00Z"), at("2024-03-30T00:00:00Z"),
            ])
    }

    @Test("29 February yearly is 28 February until the next leap year")
    func leapDay() throws {
        let utc = try calendar("UTC")
        #expect(
            try boundaries(utc, anchor: at("2024-02-29T12:00:00Z"), Recurrence(.year), 1...4) == [
                at("2025-02-28T12:00:00Z"), at("2026-02-28T12:00:00Z"), at("2027-02-28T12:00:00Z"),
                at("2028-02-29T12:00:00Z"),
            ])
    }

    @Test("month ends are the customer's: 31 January in Tokyo, and a quarterly plan")
    func localMonthEnd() throws {
        let tokyo = try calendar("Asia/Tokyo")
        #expect(
            try boundaries(tokyo, anchor: at("2024-01-31T00:00:00+09:00"), Recurrence(.month), 1...2) == [
                at("2024-02-29T00:00:00+09:00"), at("2024-03-31T00:00:00+09:00"),
            ])
        let utc = try calendar("UTC")
        #expect(
            try boundaries(utc, anchor: at("2024-01-31T00:00:00Z"), Recurrence(.month, count: 3), 1...4) == [
                at("2024-04-30T00:00:00Z"), at("2024-07-31T00:00:00Z"), at("2024-10-31T00:00:00Z"),
                at("2025-01-31T00:00:00Z"),
            ])
    }

    @Test("weeks and days step in whole local days")
    func daysAndWeeks() throws {
        let utc = try calendar("UTC")
        let anchor = try at("2024-02-27T08:00:00Z")
        #expect(try utc.boundary(anchor: anchor, recurrence: Recurrence(.day, count: 3), index: 1) == at("2024-03-01T08:00:00Z"))
        #expect(try utc.boundary(anchor: anchor, recurrence: Recurrence(.week, count: 2), index: 2) == at("2024-03-26T08:00:00Z"))
    }

    @Test("index 0 is the anchor, to the sub-second")
    func indexZero() throws {
        let anchor = Date(timeIntervalSince1970: 1_706_731_200.125)
        let utc = try calendar("UTC")
        #expect(try utc.boundary(anchor: anchor, recurrence: Recurrence(.month), index: 0) == anchor)
        let next = try utc.boundary(anchor: anchor, recurrence: Recurrence(.day), index: 1)
        #expect(next.timeIntervalSince(anchor) == 86_400)
    }

    @Test("negative and enormous indices are refused, never trapped on")
    func badIndices() throws {
        let utc = try calendar("UTC")
        let anchor = try at("2024-01-31T00:00:00Z")
        let monthly = try Recurrence(.month)
        #expect(param { _ = try utc.boundary(anchor: anchor, recurrence: monthly, index: -1) } == "index")
        #expect(param { _ = try utc.boundary(anchor: anchor, recurrence: monthly, index: .max) } == "index")
        #expect(param { _ = try utc.boundary(anchor: anchor, recurrence: Recurrence(.day, count: 365), index: .max / 2) } == "index")
        #expect(param { _ = try utc.period(anchor: anchor, recurrence: monthly, index: .max) } == "index")
        #expect(param { _ = try utc.boundary(anchor: .distantFuture.addingTimeInterval(1e12), recurrence: monthly, index: 1) } == "anchor")
        // The last boundary that still fits in year 9999.
        #expect(try utc.boundary(anchor: anchor, recurrence: monthly, index: (9999 - 2024) * 12 + 11) == at("9999-12-31T00:00:00Z"))
        #expect(param { _ = try utc.periodIndex(containing: anchor.addingTimeInterval(-1), anchor: anchor, recurrence: monthly) } == "date")
    }
}

@Suite("BillingCalendar: the customer's timezone")
struct BillingCalendarTimeZoneTests {
    @Test("2024-01-31T20:00Z is 1 February in Tokyo and 31 January in New York")
    func localDateOfAnInstant() throws {
        let event = try at("2024-01-31T20:00:00Z")
        #expect(try calendar("Asia/Tokyo").localDate(of: event) == LocalDate(year: 2024, month: 2, day: 1))
        #expect(try calendar("Asia/Tokyo").localDate(of: event).description == "2024-02-01")
        #expect(try calendar("America/New_York").localDate(of: event) == LocalDate(year: 2024, month: 1, day: 31))
        #expect(try calendar("UTC").localDate(of: event) == LocalDate(year: 2024, month: 1, day: 31))
    }

    @Test("a calendar-aligned monthly schedule bills that event in Tokyo's February")
    func tokyoFebruary() throws {
        let tokyo = try calendar("Asia/Tokyo")
        let monthly = try Recurrence(.month)
        let event = try at("2024-01-31T20:00:00Z")
        let anchor = tokyo.nextCalendarBoundary(after: try at("2024-01-20T10:00:00+09:00"), interval: .month)
        #expect(anchor == (try at("2024-02-01T00:00:00+09:00")))
        let index = try tokyo.periodIndex(containing: event, anchor: anchor, recurrence: monthly)
        let period = try tokyo.period(anchor: anchor, recurrence: monthly, index: index)
        #expect(index == 0)
        #expect(period == BillingPeriod(start: try at("2024-02-01T00:00:00+09:00"), end: try at("2024-03-01T00:00:00+09:00")))
        #expect(period.contains(event))
    }

    @Test("the same event is in New York's January")
    func newYorkJanuary() throws {
        let newYork = try calendar("America/New_York")
        let monthly = try Recurrence(.month)
        let event = try at("2024-01-31T20:00:00Z")
        let anchor = newYork.nextCalendarBoundary(after: try at("2023-12-20T10:00:00-05:00"), interval: .month)
        #expect(anchor == (try at("2024-01-01T00:00:00-05:00")))
        let period = try newYork.period(
            anchor: anchor, recurrence: monthly, index: newYork.periodIndex(containing: event, anchor: anchor, recurrence: monthly))
        #expect(period == BillingPeriod(start: try at("2024-01-01T00:00:00-05:00"), end: try at("2024-02-01T00:00:00-05:00")))
        // And a New York plan aligned from mid-January has not reached February yet.
        #expect(newYork.nextCalendarBoundary(after: try at("2024-01-15T00:00:00Z"), interval: .month) > event)
    }

    @Test("calendar boundaries are strictly after the start, one unit ahead whatever the count")
    func calendarBoundaries() throws {
        let tokyo = try calendar("Asia/Tokyo")
        // A Wednesday in Tokyo.
        let start = try at("2024-01-31T20:00:00Z")
        #expect(tokyo.nextCalendarBoundary(after: start, interval: .day) == (try at("2024-02-02T00:00:00+09:00")))
        #expect(tokyo.nextCalendarBoundary(after: start, interval: .week) == (try at("2024-02-05T00:00:00+09:00")))
        #expect(tokyo.nextCalendarBoundary(after: start, interval: .month) == (try at("2024-03-01T00:00:00+09:00")))
        #expect(tokyo.nextCalendarBoundary(after: start, interval: .year) == (try at("2025-01-01T00:00:00+09:00")))
        let utc = try calendar("UTC")
        // Exactly on a boundary: the next one, never the start itself.
        #expect(utc.nextCalendarBoundary(after: try at("2024-02-05T00:00:00Z"), interval: .week) == (try at("2024-02-12T00:00:00Z")))
        #expect(utc.nextCalendarBoundary(after: try at("2024-03-01T00:00:00Z"), interval: .month) == (try at("2024-04-01T00:00:00Z")))
        #expect(utc.nextCalendarBoundary(after: try at("2024-03-01T00:00:00Z"), interval: .day) == (try at("2024-03-02T00:00:00Z")))
        // A Sunday is a day before Monday; December rolls over the year.
        #expect(utc.nextCalendarBoundary(after: try at("2024-02-11T23:00:00Z"), interval: .week) == (try at("2024-02-12T00:00:00Z")))
        #expect(utc.nextCalendarBoundary(after: try at("2024-12-31T23:59:59Z"), interval: .month) == (try at("2025-01-01T00:00:00Z")))
        #expect(utc.nextCalendarBoundary(after: try at("2024-01-01T00:00:00Z"), interval: .year) == (try at("2025-01-01T00:00:00Z")))
    }

    @Test("start of day is local midnight")
    func startOfDay() throws {
        let tokyo = try calendar("Asia/Tokyo")
        #expect(tokyo.startOfDay(try at("2024-01-31T20:00:00Z")) == (try at("2024-02-01T00:00:00+09:00")))
        #expect(tokyo.startOfDay(try at("2024-02-01T00:00:00+09:00")) == (try at("2024-02-01T00:00:00+09:00")))
    }
}

@Suite("BillingCalendar: daylight saving")
struct BillingCalendarDSTTests {
    @Test("a daily schedule at 02:30 in New York jumps the spring-forward gap and keeps its time after")
    func springForward() throws {
        let newYork = try calendar("America/New_York")
        let anchor = try at("2024-03-09T02:30:00-05:00")
        #expect(
            try boundaries(newYork, anchor: anchor, Recurrence(.day), 0...3) == [
                anchor,
                // 02:30 on 10 March does not exist: the clocks go from 02:00 EST to 03:00 EDT.
                at("2024-03-10T03:00:00-04:00"),
                at("2024-03-11T02:30:00-04:00"),
                at("2024-03-12T02:30:00-04:00"),
            ])
        let period = try newYork.period(anchor: anchor, recurrence: Recurrence(.day), index: 1)
        #expect(newYork.days(from: period.start, to: period.end) == 1)
        // A monthly schedule lands in the gap once and is back at 02:30 the month after.
        #expect(
            try boundaries(newYork, anchor: at("2024-02-10T02:30:00-05:00"), Recurrence(.month), 1...2) == [
                at("2024-03-10T03:00:00-04:00"), at("2024-04-10T02:30:00-04:00"),
            ])
    }

    @Test("the day boundary over the gap: a 23-hour day and a 25-hour day are each one day")
    func dayBoundaries() throws {
        let newYork = try calendar("America/New_York")
        let noon = try at("2024-03-10T12:00:00-04:00")
        let midnight = newYork.startOfDay(noon)
        let next = newYork.nextCalendarBoundary(after: noon, interval: .day)
        #expect(midnight == (try at("2024-03-10T00:00:00-05:00")))
        #expect(next == (try at("2024-03-11T00:00:00-04:00")))
        #expect(next.timeIntervalSince(midnight) == 23 * 3600)
        #expect(newYork.days(from: midnight, to: next) == 1)
        #expect(newYork.days(from: try at("2024-03-09T12:00:00-05:00"), to: noon) == 1)
        #expect(newYork.days(from: try at("2024-03-10T00:30:00-05:00"), to: try at("2024-03-10T23:30:00-04:00")) == 0)
        let fallBack = newYork.startOfDay(try at("2024-11-03T12:00:00-05:00"))
        let after = newYork.nextCalendarBoundary(after: fallBack, interval: .day)
        #expect(after.timeIntervalSince(fallBack) == 25 * 3600)
        #expect(newYork.days(from: fallBack, to: after) == 1)
        // March 2024 has 743 hours in New York and 31 days.
        #expect(newYork.days(from: try at("2024-03-01T00:00:00-05:00"), to: try at("2024-04-01T00:00:00-04:00")) == 31)
        #expect(newYork.days(from: try at("2024-04-01T00:00:00-04:00"), to: try at("2024-03-01T00:00:00-05:00")) == -31)
    }

    @Test("a time that happens twice takes its first occurrence; an anchor in the second stays itself")
    func fallBack() throws {
        let newYork = try calendar("America/New_York")
        let daily = try Recurrence(.day)
        #expect(
            try boundaries(newYork, anchor: at("2024-11-02T01:30:00-04:00"), daily, 1...2) == [
                at("2024-11-03T01:30:00-04:00"), at("2024-11-04T01:30:00-05:00"),
            ])
        let second = try at("2024-11-03T01:30:00-05:00")
        #expect(
            try boundaries(newYork, anchor: second, daily, 0...1) == [second, at("2024-11-04T01:30:00-05:00")])
    }

    @Test("other zones' gaps: London at 01:00, Lord Howe's half hour, São Paulo's skipped midnight")
    func otherGaps() throws {
        let daily = try Recurrence(.day)
        let london = try calendar("Europe/London")
        #expect(try london.boundary(anchor: at("2024-03-30T01:30:00Z"), recurrence: daily, index: 1) == at("2024-03-31T02:00:00+01:00"))
        let lordHowe = try calendar("Australia/Lord_Howe")
        // 6 October 2024: 02:00 +10:30 becomes 02:30 +11:00.
        #expect(try lordHowe.boundary(anchor: at("2024-10-05T02:15:00+10:30"), recurrence: daily, index: 1) == at("2024-10-06T02:30:00+11:00"))
        let saoPaulo = try calendar("America/Sao_Paulo")
        // 4 November 2018 began at 01:00 -02:00: midnight did not happen.
        #expect(saoPaulo.startOfDay(try at("2018-11-04T12:00:00-02:00")) == (try at("2018-11-04T01:00:00-02:00")))
        #expect(saoPaulo.nextCalendarBoundary(after: try at("2018-11-03T12:00:00-03:00"), interval: .day) == (try at("2018-11-04T01:00:00-02:00")))
        // Samoa skipped 30 December 2011: a midnight schedule's period for that date is empty,
        // and the schedule still tiles.
        let apia = try calendar("Pacific/Apia")
        #expect(
            try boundaries(apia, anchor: at("2011-12-29T00:00:00-10:00"), daily, 1...3) == [
                at("2011-12-31T00:00:00+14:00"), at("2011-12-31T00:00:00+14:00"), at("2012-01-01T00:00:00+14:00"),
            ])
    }
}

@Suite("BillingCalendar: schedules tile and index")
struct BillingCalendarScheduleTests {
    static let zones = [
        "UTC", "Asia/Tokyo", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu",
        "Pacific/Chatham", "America/Sao_Paulo", "America/St_Johns", "Pacific/Apia",
    ]
    static let intervals = BillingInterval.allCases

    /// The period containing `date` by walking the schedule from the start: slow, obviously right.
    static func scan(_ calendar: BillingCalendar, _ date: Date, anchor: Date, _ recurrence: Recurrence) throws -> Int {
        var index = 0
        while try calendar.boundary(anchor: anchor, recurrence: recurrence, index: index + 1) <= date { index += 1 }
        return index
    }

    @Test("periodIndex agrees with a linear scan, and the periods around it tile")
    func indexMatchesScan() async {
        let anchors = Gen.int64(in: 946_684_800...2_208_988_800)  // 2000 ... 2040
        let elapsed = Gen.int64(in: 0...(3 * 366 * 86_400))
        let fractions = Gen.int(in: 0...999)
        await propertyCheck(
            count: 400,
            input: Gen.element(of: Self.zones), Gen.element(of: Self.intervals), Gen.int(in: 1...365), anchors, elapsed, fractions
        ) { zone, interval, rawCount, anchorSeconds, offset, millis throws in
            guard let zone, let interval else { return }
            let calendar = try BillingCalendar(timeZoneIdentifier: zone)
            // Mostly small counts, so the scan stays short; sometimes the largest allowed.
            let maximum = [BillingInterval.day: 365, .week: 52, .month: 12, .year: 3][interval] ?? 1
            let count = rawCount % 7 == 0 ? maximum : (rawCount - 1) % min(maximum, 4) + 1
            let recurrence = try Recurrence(interval, count: count)
            let anchor = Date(timeIntervalSince1970: TimeInterval(anchorSeconds) + TimeInterval(millis) / 1000)
            let date = anchor.addingTimeInterval(TimeInterval(offset))
            let index = try calendar.periodIndex(containing: date, anchor: anchor, recurrence: recurrence)
            #expect(index == (try Self.scan(calendar, date, anchor: anchor, recurrence)), "\(zone) \(recurrence) \(anchor) \(date)")
            let period = try calendar.period(anchor: anchor, recurrence: recurrence, index: index)
            let next = try calendar.period(anchor: anchor, recurrence: recurrence, index: index + 1)
            #expect(period.contains(date))
            #expect(period.start < period.end && period.end == next.start && next.start < next.end)
            // A boundary exactly on the date belongs to the period it starts.
            #expect(try calendar.periodIndex(containing: next.start, anchor: anchor, recurrence: recurrence) == index + 1)
        }
    }

    @Test("month and year schedules land on the anchor's day or the month's last, at the anchor's time")
    func monthDays() async {
        let zones = Self.zones.filter { $0 != "Pacific/Apia" }  // Apia skipped 30 December 2011 entirely.
        let anchors = Gen.int64(in: 946_684_800...2_208_988_800)
        await propertyCheck(
            count: 400, input: Gen.element(of: zones), Gen.bool(), Gen.int(in: 1...3), anchors, Gen.int(in: 0...60)
        ) { zone, yearly, count, anchorSeconds, index throws in
            guard let zone else { return }
            let calendar = try BillingCalendar(timeZoneIdentifier: zone)
            let recurrence = try Recurrence(yearly ? .year : .month, count: count)
            let anchor = Date(timeIntervalSince1970: TimeInterval(anchorSeconds))
            let boundary = try calendar.boundary(anchor: anchor, recurrence: recurrence, index: index)
            let start = calendar.localDate(of: anchor)
            let months = start.year * 12 + start.month - 1 + index * count * (yearly ? 12 : 1)
            let year = months / 12
            let month = months % 12 + 1
            let lastDay = (1...31).last { (try? LocalDate(year: year, month: month, day: $0)) != nil } ?? 28
            let expected = try LocalDate(year: year, month: month, day: min(start.day, lastDay))
            #expect(calendar.localDate(of: boundary) == expected, "\(zone) \(recurrence) \(anchor) #\(index)")
            // The wall-clock time of day is the anchor's, unless that time did not exist on
            // the day and the boundary is the instant the clocks jumped.
            let tz = calendar.timeZone
            let wallClock = { (date: Date) in
                (Int(date.timeIntervalSince1970.rounded(.down)) + tz.secondsFromGMT(for: date)) % 86_400
            }
            if wallClock(boundary) != wallClock(anchor) {
                #expect(tz.secondsFromGMT(for: boundary.addingTimeInterval(-1)) < tz.secondsFromGMT(for: boundary), "\(zone) \(anchor) #\(index)")
            }
        }
    }

    @Test("a date decades after the anchor is found without walking the schedule")
    func farDates() throws {
        let newYork = try calendar("America/New_York")
        let anchor = try at("2000-01-31T23:30:00-05:00")
        let date = try at("2095-07-04T12:00:00-04:00")
        for recurrence in [try Recurrence(.day), try Recurrence(.week), try Recurrence(.month), try Recurrence(.year, count: 3)] {
            let index = try newYork.periodIndex(containing: date, anchor: anchor, recurrence: recurrence)
            #expect(try newYork.period(anchor: anchor, recurrence: recurrence, index: index).contains(date))
        }
        #expect(try newYork.periodIndex(containing: date, anchor: anchor, recurrence: Recurrence(.day)) == newYork.days(from: anchor, to: date) - 1)
    }
}
