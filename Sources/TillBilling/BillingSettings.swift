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

    public init(
        invoicePrefix: String = "INV", rounding: RoundingPolicy = .standard, retryDays: [Int] = [3, 5, 7],
        afterRetries: SubscriptionStatus = .unpaid, incompleteHours: Int = 23, maxGrowthFactor: Int64 = 10,
        maxInvoiceAmounts: [Currency: Int64] = [:]
    ) throws(BillingError) {
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
