import Foundation
import PropertyBased
import Testing
import TillBilling
import TillCore

private func d(_ text: String) throws -> UsageDecimal { try UsageDecimal(parsing: text) }

/// Lago's example table: 0.10¢, 0.08¢, 0.06¢ and 0.04¢ a call, $10 flat per tier.
private func lagoTiers() throws -> [UsageTier] {
    [
        UsageTier(upTo: try d("10000"), unitAmount: try d("0.1"), flatAmount: 1000),
        UsageTier(upTo: try d("50000"), unitAmount: try d("0.08"), flatAmount: 1000),
        UsageTier(upTo: try d("100000"), unitAmount: try d("0.06"), flatAmount: 1000),
        UsageTier(upTo: nil, unitAmount: try d("0.04"), flatAmount: 1000),
    ]
}

@Suite("Usage pricing and exact decimals")
struct UsagePricingTests {
    @Test("Lago's table on 65,000 calls: volume $49, graduated $81")
    func lagoTable() throws {
        let usd = try #require(Currency(code: "USD"))
        let quantity = try d("65000")
        #expect(try UsageModel.volume(lagoTiers()).amount(for: quantity, currency: usd, rounding: .halfEven).minorUnits == 4900)
        #expect(try UsageModel.graduated(lagoTiers()).amount(for: quantity, currency: usd, rounding: .halfEven).minorUnits == 8100)
    }

    @Test("a tier's up_to is inclusive: the 10,000th unit is in the first tier, the 10,001st in the second")
    func boundaries() throws {
        let volume = UsageModel.volume(try lagoTiers())
        #expect(try volume.exactAmount(for: d("10000")).amount == d("2000"))  // 10,000 × 0.1 + 1,000
        #expect(try volume.exactAmount(for: d("10001")).amount == d("1800.08"))  // 10,001 × 0.08 + 1,000
        let graduated = UsageModel.graduated(try lagoTiers())
        #expect(try graduated.exactAmount(for: d("10000")).amount == d("2000"))
        #expect(try graduated.exactAmount(for: d("10001")).amount == d("3000.08"))
        #expect(try graduated.exactAmount(for: .zero).amount == .zero, "zero usage charges no flat fee")
    }

    @Test("packages: partial packages round up, after the free units")
    func packages() throws {
        let model = UsageModel.package(size: 100, amount: 500, freeUnits: 50)
        #expect(try model.exactAmount(for: d("50")).amount == .zero)
        #expect(try model.exactAmount(for: d("51")).amount == d("500"))
        #expect(try model.exactAmount(for: d("150")).amount == d("500"))
        #expect(try model.exactAmount(for: d("150.5")).amount == d("1000"))
    }

    @Test("per-unit sub-cent prices round once, by the named mode")
    func perUnitRounding() throws {
        let usd = try #require(Currency(code: "USD"))
        let model = UsageModel.perUnit(unitAmount: try d("0.005"))
        // 2,345 × 0.005 = 11.725 cents.
        #expect(try model.amount(for: d("2345"), currency: usd, rounding: .halfEven).minorUnits == 12)
        #expect(try model.amount(for: d("2345"), currency: usd, rounding: .down).minorUnits == 11)
        // 2,500 × 0.005 = 12.5 cents: half-even keeps 12, half-up goes to 13.
        #expect(try model.amount(for: d("2500"), currency: usd, rounding: .halfEven).minorUnits == 12)
        #expect(try model.amount(for: d("2500"), currency: usd, rounding: .halfUp).minorUnits == 13)
    }

