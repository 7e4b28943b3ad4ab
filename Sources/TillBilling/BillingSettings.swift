import TillCore

/// A merchant's billing choices, with the defaults a new merchant starts from.
public struct BillingSettings: Hashable, Sendable, Codable {
    /// Put before every invoice number: `INV-000042`.
    public var invoicePrefix: String
    public var rounding: RoundingPolicy
    /// Days after the first failed collection on which it is retried.
    public var retryDays: [Int]
    /// What a subscription becomes when the last retry fails.
    public var afterRetries: SubscriptionStatus
    /// Hours a first invoice may stay unpaid before the subscription's start is void.
    public var incompleteHours: Int
    /// The safety bound: an invoice above this many times the subscription's previous one
    /// (when there was one) is held instead of charged.
    public var maxGrowthFactor: Int64
    /// Per-currency ceilings on one invoice's total (minor units), beyond which it is held.
    public var maxInvoiceAmounts: [Currency: Int64]
    /// How many days late a usage event may arrive: it lands in its own period, and in a
    /// correction line on the next invoice if that period is already invoiced.
    public var usageGraceDays: Int
    /// Days before an open invoice's due date on which the customer is reminded.
    public var reminderDaysBeforeDue: [Int]
    /// Days after the due date of the three overdue notices (levels 1, 2 and 3).
    public var overdueNoticeDays: [Int]
    /// Charged once, as an invoice of its own, when an invoice reaches the first overdue level.
    public var lateFee: LateFee?

    public init(
        invoicePrefix: String = "INV", rounding: RoundingPolicy = .standard, retryDays: [Int] = [3, 5, 7],
        afterRetries: SubscriptionStatus = .unpaid, incompleteHours: Int = 23, maxGrowthFactor: Int64 = 10,
        maxInvoiceAmounts: [Currency: Int64] = [:], usageGraceDays: Int = 3, reminderDaysBeforeDue: [Int] = [3],
        overdueNoticeDays: [Int] = [1, 7, 14], lateFee: LateFee? = nil
    ) throws(BillingError) {
        guard (0...35).contains(usageGraceDays) else {
            throw .invalid("usage_grace_days", "usage_grace_days must be 0 to 35 (Stripe takes meter events up to 35 days late)")
        }
        guard reminderDaysBeforeDue.count <= 3, reminderDaysBeforeDue.allSatisfy({ (1...30).contains($0) }),
            Set(reminderDaysBeforeDue).count == reminderDaysBeforeDue.count
        else {
            throw .invalid("reminder_days_before_due", "up to 3 distinct numbers of days from 1 to 30")
        }
        guard overdueNoticeDays.count <= 3, overdueNoticeDays.allSatisfy({ (1...90).contains($0) }),
            overdueNoticeDays == overdueNoticeDays.sorted(), Set(overdueNoticeDays).count == overdueNoticeDays.count
        else {
            throw .invalid("overdue_notice_days", "up to 3 increasing numbers of days from 1 to 90, one per overdue level")
        }
        if let lateFee { try lateFee.validate() }
        try Self.check(prefix: invoicePrefix)
        guard retryDays.count <= 8, retryDays.allSatisfy({ (1...60).contains($0) }), retryDays == retryDays.sorted(),
            Set(retryDays).count == retryDays.count
        else {
            throw .invalid("retry_days", "retry days are up to 8 distinct, increasing numbers of days from 1 to 60")
        }
        guard afterRetries == .unpaid || afterRetries == .canceled else {
            throw .invalid("after_retries", "after the last retry a subscription becomes unpaid or canceled")
        }
        guard (1...720).contains(incompleteHours) else { throw .invalid("incomplete_hours", "incomplete_hours must be 1 to 720") }
        guard (2...1_000).contains(maxGrowthFactor) else {
            throw .invalid("max_growth_factor", "max_growth_factor must be 2 to 1000")
        }
        guard maxInvoiceAmounts.values.allSatisfy({ $0 > 0 }) else {
            throw .invalid("max_invoice_amounts", "a ceiling must be a positive amount")
        }
        self.invoicePrefix = invoicePrefix
        self.rounding = rounding
        self.retryDays = retryDays
        self.afterRetries = afterRetries
        self.incompleteHours = incompleteHours
        self.maxGrowthFactor = maxGrowthFactor
        self.maxInvoiceAmounts = maxInvoiceAmounts
        self.usageGraceDays = usageGraceDays
        self.reminderDaysBeforeDue = reminderDaysBeforeDue.sorted(by: >)
        self.overdueNoticeDays = overdueNoticeDays
        self.lateFee = lateFee
    }

