import Foundation

/// A day on the customer's wall calendar, with no time and no timezone.
///
/// Billing speaks in dates people see on invoices ("due 1 March"), and which date an
/// instant falls on depends on where the customer lives; keeping the date apart from the
/// instant stops one being mistaken for the other.
public struct LocalDate: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// - Throws: ``BillingError/invalid(_:_:code:)`` for `date` when the day does not exist
    ///   (30 February) or the year is outside 1...9999, the range every date here is kept in.
    public init(year: Int, month: Int, day: Int) throws(BillingError) {
        guard (1...9999).contains(year), (1...12).contains(month),
            (1...CivilCalendar.daysInMonth(year: year, month: month)).contains(day)
        else {
            throw .invalid("date", "\(year)-\(month)-\(day) is not a date between years 1 and 9999")
        }
        self.init(unchecked: year, month, day)
    }

    init(unchecked year: Int, _ month: Int, _ day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Days since 1970-01-01, so that counting days is a subtraction.
    var dayNumber: Int64 { CivilCalendar.dayNumber(year: year, month: month, day: day) }

    /// ISO 8601 (`2024-02-01`), the form the API and invoices print.
    public var description: String {
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))"
    }

    public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    private enum CodingKeys: String, CodingKey {
        case year, month, day
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let year = try c.decode(Int.self, forKey: .year)
        let month = try c.decode(Int.self, forKey: .month)
        let day = try c.decode(Int.self, forKey: .day)
        do throws(BillingError) {
            try self.init(year: year, month: month, day: day)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .day, in: c, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(year, forKey: .year)
        try c.encode(month, forKey: .month)
        try c.encode(day, forKey: .day)
    }
}

/// Billing time in one customer's timezone: where periods begin and end, which date an
/// instant is on, how many days are left.
///
/// Everything is computed on local wall-clock time and only then turned into an instant,
/// because that is what customers are promised: "renews on the 31st at 09:00", whatever
/// daylight saving does in between. The conversion is done here from the zone's UTC
/// offsets rather than by `Calendar`, so that what happens in a DST gap or overlap is
/// our stated rule and not a platform default. Dates are kept within years 1...9999:
/// functions that can throw refuse instants outside it, the others clamp to it.
public struct BillingCalendar: Sendable {
    public let timeZone: TimeZone

    /// - Throws: ``BillingError/invalid(_:_:code:)`` for `timezone` unless the identifier is
    ///   an IANA zone name ("Asia/Tokyo", "UTC"). Abbreviations ("JST", "EST") and fixed
    ///   offsets ("GMT+9") are refused even where Foundation knows them: abbreviations are
    ///   ambiguous between countries, and a fixed offset silently stops following the
    ///   customer's daylight saving.
    public init(timeZoneIdentifier identifier: String) throws(BillingError) {
        guard Self.looksLikeIANAName(identifier), let zone = TimeZone(identifier: identifier) else {
            throw .invalid("timezone", "\"\(identifier)\" is not an IANA timezone name such as \"Europe/Paris\" or \"UTC\"")
        }
        self.timeZone = zone
    }