    @Test("tiers must increase, and only the last may be open")
    func badTiers() throws {
        #expect(throws: BillingError.self) {
            try UsageModel.graduated([UsageTier(upTo: nil, unitAmount: .zero), UsageTier(upTo: nil, unitAmount: .zero)]).validate()
        }
        #expect(throws: BillingError.self) {
            try UsageModel.volume([
                UsageTier(upTo: try d("10"), unitAmount: .zero), UsageTier(upTo: try d("5"), unitAmount: .zero),
                UsageTier(upTo: nil, unitAmount: .zero),
            ]).validate()
        }
        #expect(throws: BillingError.self) { try UsageModel.package(size: 0, amount: 1, freeUnits: 0).validate() }
    }

    @Test("decimal text is parsed strictly and printed exactly")
    func parsing() throws {
        #expect(try d("0012.500").description == "12.5")
        #expect(try d("-0.0006").description == "-0.0006")
        #expect(try d("65000").description == "65000")
        for bad in ["", "-", ".", "1.", "1e5", "+1", " 1", "1,5", "0x10", "1.0000000000001", "1234567890123456"] {
            #expect(throws: BillingError.self, "\(bad)") { try UsageDecimal(parsing: bad) }
        }
    }

    @Test("a hundred thousand 0.1 GB events sum to exactly 10,000 GB")
    func exactSum() throws {
        let metric = try BillableMetric(id: "bm_1", code: "storage", name: "GB", aggregation: .sum, property: "gb", createdAt: Date())
        let values = Array(repeating: "0.1", count: 100_000)
        #expect(try metric.quantity(from: .values(values)) == d("10000"))
    }

    @Test("max and latest read the values exactly; filters match listed values only")
    func aggregations() throws {
        let max = try BillableMetric(id: "bm_2", code: "peak", name: "Peak", aggregation: .max, property: "n", createdAt: Date())
        #expect(try max.quantity(from: .values(["3", "12.25", "-1", "12.2"])) == d("12.25"))
        let latest = try BillableMetric(id: "bm_3", code: "seats", name: "Seats", aggregation: .latest, property: "n", createdAt: Date())
        #expect(try latest.quantity(from: .latest(nil)) == .zero)
        let filtered = try BillableMetric(
            id: "bm_4", code: "calls", name: "Calls", aggregation: .count, property: nil,
            filters: [UsageFilter(key: "region", values: ["eu", "us"])], createdAt: Date())
        #expect(filtered.matches(["region": "eu"]))
        #expect(!filtered.matches(["region": "apac"]))
        #expect(!filtered.matches([:]))
        #expect(throws: BillingError.self) { try max.value(of: ["n": "twelve"]) }
        #expect(throws: BillingError.self) { try max.value(of: [:]) }
    }

    @Test("property: graduated never charges more than pricing every unit at the first tier's price plus all flat fees, and grows with usage")
    func graduatedIsMonotone() async {
        await propertyCheck(count: 200, input: Gen.int64(in: 0...1_000_000), Gen.int64(in: 0...1_000)) { base, extra in
            let graduated = UsageModel.graduated(try lagoTiers())
            let lower = try graduated.exactAmount(for: UsageDecimal(base)).amount
            let higher = try graduated.exactAmount(for: UsageDecimal(base + extra)).amount
            #expect(lower <= higher)
            let ceiling = try UsageDecimal(base).multiplied(by: d("0.1")).adding(UsageDecimal(4000))
            #expect(lower <= ceiling)
        }
    }
}

@Suite("Dunning notices")
struct DunningNoticeTests {
    @Test("notices fall at 09:00 local on their days, across a DST change (New York, March 2024)")
    func schedule() throws {
        let customer = try Customer(id: "cus_1", timeZone: "America/New_York", createdAt: Date(timeIntervalSince1970: 0))
        var invoice = Invoice(
            id: "inv_1", customer: customer, subscriptionID: nil, reason: .manual, currency: try #require(Currency(code: "USD")),
            lines: [], discounts: [], rounding: .standard, collection: .sendInvoice, daysUntilDue: 10,
            createdAt: try #require(try? Date("2024-03-01T15:00:00Z", strategy: .iso8601)))
        _ = try invoice.finalize(number: "INV-1", customer: customer, at: invoice.createdAt)
        let settings = try BillingSettings(reminderDaysBeforeDue: [3], overdueNoticeDays: [1, 7, 14])
        let notices = try InvoiceNotice.schedule(for: invoice, settings: settings, calendar: try customer.calendar())
        #expect(notices.map(\.key) == ["reminder-3d", "overdue-1", "overdue-2", "overdue-3"])
        // Due 11 March; DST starts 10 March, so 09:00 is 14:00Z before and 13:00Z after.
        #expect(notices.map { RFC3339.format($0.at) } == [
            "2024-03-08T14:00:00Z", "2024-03-12T13:00:00Z", "2024-03-18T13:00:00Z", "2024-03-25T13:00:00Z",
        ])
        #expect(Dunning.isHardDecline("lost_or_stolen"))
        #expect(!Dunning.isHardDecline("insufficient_funds"))
    }

    @Test("a late fee is its flat amount plus its share, rounded by the named mode")
    func lateFee() throws {
        let usd = try #require(Currency(code: "USD"))
        let fee = try LateFee(flat: [usd: 500], basisPoints: 150)
        #expect(try fee.amount(on: Money(minorUnits: 10_033, currency: usd), rounding: .halfEven).minorUnits == 500 + 150)
        #expect(throws: BillingError.self) { try LateFee(flat: [:], basisPoints: 0) }
    }
}