    enum CodingKeys: String, CodingKey {
        case invoicePrefix, rounding, retryDays, afterRetries, incompleteHours, maxGrowthFactor, maxInvoiceAmounts
        case usageGraceDays, reminderDaysBeforeDue, overdueNoticeDays, lateFee
    }

    // Settings saved before a field existed read as its default.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self.defaults
        invoicePrefix = try c.decode(String.self, forKey: .invoicePrefix)
        rounding = try c.decode(RoundingPolicy.self, forKey: .rounding)
        retryDays = try c.decode([Int].self, forKey: .retryDays)
        afterRetries = try c.decode(SubscriptionStatus.self, forKey: .afterRetries)
        incompleteHours = try c.decode(Int.self, forKey: .incompleteHours)
        maxGrowthFactor = try c.decode(Int64.self, forKey: .maxGrowthFactor)
        maxInvoiceAmounts = try c.decode([Currency: Int64].self, forKey: .maxInvoiceAmounts)
        usageGraceDays = try c.decodeIfPresent(Int.self, forKey: .usageGraceDays) ?? d.usageGraceDays
        reminderDaysBeforeDue = try c.decodeIfPresent([Int].self, forKey: .reminderDaysBeforeDue) ?? d.reminderDaysBeforeDue
        overdueNoticeDays = try c.decodeIfPresent([Int].self, forKey: .overdueNoticeDays) ?? d.overdueNoticeDays
        lateFee = try c.decodeIfPresent(LateFee.self, forKey: .lateFee)
    }

    public static let defaults: BillingSettings = {
        do {
            return try BillingSettings()
        } catch {
            preconditionFailure("the default billing settings are valid: \(error)")
        }
    }()

    /// 1 to 12 upper-case letters, digits or dashes: numbers stay short and unambiguous.
    public static func check(prefix: String) throws(BillingError) {
        let allowed = prefix.utf8.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
        guard (1...12).contains(prefix.utf8.count), allowed else {
            throw .invalid("invoice_prefix", "an invoice prefix is 1 to 12 upper-case letters, digits or dashes")
        }
    }

    /// The invoice number for the `value`-th invoice under `prefix`.
    public static func invoiceNumber(prefix: String, _ value: Int64) -> String {
        let digits = String(value)
        return prefix + "-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// Why `total` must not be charged without a person looking, if it must not.
    public func safetyConcern(total: Money, previous: Money?) -> String? {
        if let ceiling = maxInvoiceAmounts[total.currency], total.minorUnits > ceiling {
            return "the total \(total) is above the ceiling of \(Money(minorUnits: ceiling, currency: total.currency))"
        }
        if let previous, previous.isPositive, total.minorUnits / maxGrowthFactor > previous.minorUnits {
            return "the total \(total) is more than \(maxGrowthFactor) times the previous invoice's \(previous)"
        }
        return nil
    }
}

/// A fee for paying late: a flat amount per currency, a share of the overdue amount, or both.
public struct LateFee: Hashable, Sendable, Codable {
    /// Minor units per currency; an invoice in a currency not listed gets only the share.
    public var flat: [Currency: Int64]
    /// Hundredths of a percent of the amount still due (150 = 1.5 %).
    public var basisPoints: Int64

    public init(flat: [Currency: Int64] = [:], basisPoints: Int64 = 0) throws(BillingError) {
        self.flat = flat
        self.basisPoints = basisPoints
        try validate()
    }

    func validate() throws(BillingError) {
        guard flat.values.allSatisfy({ $0 > 0 && $0 <= 100_000_000 }), (0...2_500).contains(basisPoints),
            !flat.isEmpty || basisPoints > 0
        else {
            throw .invalid("late_fee", "a late fee is positive flat amounts per currency and/or 0 to 2500 basis points (25 %)")
        }
    }

    /// The fee on `due`, rounded by `rounding`; zero when nothing applies.
    public func amount(on due: Money, rounding: RoundingMode) throws(BillingError) -> Money {
        var fee = Money(minorUnits: flat[due.currency] ?? 0, currency: due.currency)
        do {
            if basisPoints > 0 { fee = try fee.adding(due.multiplied(byBasisPoints: basisPoints, rounding: rounding)) }
        } catch {
            throw .money(error, while: "the late fee on \(due)")
        }
        return fee
    }
}
