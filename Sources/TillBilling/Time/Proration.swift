import Foundation
import TillCore

/// The share of a period still to run at an instant, as whole days: `remaining / total`.
///
/// Whole days, not seconds, because that is what a customer can check on an invoice
/// ("20 of 30 days") and what the big billing systems show; and a ratio of two integers,
/// not a fraction in floating point, so the money it is applied to stays exact until the
/// one rounding, named, at the end.
public struct ProrationFactor: Hashable, Sendable, Codable {
    public let remainingDays: Int64
    public let periodDays: Int64

    /// The factor of `period` at `date`, counted in the customer's local dates.
    ///
    /// The day on which a change happens counts as remaining, because the new terms apply
    /// from that day: upgrading 10 days after a 30-day period began leaves 20 of 30. A date
    /// before the period leaves all of it, one at or after its end none.
    ///
    /// - Throws: ``BillingError/invalid(_:_:code:)`` for `period` when it does not span at
    ///   least one local date boundary (it would divide by zero days).
    public init(period: BillingPeriod, at date: Date, calendar: BillingCalendar) throws(BillingError) {
        let total = Int64(calendar.days(from: period.start, to: period.end))
        guard total > 0 else {
            throw .invalid("period", "the period \(period.start) to \(period.end) covers no whole day to prorate over")
        }
        let remaining = Int64(calendar.days(from: date, to: period.end))
        self.remainingDays = min(max(remaining, 0), total)
        self.periodDays = total
    }

    /// - Throws: ``BillingError/invalid(_:_:code:)`` for `period_days` unless it is positive,
    ///   for `remaining_days` unless `0 <= remainingDays <= periodDays`: a credit can never
    ///   exceed what the whole period cost.
    public init(remainingDays: Int64, periodDays: Int64) throws(BillingError) {
        guard periodDays > 0 else { throw .invalid("period_days", "period_days must be positive, got \(periodDays)") }
        guard (0...periodDays).contains(remainingDays) else {
            throw .invalid("remaining_days", "remaining_days must be between 0 and \(periodDays), got \(remainingDays)")
        }
        self.remainingDays = remainingDays
        self.periodDays = periodDays
    }

    /// `amount × remaining / period`, rounded once with `rounding` (half-even by default):
    /// the credit for unused time, or the charge for the rest of a period at a new price.
    ///
    /// - Throws: ``BillingError/money(_:while:)`` when the result does not fit in minor units.
    public func unused(of amount: Money, rounding: RoundingMode = .halfEven) throws(BillingError) -> Money {
        do throws(MoneyError) {
            return try amount.multiplied(by: remainingDays, dividedBy: periodDays, rounding: rounding)
        } catch {
            throw .money(error, while: "prorating \(amount) by \(remainingDays)/\(periodDays) days")
        }
    }

    /// Whether nothing of the period has run yet, so the full amount applies and no
    /// proration line is needed.
    public var isWhole: Bool { remainingDays == periodDays }

    private enum CodingKeys: String, CodingKey {
        case remainingDays, periodDays
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let remaining = try c.decode(Int64.self, forKey: .remainingDays)
        let period = try c.decode(Int64.self, forKey: .periodDays)
        do throws(BillingError) {
            try self.init(remainingDays: remaining, periodDays: period)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .remainingDays, in: c, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(remainingDays, forKey: .remainingDays)
        try c.encode(periodDays, forKey: .periodDays)
    }
}
