public import Foundation

/// A card's expiry month. A card is valid through the last day of that month.
///
/// Months are compared in UTC, so a card expiring in March is refused from 1 April 00:00 UTC.
public struct CardExpiry: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    /// 1 to 12.
    public let month: Int
    /// The four-digit year.
    public let year: Int

    /// How far ahead an expiry may lie; a later year is taken for a typing error.
    public static let maximumYearsAhead = 50

    /// Checks an expiry as entered and returns it with a four-digit year.
    ///
    /// - Parameters:
    ///   - month: 1 to 12.
    ///   - year: a four-digit year, or a two-digit one meaning 20YY.
    ///   - now: the moment to judge expiry against (pass the clock's time, never read it here).
    /// - Throws: ``CardValidationError`` with `invalid_expiry_month`, `invalid_expiry_year`
    ///   (not 0–99 or 1000–9999, or more than ``maximumYearsAhead`` years ahead) or
    ///   `expired_card`.
    public init(month: Int, year: Int, now: Date) throws(CardValidationError) {
        guard (1...12).contains(month) else { throw .invalidExpiryMonth(month) }
        let fullYear: Int
        switch year {
        case 0...99: fullYear = 2000 + year
        case 1000...9999: fullYear = year
        default:
            throw .invalidExpiryYear("the expiry year must have two or four digits, got \(year)")
        }
        let currentYear = Self.yearAndMonth(of: now).year
        if fullYear > currentYear + Self.maximumYearsAhead {
            throw .invalidExpiryYear(
                "the expiry year \(fullYear) is more than \(Self.maximumYearsAhead) years ahead")
        }
        let candidate = CardExpiry(uncheckedMonth: month, year: fullYear)
        if candidate.isExpired(at: now) {
            throw .expiredCard(month: month, year: fullYear)
        }
        self = candidate
    }

    /// An expiry read back from storage, already checked when it was stored.
    public init(uncheckedMonth month: Int, year: Int) {
        self.month = month
        self.year = year
    }

    /// Whether the card's last valid day lies before `now` (UTC).
    public func isExpired(at now: Date) -> Bool {
        let (currentYear, currentMonth) = Self.yearAndMonth(of: now)
        return (year, month) < (currentYear, currentMonth)
    }

    /// `MM/YYYY`.
    public var description: String {
        (month < 10 ? "0\(month)" : "\(month)") + "/\(year)"
    }

    public static func < (lhs: CardExpiry, rhs: CardExpiry) -> Bool {
        (lhs.year, lhs.month) < (rhs.year, rhs.month)
    }

    private static func yearAndMonth(of date: Date) -> (year: Int, month: Int) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        let components = calendar.dateComponents([.year, .month], from: date)
        return (components.year ?? 0, components.month ?? 0)
    }
}
