import Foundation
import PropertyBased
import Testing
import TillBilling
import TillCore

@Suite("Subscriptions")
struct SubscriptionTests {
    static let utc = Date(timeIntervalSince1970: 0)

    static func date(_ text: String) -> Date {
        (try? Date(text, strategy: .iso8601)) ?? utc
    }

    static func price(_ id: String, _ amount: Int64, _ currency: Currency = .usd) throws -> Price {
        try Price(
            id: id, productID: "prod_1", unitAmounts: [Money(minorUnits: amount, currency: currency)],
            kind: .recurring(try Recurrence(.month)), createdAt: utc)
    }

    static func subscription(items: [SubscriptionItem], schedule: BillingSchedule, status: SubscriptionStatus = .active) throws -> Subscription {
        try Subscription(
            id: "sub_1", customerID: "cus_1", status: status, items: items, currency: .usd, alignment: .anniversary,
            collection: .chargeAutomatically, daysUntilDue: 30, taxRateIDs: [], discount: nil, schedule: schedule,
            trialEnd: nil, metadata: [:], createdAt: utc)
    }

    @Test("every status answers every operation: allowed, ignored, or refused with a code that names the status")
    func lifecycleIsTotal() throws {
        let calendar = try BillingCalendar(timeZoneIdentifier: "UTC")
        let schedule = try BillingSchedule.starting(
            at: Self.date("2024-04-01T00:00:00Z"), recurrence: try Recurrence(.month), alignment: .anniversary, calendar: calendar)
        for status in SubscriptionStatus.allCases {
            for operation in SubscriptionOperation.allCases {
                let subscription = try Self.subscription(
                    items: [try SubscriptionItem(id: "si_1", priceID: "price_1", quantity: 1)], schedule: schedule, status: status)
                do {
                    let verdict = try SubscriptionLifecycle.check(operation, subscription)
                    #expect(verdict != .refused)
                } catch {
                    #expect(error.kind == .conflict)
                    #expect(error.message.contains(status.rawValue))
                }
            }
        }
        // Nothing revives an ended subscription.
        for status in [SubscriptionStatus.canceled, .incompleteExpired] {
            for operation in [SubscriptionOperation.renew, .changeItems, .resume, .pause] {
                let rule = SubscriptionLifecycle.table.rule(
                    for: operation, in: status,
                    subject: try Self.subscription(
                        items: [try SubscriptionItem(id: "si_1", priceID: "price_1", quantity: 1)], schedule: schedule))
                #expect(rule?.verdict != .allowed, "\(operation) from \(status)")
            }
        }
    }

    @Test("a change while the previous change's invoice is unpaid is refused as in flight")
    func changeInFlight() throws {
        let calendar = try BillingCalendar(timeZoneIdentifier: "UTC")
        let schedule = try BillingSchedule.starting(
            at: Self.date("2024-04-01T00:00:00Z"), recurrence: try Recurrence(.month), alignment: .anniversary, calendar: calendar)
        var subscription = try Self.subscription(
            items: [try SubscriptionItem(id: "si_1", priceID: "price_1", quantity: 1)], schedule: schedule)
        #expect(try SubscriptionLifecycle.check(.changeItems, subscription) == .allowed)
        subscription.changeInvoiceID = "inv_1"
        #expect(throws: BillingError.self) { try SubscriptionLifecycle.check(.changeItems, subscription) }
        do {
            try SubscriptionLifecycle.check(.changeItems, subscription)
        } catch {
            #expect(error.code == "subscription_change_in_flight")
        }
    }

    @Test("a quantity of zero, or a price twice, is refused")
    func badItems() throws {
        #expect(throws: BillingError.self) { try SubscriptionItem(id: "si_1", priceID: "price_1", quantity: 0) }
        let calendar = try BillingCalendar(timeZoneIdentifier: "UTC")
        let schedule = try BillingSchedule.starting(
            at: Self.date("2024-04-01T00:00:00Z"), recurrence: try Recurrence(.month), alignment: .anniversary, calendar: calendar)
        let item = try SubscriptionItem(id: "si_1", priceID: "price_1", quantity: 1)
        let twin = try SubscriptionItem(id: "si_2", priceID: "price_1", quantity: 2)
        #expect(throws: BillingError.self) { try Self.subscription(items: [item, twin], schedule: schedule) }
    }

    @Test("calendar alignment: a Tokyo start on 15 January runs to local 1 February, prorated 17/31")
    func calendarStart() throws {
        let calendar = try BillingCalendar(timeZoneIdentifier: "Asia/Tokyo")
        let start = Self.date("2024-01-15T03:00:00Z")  // 12:00 in Tokyo
        let schedule = try BillingSchedule.starting(
            at: start, recurrence: try Recurrence(.month), alignment: .calendar, calendar: calendar)
        #expect(schedule.anchor == Self.date("2023-12-31T15:00:00Z"))  // 1 January 00:00 in Tokyo
        #expect(schedule.current == BillingPeriod(start: start, end: Self.date("2024-01-31T15:00:00Z")))
        let slot = try schedule.slot(in: calendar)
        let factor = try ProrationFactor(period: slot, at: start, calendar: calendar)
        #expect(factor.remainingDays == 17 && factor.periodDays == 31)
        let next = try schedule.next(in: calendar)
        #expect(next.current == BillingPeriod(start: Self.date("2024-01-31T15:00:00Z"), end: Self.date("2024-02-29T15:00:00Z")))
    }

