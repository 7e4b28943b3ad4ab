import Foundation
import TillAudit
import TillCore
import TillHTTP
import TillServer
import TillTesting
import Testing

/// A JSON answer, Sendable so it can be held across awaits; missing keys read as null.
struct JSON: Sendable {
    let value: JSONValue

    init(_ value: JSONValue) { self.value = value }

    init(bytes: [UInt8]) {
        value = (try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))) ?? .null
    }

    subscript(_ key: String) -> JSON {
        if case .object(let object) = value, let field = object[key] { return JSON(field) }
        return JSON(.null)
    }

    var string: String? { if case .string(let text) = value { text } else { nil } }
    var int: Int? { if case .int(let number) = value { Int(number) } else { nil } }
    var bool: Bool? { if case .bool(let flag) = value { flag } else { nil } }
    var isNull: Bool { value == .null }
    var isObject: Bool { if case .object = value { true } else { false } }
    var array: [JSON] { if case .array(let items) = value { items.map(JSON.init) } else { [] } }
}

/// Billing end to end over HTTP: a daemon with both sandboxes, customers on test clocks.
@Suite("Billing over HTTP")
struct BillingTests {
}

/// A merchant's billing calls: JSON in, JSON out, failures as test failures.
extension DaemonHarness {

        @discardableResult
        func post(_ path: String, _ json: String, expect status: Int = 200) async throws -> JSON {
            let answer = try await call(.POST, path, json: json)
            #expect(answer.status == status, "POST \(path): \(answer.text)")
            return JSON(bytes: answer.body)
        }

        func get(_ path: String) async throws -> JSON {
            let answer = try await call(.GET, path)
            #expect(answer.status == 200, "GET \(path): \(answer.text)")
            return JSON(bytes: answer.body)
        }

        func error(_ path: String, _ json: String) async throws -> (status: Int, code: String?) {
            let answer = try await call(.POST, path, json: json)
            return (answer.status, answer.errorCode)
        }

        func clock(_ time: String) async throws -> String {
            try #require(try await post("/v1/test_clocks", #"{"frozen_time": "\#(time)"}"#, expect: 201)["id"].string)
        }