    private static func looksLikeIANAName(_ identifier: String) -> Bool {
        if identifier == "UTC" || identifier == "GMT" { return true }
        let parts = identifier.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2, identifier.utf8.count <= 64 else { return false }
        return parts.allSatisfy { part in
            guard let first = part.unicodeScalars.first, ("A"..."Z").contains(first) else { return false }
            return part.unicodeScalars.allSatisfy { scalar in
                ("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
                    || scalar == "_" || scalar == "-" || scalar == "+"
            }
        }
    }

    // MARK: Dates

    /// The customer's local calendar date of an instant.
    public func localDate(of date: Date) -> LocalDate {
        CivilCalendar.date(ofDayNumber: localTime(of: date).dayNumber)
    }

    /// Local midnight of the instant's date (or, where midnight is skipped by a DST change,
    /// the first instant of that date).
    public func startOfDay(_ date: Date) -> Date {
        instant(localSeconds: localTime(of: date).dayNumber * CivilCalendar.secondsPerDay)
    }

    /// Whole local calendar days from the date of `from` to the date of `to`.
    ///
    /// Counted as dates, never as elapsed seconds over 86,400: a day with a DST change has 23
    /// or 25 hours and still counts as one, which is what a customer reading the invoice
    /// expects. Negative if `to` is earlier.
    public func days(from: Date, to: Date) -> Int {
        Int(localTime(of: to).dayNumber - localTime(of: from).dayNumber)
    }

    // MARK: Schedules

    /// The index-th boundary of a schedule anchored at `anchor`: `anchor + index × recurrence`
    /// in local wall-clock time.
    ///
    /// Months and years are added to the anchor's date in one step, never by stepping from
    /// the previous boundary, and the day is clamped to the target month's length: a
    /// schedule anchored on 31 January bills on 29 February and still on 31 March, rather
    /// than drifting to the 29th for ever after one short month. The anchor's time of day is
    /// kept. A local time skipped by a DST change moves forward to the first instant after
    /// the gap (the moment the clocks jump); a local time that happens twice takes the first.
    /// (A date a zone skipped altogether, like Samoa's 30 December 2011, resolves to the next
    /// day's first instant, so a daily period anchored at midnight there is empty once.)
    /// Index 0 is the anchor itself, exactly, even when its time of day happened twice.
    ///
    /// - Throws: ``BillingError/invalid(_:_:code:)`` for `index` when it is negative or the
    ///   boundary falls outside years 1...9999, for `anchor` when the anchor does.
    public func boundary(anchor: Date, recurrence: Recurrence, index: Int) throws(BillingError) -> Date {
        guard index >= 0 else { throw .invalid("index", "a period index cannot be negative, got \(index)") }
        let start = try checkedLocalTime(of: anchor, param: "anchor")
        if index == 0 { return anchor }
        let tooFar = BillingError.invalid("index", "boundary \(index) of this schedule falls after the year 9999")
        let (steps, stepsOverflow) = index.multipliedReportingOverflow(by: recurrence.count)
        guard !stepsOverflow else { throw tooFar }
        let day: Int64
        switch recurrence.interval {
        case .day, .week:
            let (daySteps, overflow) = Int64(steps).multipliedReportingOverflow(by: recurrence.interval == .week ? 7 : 1)
            guard !overflow, daySteps <= CivilCalendar.lastDayNumber - start.dayNumber else { throw tooFar }
            day = start.dayNumber + daySteps
        case .month, .year:
            let date = CivilCalendar.date(ofDayNumber: start.dayNumber)
            let (monthSteps, overflow) = steps.multipliedReportingOverflow(by: recurrence.interval == .year ? 12 : 1)
            let monthsSinceYearZero = date.year * 12 + (date.month - 1)
            guard !overflow, monthSteps <= 9999 * 12 + 11 - monthsSinceYearZero else { throw tooFar }
            let target = monthsSinceYearZero + monthSteps
            let year = target / 12
            let month = target % 12 + 1
            let clampedDay = min(date.day, CivilCalendar.daysInMonth(year: year, month: month))
            day = CivilCalendar.dayNumber(year: year, month: month, day: clampedDay)
        }
        return instant(
            localSeconds: day * CivilCalendar.secondsPerDay + start.secondOfDay, fraction: start.fraction)
    }

    /// Period number `index` (0-based) of the schedule: `[boundary(index), boundary(index + 1))`.
    ///
    /// Both ends come from the same rule, so consecutive periods share their boundary and
    /// tile time with no gap or overlap.
    public func period(anchor: Date, recurrence: Recurrence, index: Int) throws(BillingError) -> BillingPeriod {
        let (next, overflow) = index.addingReportingOverflow(1)
        guard !overflow else { throw .invalid("index", "period \(index) is beyond any schedule") }
        return BillingPeriod(
            start: try boundary(anchor: anchor, recurrence: recurrence, index: index),
            end: try boundary(anchor: anchor, recurrence: recurrence, index: next))
    }

    /// The index of the period that contains `date`.
    ///
    /// A daily plan running for years has thousands of periods, and the scheduler asks this
    /// on every tick, so the index is estimated from the calendar distance and then corrected
    /// by a step or two (clamped month ends and DST can move a boundary across the estimate).
    ///
    /// - Throws: ``BillingError/invalid(_:_:code:)`` for `date` when it is before the anchor.
    public func periodIndex(containing date: Date, anchor: Date, recurrence: Recurrence) throws(BillingError) -> Int {
        guard date >= anchor else { throw .invalid("date", "\(date) is before the schedule's anchor \(anchor)") }
        let from = try checkedLocalTime(of: anchor, param: "anchor")
        let to = try checkedLocalTime(of: date, param: "date")
        let elapsedDays = Int(to.dayNumber - from.dayNumber)
        let fromDate = CivilCalendar.date(ofDayNumber: from.dayNumber)
        let toDate = CivilCalendar.date(ofDayNumber: to.dayNumber)
        let elapsedMonths = (toDate.year - fromDate.year) * 12 + (toDate.month - fromDate.month)
        var index: Int
        switch recurrence.interval {
        case .day: index = elapsedDays / recurrence.count
        case .week: index = elapsedDays / (7 * recurrence.count)
        case .month: index = elapsedMonths / recurrence.count
        case .year: index = elapsedMonths / (12 * recurrence.count)
        }
        index = max(0, index)
        while index > 0, try boundary(anchor: anchor, recurrence: recurrence, index: index) > date {
            index -= 1
        }
        while try boundary(anchor: anchor, recurrence: recurrence, index: index + 1) <= date {
            index += 1
        }
        return index
    }

    /// The first calendar boundary of `interval` strictly after `start`, in local time: the
    /// next midnight (day), the next Monday 00:00 (week, ISO 8601), the next 1st at 00:00
    /// (month), the next 1 January 00:00 (year).
    ///
    /// A calendar-aligned schedule is anchored here; the stretch from `start` to it is the
    /// short first period. It is always a single-unit boundary, whatever the recurrence's
    /// count: a quarterly plan aligned to calendar months starts at the next 1st, not at the
    /// next quarter.
    public func nextCalendarBoundary(after start: Date, interval: BillingInterval) -> Date {
        let today = localTime(of: start).dayNumber
        let day: Int64
        switch interval {
        case .day:
            day = today + 1
        case .week:
            // 1970-01-01 was a Thursday, ISO weekday 4 (Monday is 1).
            let isoWeekday = CivilCalendar.floorMod(today + 3, 7) + 1
            day = today + (8 - isoWeekday)
        case .month:
            let date = CivilCalendar.date(ofDayNumber: today)
            day = date.month == 12
                ? CivilCalendar.dayNumber(year: date.year + 1, month: 1, day: 1)
                : CivilCalendar.dayNumber(year: date.year, month: date.month + 1, day: 1)
        case .year:
            day = CivilCalendar.dayNumber(year: CivilCalendar.date(ofDayNumber: today).year + 1, month: 1, day: 1)
        }
        return instant(localSeconds: day * CivilCalendar.secondsPerDay)
    }

    // MARK: Local time and back

    /// An instant as local wall-clock time: whole seconds since 1970-01-01T00:00 local, split
    /// into day and second of day, plus the sub-second part that wall-clock arithmetic
    /// carries along unchanged.
    struct LocalTime {
        var dayNumber: Int64
        var secondOfDay: Int64
        var fraction: Double
    }

    /// `date` in local time, clamped (before and after applying the offset) into years
    /// 1...9999 so that arithmetic never traps on an absurd instant (a non-finite one reads
    /// as the epoch).
    func localTime(of date: Date) -> LocalTime {
        let raw = date.timeIntervalSince1970
        let clamped = raw.isFinite ? min(max(raw, CivilCalendar.firstSecond), CivilCalendar.lastSecond) : 0
        let whole = clamped.rounded(.down)
        let unclamped = Int64(whole) + Int64(offset(atSeconds: Int64(whole)))
        let seconds = min(max(unclamped, Int64(CivilCalendar.firstSecond)), Int64(CivilCalendar.lastSecond))
        let day = CivilCalendar.floorDiv(seconds, CivilCalendar.secondsPerDay)
        return LocalTime(
            dayNumber: day, secondOfDay: seconds - day * CivilCalendar.secondsPerDay, fraction: clamped - whole)
    }

    private func checkedLocalTime(of date: Date, param: String) throws(BillingError) -> LocalTime {
        let raw = date.timeIntervalSince1970
        guard raw.isFinite, raw >= CivilCalendar.firstSecond, raw <= CivilCalendar.lastSecond else {
            throw .invalid(param, "\(param) must fall within years 1 to 9999")
        }
        return localTime(of: date)
    }

    private func offset(atSeconds seconds: Int64) -> Int {
        timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    /// The instant a local wall-clock time (whole seconds since 1970-01-01T00:00 local) means.
    ///
    /// The candidates are the local time less the offset in force a day before and a day
    /// after (no zone changes its offset twice within two days, nor by a day or more). A
    /// candidate whose own offset maps it back to the local time is an answer; with two, the
    /// local time happens twice and the earlier wins. With none, the local time falls in a
    /// gap, and the answer is the transition itself, found by bisection between the
    /// candidates: the first instant whose local time is past the one asked for.
    func instant(localSeconds local: Int64, fraction: Double = 0) -> Date {
        let day = CivilCalendar.secondsPerDay
        let candidates = Set([
            local - Int64(offset(atSeconds: local - day)), local - Int64(offset(atSeconds: local + day)),
        ]).sorted()
        for candidate in candidates where candidate + Int64(offset(atSeconds: candidate)) == local {
            return Date(timeIntervalSince1970: TimeInterval(candidate) + fraction)
        }
        guard var low = candidates.first, var high = candidates.last, low < high else {
            return Date(timeIntervalSince1970: TimeInterval(local))
        }
        // Invariant: the local time at `low` is before `local`, at `high` after it.
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if middle + Int64(offset(atSeconds: middle)) > local { high = middle } else { low = middle }
        }
        return Date(timeIntervalSince1970: TimeInterval(high))
    }
}

/// Proleptic Gregorian calendar arithmetic on day numbers (days since 1970-01-01), after
/// Howard Hinnant's `days_from_civil` and `civil_from_days`: exact integer formulas, with
/// nothing to configure and no locale to go wrong.
enum CivilCalendar {
    static let secondsPerDay: Int64 = 86_400
    /// 0001-01-01 and 9999-12-31, the range dates are kept in.
    static let firstDayNumber: Int64 = -719_162
    static let lastDayNumber: Int64 = 2_932_896
    static let firstSecond = TimeInterval(firstDayNumber * secondsPerDay)
    static let lastSecond = TimeInterval((lastDayNumber + 1) * secondsPerDay - 1)

    static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func dayNumber(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = floorDiv(y, 400)
        let yearOfEra = y - era * 400
        let shiftedMonth = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func date(ofDayNumber number: Int64) -> LocalDate {
        let z = number + 719_468
        let era = floorDiv(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return LocalDate(unchecked: Int(year), Int(month), Int(day))
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let quotient = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
    }

    static func floorMod(_ a: Int64, _ b: Int64) -> Int64 {
        a - floorDiv(a, b) * b
    }
}