    @Test("an invoice sent on 31 January 20:00 UTC to a Tokyo customer with 14 days is due at the end of 15 February, Tokyo time")
    func dueDateIsLocal() throws {
        let customer = try Customer(id: "cus_1", timeZone: "Asia/Tokyo", createdAt: Self.utc)
        var invoice = Invoice(
            id: "inv_1", customer: customer, subscriptionID: nil, reason: .manual, currency: .usd,
            lines: [InvoiceLine(id: "il_1", description: "Setup", amount: Money(minorUnits: 5_000, currency: .usd))],
            discounts: [], rounding: .standard, collection: .sendInvoice, daysUntilDue: 14, createdAt: Self.utc)
        _ = try invoice.finalize(number: "INV-000001", customer: customer, at: Self.date("2024-01-31T20:00:00Z"))
        #expect(invoice.dueDateLocal == "2024-02-15")
        #expect(invoice.dueDate == Self.date("2024-02-15T14:59:59Z"))
        #expect(invoice.status == .open)
        #expect(throws: BillingError.self) {
            try invoice.add(InvoiceLine(id: "il_2", description: "More", amount: Money(minorUnits: 1, currency: .usd)))
        }
    }

    @Test("the safety bound names what it found: a ceiling, or a jump over the growth factor")
    func safetyBound() throws {
        let settings = try BillingSettings(maxGrowthFactor: 10, maxInvoiceAmounts: [.usd: 100_000])
        #expect(settings.safetyConcern(total: Money(minorUnits: 900, currency: .usd), previous: Money(minorUnits: 100, currency: .usd)) == nil)
        #expect(settings.safetyConcern(total: Money(minorUnits: 1_100, currency: .usd), previous: Money(minorUnits: 100, currency: .usd)) != nil)
        #expect(settings.safetyConcern(total: Money(minorUnits: 100_001, currency: .usd), previous: nil) != nil)
        #expect(settings.safetyConcern(total: Money(minorUnits: 5_000, currency: .usd), previous: nil) == nil)
        #expect(throws: BillingError.self) { try BillingSettings(invoicePrefix: "inv lower") }
        #expect(BillingSettings.invoiceNumber(prefix: "INV", 42) == "INV-000042")
    }

    /// Any run of renewals and mid-period upgrades, in any timezone and from any anchor: the
    /// periods billed tile time with no gap or overlap, every proration lies inside its
    /// period, and no credit exceeds what the item was charged for that period.
    @Test("a subscription's periods tile time, and its credits never exceed what was charged, over any sequence of changes")
    func tiling() async throws {
        let zones = ["UTC", "Asia/Tokyo", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Europe/London"]
        await propertyCheck(
            count: 200, input: Gen.int(in: 0..<zones.count), Gen.int64(in: 0...(4 * 365 * 86_400)),
            Gen.int(in: 0..<64), Gen.int(in: 1...12)
        ) { zone, offset, choices, steps throws in
            let calendar = try BillingCalendar(timeZoneIdentifier: zones[zone])
            let start = Date(timeIntervalSince1970: 1_700_000_000 + TimeInterval(offset))
            let prices = [try Self.price("p1", 1_000), try Self.price("p2", 2_000), try Self.price("p3", 3_100)]
            let book = PriceBook(
                prices: Dictionary(uniqueKeysWithValues: prices.map { ($0.id, $0) }), products: [:], taxRates: [:])
            var schedule = try BillingSchedule.starting(
                at: start, recurrence: try Recurrence(.month), alignment: choices % 2 == 0 ? .anniversary : .calendar,
                calendar: calendar)
            var items = [try SubscriptionItem(id: "si_1", priceID: "p1", quantity: 1)]
            var level = 0
            var idCounter = 0
            let makeID = { () -> String in
                idCounter += 1
                return "il_\(idCounter)"
            }
            var billed: [BillingPeriod] = [schedule.current]
            for step in 0..<steps {
                if (choices >> (step % 6)) & 1 == 1, level < 2 {
                    // Upgrade part-way through the current period.
                    let span = schedule.current.end.timeIntervalSince(schedule.current.start)
                    let at = schedule.current.start.addingTimeInterval(span * Double(step % 5 + 1) / 7)
                    let factor = try ProrationFactor(period: schedule.current, at: at, calendar: calendar)
                    level += 1
                    let upgraded = [try SubscriptionItem(id: "si_1", priceID: prices[level].id, quantity: 1)]
                    let lines = try SubscriptionBilling.prorationLines(
                        from: items, to: upgraded, book: book, currency: .usd, period: schedule.current, factor: factor,
                        taxRateIDs: [], rounding: .halfEven, makeID: makeID)
                    for line in lines {
                        let period = try #require(line.period)
                        #expect(period.start >= schedule.current.start && period.end <= schedule.current.end)
                        if line.amount.isNegative {
                            // The credit is at most what the replaced item cost for the period.
                            #expect(-line.amount.minorUnits <= prices[level - 1].unitAmounts[0].minorUnits)
                        }
                    }
                    items = upgraded
                } else {
                    schedule = try schedule.next(in: calendar)
                    billed.append(schedule.current)
                }
            }
            for (earlier, later) in zip(billed, billed.dropFirst()) {
                #expect(earlier.end == later.start, "a gap or overlap between \(earlier) and \(later)")
                #expect(earlier.start < earlier.end)
            }
        }
    }
}