        func advance(_ clock: String, to time: String) async throws {
            let answer = try await post("/v1/test_clocks/\(clock)/advance", #"{"frozen_time": "\#(time)"}"#)
            #expect(answer["status"].string == "ready")
        }

        func price(_ amount: Int, _ currency: String, interval: String = "month", taxBehavior: String = "exclusive") async throws -> String {
            let product = try #require(try await post("/v1/products", #"{"name": "Plan \#(amount)"}"#, expect: 201)["id"].string)
            let body = #"{"product": "\#(product)", "currency": "\#(currency)", "unit_amount": \#(amount), "recurring": {"interval": "\#(interval)"}, "tax_behavior": "\#(taxBehavior)"}"#
            return try #require(try await post("/v1/prices", body, expect: 201)["id"].string)
        }

        func customer(clock: String, timezone: String = "UTC", card: String = "4242424242424242", currency: String? = nil) async throws -> String {
            let token = try await tokenize(card)
            let currencyField = currency.map { #", "currency": "\#($0)""# } ?? ""
            let body = #"{"email": "buyer@example.com", "timezone": "\#(timezone)", "test_clock": "\#(clock)", "payment_method": "\#(token)"\#(currencyField)}"#
            return try #require(try await post("/v1/customers", body, expect: 201)["id"].string)
        }

        func subscribe(_ customer: String, _ price: String, extra: String = "") async throws -> JSON {
            try await post("/v1/subscriptions", #"{"customer": "\#(customer)", "items": [{"price": "\#(price)"}]\#(extra)}"#, expect: 201)
        }

        /// The customer's invoices, oldest first.
        func invoices(_ customer: String) async throws -> [JSON] {
            let list = try await get("/v1/invoices?customer=\(customer)&limit=100")
            return list["data"].array.reversed()
        }

}

extension BillingTests {
    static func lines(_ invoice: JSON) -> [JSON] { invoice["lines"]["data"].array }

    static func firstAttemptKey(_ invoice: JSON) -> String? { invoice["attempts"].array.first?["idempotency_key"].string }

    static func firstItem(_ subscription: JSON) -> String? { subscription["items"]["data"].array.first?["id"].string }

    @Test("a subscription's first invoice is paid at once; advancing the clock bills the second, numbered next")
    func walkthrough() async throws {
        try await DaemonHarness.with { harness in
            let clock = try await harness.clock("2024-04-01T00:00:00Z")
            let price = try await harness.price(1500, "usd")
            let customer = try await harness.customer(clock: clock)
            let subscription = try await harness.subscribe(customer, price)
            #expect(subscription["status"].string == "active")
            try await harness.advance(clock, to: "2024-05-01T00:00:00Z")
            let invoices = try await harness.invoices(customer)
            #expect(invoices.map { $0["status"].string } == ["paid", "paid"])
            #expect(invoices.map { $0["total"].int } == [1500, 1500])
            let numbers = invoices.compactMap { $0["number"].string }
            #expect(numbers.count == 2)
            #expect(numbers.sorted() == numbers)
            #expect(invoices.map { $0["period_start"].string } == ["2024-04-01T00:00:00Z", "2024-05-01T00:00:00Z"])
            let keys = invoices.compactMap(Self.firstAttemptKey)
            let firstAttempts = keys.filter { $0.hasSuffix("-attempt-1") }
            #expect(keys.count == 2)
            #expect(firstAttempts.count == 2)
            let events = try await harness.get("/v1/events?type=invoice.paid&limit=100")
            #expect(events["data"].array.count == 2)
        }
    }

    @Test("billing's changes are in the audit log, which still verifies offline")
    func audited() async throws {
        let harness = try await DaemonHarness.start()
        do {
            let clock = try await harness.clock("2024-04-01T00:00:00Z")
            let price = try await harness.price(1500, "usd")
            let customer = try await harness.customer(clock: clock)
            _ = try await harness.subscribe(customer, price)
            try await harness.advance(clock, to: "2024-05-01T00:00:00Z")
        } catch {
            await harness.stop()
            throw error
        }
        await harness.daemon.stop()
        let directory = harness.dataDirectory + "/audit"
        let report = try AuditVerifier.verify(
            log: directory + "/audit.jsonl", checkpoints: directory + "/audit.checkpoints",
            keyring: directory + "/audit-keyring.json")
        #expect(report.status == .intact)
        let text = try String(contentsOfFile: directory + "/audit.jsonl", encoding: .utf8)
        let actions = Set(try text.split(separator: "\n").map { try AuditEntry(line: Array($0.utf8)).event.action.rawValue })
        for action in [
            "billing.customer.create", "billing.subscription.create", "billing.invoice.finalize", "billing.invoice.paid",
            "billing.subscription.renew",
        ] {
            #expect(actions.contains(action), "\(action) is not in the audit log")
        }
    }

    @Test("upgrading on day 10 of 30 in JPY credits ¥667 of unused time and charges ¥1,333")
    func upgradeProration() async throws {
        try await DaemonHarness.with { harness in
            let clock = try await harness.clock("2024-04-01T00:00:00Z")
            let basic = try await harness.price(1000, "jpy")
            let pro = try await harness.price(2000, "jpy")
            let customer = try await harness.customer(clock: clock)
            let subscription = try await harness.subscribe(customer, basic)
            let id = try #require(subscription["id"].string)
            let item = try #require(Self.firstItem(subscription))
            try await harness.advance(clock, to: "2024-04-11T00:00:00Z")
            let changed = try await harness.post("/v1/subscriptions/\(id)", #"{"items": [{"id": "\#(item)", "price": "\#(pro)"}]}"#)
            let invoiceID = try #require(changed["latest_invoice"].string)
            _ = invoiceID
            let invoices = try await harness.invoices(customer)
            #expect(invoices.count == 2)
            let proration = try #require(invoices.last)
            #expect(proration["billing_reason"].string == "subscription_update")
            #expect(Self.lines(proration).map { $0["amount"].int }.sorted { ($0 ?? 0) < ($1 ?? 0) } == [-667, 1333])
            #expect(proration["total"].int == 666)
            #expect(proration["status"].string == "paid")
            #expect(changed["status"].string == "active")
        }
    }

    @Test("month-end anchors: 31 Jan bills on 29 Feb, 31 Mar, 30 Apr, 31 May")
    func monthEnd() async throws {
        try await DaemonHarness.with { harness in
            let clock = try await harness.clock("2024-01-31T12:00:00Z")
            let price = try await harness.price(1000, "usd")
            let customer = try await harness.customer(clock: clock)
            _ = try await harness.subscribe(customer, price)
            try await harness.advance(clock, to: "2024-06-01T00:00:00Z")
            let starts = try await harness.invoices(customer).compactMap { $0["period_start"].string }
            #expect(
                starts == [
                    "2024-01-31T12:00:00Z", "2024-02-29T12:00:00Z", "2024-03-31T12:00:00Z", "2024-04-30T12:00:00Z",
                    "2024-05-31T12:00:00Z",
                ])
        }
    }

    @Test("2024-01-31T20:00Z is February for a Tokyo customer billed on calendar months")
    func tokyoCalendar() async throws {
        try await DaemonHarness.with { harness in
            let clock = try await harness.clock("2024-01-31T20:00:00Z")
            let price = try await harness.price(2900, "usd")
            let customer = try await harness.customer(clock: clock, timezone: "Asia/Tokyo")
            let subscription = try await harness.subscribe(customer, price, extra: #", "billing_alignment": "calendar""#)
            #expect(subscription["current_period_end"].string == "2024-02-29T15:00:00Z")
            let invoice = try #require(try await harness.invoices(customer).first)
            // The whole of February (local): nothing to prorate.
            #expect(invoice["total"].int == 2900)
            #expect(invoice["timezone"].string == "Asia/Tokyo")
            try await harness.advance(clock, to: "2024-03-01T00:00:00Z")
            let second = try await harness.invoices(customer)
            #expect(second.count == 2)
            #expect(second.last?["period_start"].string == "2024-02-29T15:00:00Z")
        }
    }

    @Test("cancelling a $30 plan with 20% VAT on day 10 credits $24.00 through a credit note; the invoice stays as issued")
    func cancelCredits() async throws {
        try await DaemonHarness.with { harness in
            let clock = try await harness.clock("2024-04-01T00:00:00Z")
            let price = try await harness.price(3000, "usd")
            let vat = try #require(
                try await harness.post("/v1/tax_rates", #"{"display_name": "VAT", "percentage": "20"}"#, expect: 201)["id"].string)
            let customer = try await harness.customer(clock: clock)
            let subscription = try await harness.subscribe(customer, price, extra: #", "default_tax_rates": ["\#(vat)"]"#)
            let id = try #require(subscription["id"].string)
            let before = try #require(try await harness.invoices(customer).first)
            #expect(before["total"].int == 3600)
            try await harness.advance(clock, to: "2024-04-11T00:00:00Z")
            let canceled = try await harness.post("/v1/subscriptions/\(id)/cancel", "{}")
            #expect(canceled["status"].string == "canceled")
            let notes = try await harness.get("/v1/credit_notes?invoice=\(try #require(before["id"].string))")
            let note = try #require(notes["data"].array.first)
            #expect(note["subtotal"].int == 2000)
            #expect(note["tax"].int == 400)
            #expect(note["total"].int == 2400)
            #expect(note["outcome"].string == "refund")
            let after = try await harness.get("/v1/invoices/\(try #require(before["id"].string))")
            #expect(after["total"].int == 3600)
            #expect(after["status"].string == "paid")
            #expect(after["number"].string == before["number"].string)
            #expect(after["amount_credited"].int == 2400)
            let document = try await harness.call(.GET, "/v1/credit_notes/\(try #require(note["id"].string))/pdf")
            #expect(document.status == 200)
            #expect(document.body.starts(with: Array("%PDF-".utf8)))
            let refunded = try await eventually { () async throws -> JSON? in
                let current = try await harness.get("/v1/credit_notes/\(try #require(note["id"].string))")
                return current["refund"]["status"].string == "succeeded" ? current : nil
            }
            let payment = try #require(refunded["refund"]["payment"].string)
            let charged = try await harness.get("/v1/payments/\(payment)")
            #expect(charged["amount_refunded"].int == 2400)
        }
    }

    @Test("a failed renewal goes past_due, is retried on days 3, 5 and 7, then leaves the subscription unpaid")
    func dunning() async throws {
        try await DaemonHarness.with { harness in
            let clock = try await harness.clock("2024-04-01T00:00:00Z")
            let price = try await harness.price(1000, "usd")
            let customer = try await harness.customer(clock: clock)
            let subscription = try await harness.subscribe(customer, price)
            let id = try #require(subscription["id"].string)
            let declining = try await harness.tokenize("4000000000000002")
            try await harness.post("/v1/customers/\(customer)", #"{"payment_method": "\#(declining)"}"#)
            try await harness.advance(clock, to: "2024-05-01T00:00:01Z")
            #expect(try await harness.get("/v1/subscriptions/\(id)")["status"].string == "past_due")
            let renewal = try #require(try await harness.invoices(customer).last)
            #expect(renewal["next_payment_attempt"].string == "2024-05-04T00:00:00Z")
            try await harness.advance(clock, to: "2024-05-09T00:00:00Z")
            let retried = try await harness.get("/v1/invoices/\(try #require(renewal["id"].string))")
            #expect(retried["attempt_count"].int == 4)
            #expect(retried["status"].string == "open")
            #expect(try await harness.get("/v1/subscriptions/\(id)")["status"].string == "unpaid")
            // A working card and a payment make it good again.
            let working = try await harness.tokenize()
            try await harness.post("/v1/customers/\(customer)", #"{"payment_method": "\#(working)"}"#)
            let paid = try await harness.post("/v1/invoices/\(try #require(renewal["id"].string))/pay", "{}")
            #expect(paid["status"].string == "paid")
            #expect(try await harness.get("/v1/subscriptions/\(id)")["status"].string == "active")
        }
    }

    @Test("two advances of one clock at once bill each period exactly once")
    func exactlyOnce() async throws {
        try await DaemonHarness.with { harness in
            let clock = try await harness.clock("2024-04-01T00:00:00Z")
            let price = try await harness.price(1000, "usd")
            let customer = try await harness.customer(clock: clock)
            _ = try await harness.subscribe(customer, price)
            async let first = harness.call(.POST, "/v1/test_clocks/\(clock)/advance", json: #"{"frozen_time": "2024-07-01T00:00:00Z"}"#)
            async let second = harness.call(.POST, "/v1/test_clocks/\(clock)/advance", json: #"{"frozen_time": "2024-07-01T00:00:01Z"}"#)
            _ = try await (first, second)
            let invoices = try await harness.invoices(customer)
            let starts = invoices.compactMap { $0["period_start"].string }
            #expect(starts == ["2024-04-01T00:00:00Z", "2024-05-01T00:00:00Z", "2024-06-01T00:00:00Z", "2024-07-01T00:00:00Z"])
            let payments = try await harness.get("/v1/payments?limit=100")
            #expect(payments["data"].array.count == 4)
        }
    }

    @Test("bad input is refused and changes nothing")
    func badInput() async throws {
        try await DaemonHarness.with { harness in
            let clock = try await harness.clock("2024-04-01T00:00:00Z")
            let usd = try await harness.price(1000, "usd")
            let customer = try await harness.customer(clock: clock, currency: "eur")
            // A price in a currency the customer cannot pay.
            let wrong = try await harness.error("/v1/subscriptions", #"{"customer": "\#(customer)", "items": [{"price": "\#(usd)"}]}"#)
            #expect(wrong.status == 400)
            #expect(wrong.code == "price_currency_unavailable" || wrong.code == "currency_mismatch")
            // A quantity of zero.
            let zero = try await harness.error(
                "/v1/subscriptions", #"{"customer": "\#(customer)", "items": [{"price": "\#(usd)", "quantity": 0}]}"#)
            #expect(zero.status == 400)
            let none = try await harness.get("/v1/subscriptions?customer=\(customer)")
            #expect(none["data"].array.isEmpty)
            // A finalized invoice takes no new line.
            let invoice = try await harness.post(
                "/v1/invoices",
                #"{"customer": "\#(customer)", "lines": [{"description": "Setup", "amount": 5000, "currency": "eur"}], "collection_method": "send_invoice", "auto_finalize": true}"#,
                expect: 201)
            let invoiceID = try #require(invoice["id"].string)
            #expect(invoice["status"].string == "open")
            let edit = try await harness.error("/v1/invoices/\(invoiceID)/lines", #"{"description": "More", "amount": 100}"#)
            #expect(edit.status == 409)
            #expect(edit.code == "invoice_not_editable")
            #expect(Self.lines(try await harness.get("/v1/invoices/\(invoiceID)")).count == 1)
            // An unknown timezone.
            let zone = try await harness.error("/v1/customers", #"{"timezone": "Mars/Olympus_Mons"}"#)
            #expect(zone.status == 400)
        }
    }

    @Test("a second change while the first one's invoice is unpaid is refused")
    func changeInFlight() async throws {
        try await DaemonHarness.with { harness in
            let clock = try await harness.clock("2024-04-01T00:00:00Z")
            let basic = try await harness.price(1000, "usd")
            let pro = try await harness.price(3000, "usd")
            let max = try await harness.price(5000, "usd")
            let customer = try await harness.customer(clock: clock)
            let subscription = try await harness.subscribe(customer, basic, extra: #", "collection_method": "send_invoice""#)
            let id = try #require(subscription["id"].string)
            let item = try #require(Self.firstItem(subscription))
            try await harness.advance(clock, to: "2024-04-11T00:00:00Z")
            _ = try await harness.post("/v1/subscriptions/\(id)", #"{"items": [{"id": "\#(item)", "price": "\#(pro)"}]}"#)
            let second = try await harness.error("/v1/subscriptions/\(id)", #"{"items": [{"id": "\#(item)", "price": "\#(max)"}]}"#)
            #expect(second.status == 409)
            #expect(second.code == "subscription_change_in_flight")
            let current = try await harness.get("/v1/subscriptions/\(id)")
            #expect(current["items"]["data"].array.first?["price"].string == pro)
        }
    }

    @Test("a downgrade waits for the period end; pause credits unused time to the balance, resume uses it")
    func downgradePauseResume() async throws {
        try await DaemonHarness.with { harness in
            let clock = try await harness.clock("2024-04-01T00:00:00Z")
            let pro = try await harness.price(3000, "usd")
            let basic = try await harness.price(1000, "usd")
            let customer = try await harness.customer(clock: clock)
            let subscription = try await harness.subscribe(customer, pro)
            let id = try #require(subscription["id"].string)
            let item = try #require(Self.firstItem(subscription))
            try await harness.advance(clock, to: "2024-04-16T00:00:00Z")
            let changed = try await harness.post("/v1/subscriptions/\(id)", #"{"items": [{"id": "\#(item)", "price": "\#(basic)"}]}"#)
            #expect(changed["pending_update"].isObject)
            #expect(try await harness.invoices(customer).count == 1)
            try await harness.advance(clock, to: "2024-05-01T00:00:00Z")
            let invoices = try await harness.invoices(customer)
            #expect(invoices.map { $0["total"].int } == [3000, 1000])
            try await harness.advance(clock, to: "2024-05-11T00:00:00Z")
            let paused = try await harness.post("/v1/subscriptions/\(id)/pause", "{}")
            #expect(paused["status"].string == "paused")
            // 21 of May's 31 days unused: $10.00 × 21/31 = $6.77.
            #expect(try await harness.get("/v1/customers/\(customer)")["credit_balance"].int == 677)
            try await harness.advance(clock, to: "2024-07-01T00:00:00Z")
            #expect(try await harness.invoices(customer).count == 2)
            let resumed = try await harness.post("/v1/subscriptions/\(id)/resume", "{}")
            #expect(resumed["status"].string == "active")
            #expect(resumed["current_period_start"].string == "2024-07-01T00:00:00Z")
            let last = try #require(try await harness.invoices(customer).last)
            #expect(last["credit_applied"].int == 677)
            #expect(last["amount_paid"].int == 323)
            #expect(try await harness.get("/v1/customers/\(customer)")["credit_balance"].int == 0)
        }
    }

    @Test("the safety bound holds an invoice that jumps tenfold and raises an event; releasing it bills it")
    func safetyHold() async throws {
        try await DaemonHarness.with { harness in
            let clock = try await harness.clock("2024-04-01T00:00:00Z")
            let price = try await harness.price(100, "usd")
            let customer = try await harness.customer(clock: clock)
            let subscription = try await harness.subscribe(customer, price)
            let id = try #require(subscription["id"].string)
            let item = try #require(Self.firstItem(subscription))
            // A quantity typo: 5,000 instead of 5, from the next period on (a downgrade it is not).
            _ = try await harness.post("/v1/subscriptions/\(id)", #"{"items": [{"id": "\#(item)", "quantity": 5000}]}"#)
            let held = try await harness.get("/v1/customers/\(customer)")
            #expect(held["billing_hold"].isObject)
            let events = try await harness.get("/v1/events?type=customer.billing_held")
            #expect(events["data"].array.count == 1)
            let draft = try #require(try await harness.invoices(customer).last)
            #expect(draft["status"].string == "draft")
            #expect(draft["held"].bool == true)
            let released = try await harness.post("/v1/customers/\(customer)/release_hold", "{}")
            #expect(released["billing_hold"].isNull)
            #expect(try await harness.get("/v1/invoices/\(try #require(draft["id"].string))")["status"].string == "paid")
        }
    }
}
