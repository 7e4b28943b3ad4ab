import Foundation
import TillCore
import TillHTTP
import TillTesting
import Testing

/// Usage-based billing over HTTP: metrics, events (one and in batches), usage billed in
/// arrears at the period end, and late events corrected on the next invoice.
@Suite("Usage billing over HTTP")
struct UsageTests {
    /// Lago's volume table (0.10¢, 0.08¢, 0.06¢, 0.04¢ a unit, $10 a tier), as tiers.
    static let lagoTiers = """
        [{"up_to": 10000, "unit_amount_decimal": "0.1", "flat_amount": 1000},
         {"up_to": 50000, "unit_amount_decimal": "0.08", "flat_amount": 1000},
         {"up_to": 100000, "unit_amount_decimal": "0.06", "flat_amount": 1000},
         {"up_to": "inf", "unit_amount_decimal": "0.04", "flat_amount": 1000}]
        """

    static func meteredPrice(_ harness: DaemonHarness, metric: String, model: String) async throws -> String {
        let product = try #require(try await harness.post("/v1/products", #"{"name": "API calls"}"#, expect: 201)["id"].string)
        let body = #"{"product": "\#(product)", "currency": "usd", "recurring": {"interval": "month"}, "usage": {"billable_metric": "\#(metric)", "usage_model": "\#(model)", "tiers": \#(lagoTiers)}}"#
        let price = try await harness.post("/v1/prices", body, expect: 201)
        #expect(price["usage_type"].string == "metered")
        return try #require(price["id"].string)
    }

    static func event(_ id: String, _ customer: String, _ code: String = "api_calls", calls: String = "1", at time: String) -> String {
        #"{"event_id": "\#(id)", "customer": "\#(customer)", "code": "\#(code)", "timestamp": "\#(time)", "properties": {"calls": "\#(calls)"}}"#
    }

    @Test("a month of usage is billed at the period end (graduated $81, volume $49 on 65,000 calls); a late event is corrected on the next invoice")
    func usageInArrears() async throws {
        try await DaemonHarness.with { harness in
            let clock = try await harness.clock("2024-04-01T00:00:00Z")
            let metric = try await harness.post(
                "/v1/billable_metrics", #"{"code": "api_calls", "name": "API calls", "aggregation": "sum", "property": "calls"}"#,
                expect: 201)
            let metricID = try #require(metric["id"].string)
            let duplicate = try await harness.error(
                "/v1/billable_metrics", #"{"code": "api_calls", "name": "again", "aggregation": "count"}"#)
            #expect(duplicate.status == 409)
            let graduated = try await Self.meteredPrice(harness, metric: metricID, model: "graduated")
            let volume = try await Self.meteredPrice(harness, metric: metricID, model: "volume")
            let base = try await harness.price(1500, "usd")
            let customer = try await harness.customer(clock: clock)
            let subscription = try await harness.post(
                "/v1/subscriptions",
                #"{"customer": "\#(customer)", "items": [{"price": "\#(base)"}, {"price": "\#(graduated)"}, {"price": "\#(volume)"}]}"#,
                expect: 201)
            let subscriptionID = try #require(subscription["id"].string)
            #expect(try await harness.invoices(customer).map { $0["total"].int } == [1500])

            try await harness.advance(clock, to: "2024-04-19T12:00:00Z")
            let batch = [
                Self.event("e1", customer, calls: "30000", at: "2024-04-17T10:00:00Z"),
                Self.event("e2", customer, calls: "35000", at: "2024-04-19T00:00:00Z"),
                Self.event("e1", customer, calls: "30000", at: "2024-04-17T10:00:00Z"),
                Self.event("e3", customer, "no_such_metric", at: "2024-04-19T00:00:00Z"),
                Self.event("e4", "cus_missing", at: "2024-04-19T00:00:00Z"),
                Self.event("e5", customer, at: "2024-04-20T12:00:00Z"),
                Self.event("e6", customer, calls: "many", at: "2024-04-19T00:00:00Z"),
                Self.event("e7", customer, at: "2024-04-01T00:00:00Z"),
                #"{"customer": "\#(customer)", "code": "api_calls"}"#,
            ]
            let answer = try await harness.post("/v1/usage_events", #"{"events": [\#(batch.joined(separator: ","))]}"#)
            let results = answer["data"].array
            #expect(results.map { $0["status"].string } == [
                "accepted", "accepted", "duplicate", "rejected", "rejected", "rejected", "rejected", "rejected", "rejected",
            ])
            #expect(results.map { $0["error"]["code"].string } == [
                nil, nil, nil, "unknown_metric", "resource_missing", "timestamp_in_future", "property_not_numeric",
                "timestamp_too_old", "parameter_missing",
            ])
            #expect(answer["accepted"].int == 2)
            #expect(answer["duplicates"].int == 1)
            #expect(answer["rejected"].int == 6)

            let usage = try await harness.get("/v1/subscriptions/\(subscriptionID)/usage")
            #expect(usage["data"].array.map { $0["quantity"].string } == ["65000", "65000"])
            #expect(usage["data"].array.map { $0["amount"].int } == [8100, 4900])
            let upcoming = try await harness.get("/v1/subscriptions/\(subscriptionID)/upcoming_invoice")
            #expect(upcoming["total"].int == 1500 + 8100 + 4900)
            #expect(try await harness.invoices(customer).count == 1, "a preview writes nothing")

            try await harness.advance(clock, to: "2024-05-01T00:00:00Z")
            var invoices = try await harness.invoices(customer)
            #expect(invoices.map { $0["total"].int } == [1500, 14500])
            #expect(invoices.map { $0["status"].string } == ["paid", "paid"])
            let april = BillingTests.lines(invoices[1]).filter { $0["usage_quantity"].string != nil }
            #expect(april.map { $0["amount"].int } == [8100, 4900])
            #expect(april.map { $0["period"]["start"].string } == ["2024-04-01T00:00:00Z", "2024-04-01T00:00:00Z"])

            // An hour late, for April, after April's invoice is final.
            let late = try await harness.post(
                "/v1/usage_events", Self.event("late-1", customer, calls: "1000", at: "2024-04-30T23:00:00Z"), expect: 201)
            #expect(late["status"].string == "accepted")
            let again = try await harness.post(
                "/v1/usage_events", Self.event("late-1", customer, calls: "1000", at: "2024-04-30T23:00:00Z"), expect: 200)
            #expect(again["status"].string == "duplicate")
            let refused = try await harness.error("/v1/usage_events", Self.event("x", customer, calls: "1.5.0", at: "2024-04-30T23:00:00Z"))
            #expect(refused.status == 400)
            #expect(refused.code == "property_not_numeric")

            try await harness.advance(clock, to: "2024-06-01T00:00:00Z")
            invoices = try await harness.invoices(customer)
            #expect(invoices.count == 3)
            #expect(invoices[1]["total"].int == 14500, "April's invoice is never changed")
            let june = BillingTests.lines(invoices[2])
            let corrections = june.filter { $0["description"].string?.contains("late usage correction") == true }
            // 66,000 calls: graduated 8,160 (+60), volume 66,000 × 0.06 + 1,000 = 4,960 (+60).
            #expect(corrections.map { $0["amount"].int } == [60, 60])
            #expect(corrections.map { $0["usage_quantity"].string } == ["1000", "1000"])
            #expect(invoices[2]["total"].int == 1500 + 0 + 0 + 60 + 60)
        }
    }
}

/// Dunning and reminders over HTTP, on test clocks.
@Suite("Dunning and reminders over HTTP")
struct DunningTests {
    @Test("a stolen card stops dunning at once: no retries, the subscription goes straight to its end state")
    func hardDeclineStopsRetries() async throws {
        try await DaemonHarness.with { harness in
            let clock = try await harness.clock("2024-04-01T00:00:00Z")
            let price = try await harness.price(1000, "usd")
            let customer = try await harness.customer(clock: clock)
            let subscription = try #require(try await harness.subscribe(customer, price)["id"].string)
            let stolen = try await harness.tokenize("4000000000009979")
            try await harness.post("/v1/customers/\(customer)", #"{"payment_method": "\#(stolen)"}"#)
            try await harness.advance(clock, to: "2024-05-01T00:00:01Z")
            let renewal = try #require(try await harness.invoices(customer).last)
            #expect(renewal["attempts"].array.last?["failure_code"].string == "lost_or_stolen")
            #expect(renewal["next_payment_attempt"].isNull)
            #expect(try await harness.get("/v1/subscriptions/\(subscription)")["status"].string == "unpaid")
            try await harness.advance(clock, to: "2024-05-20T00:00:00Z")
            let later = try await harness.get("/v1/invoices/\(try #require(renewal["id"].string))")
            #expect(later["attempt_count"].int == 1, "a hard decline is never retried")
            let emails = try await harness.get("/v1/emails?invoice=\(try #require(renewal["id"].string))")
            #expect(emails["data"].array.map { $0["purpose"].string } == ["payment_failed"])
        }
    }

    @Test("an invoice sent for payment gets a reminder, three overdue notices at 09:00 in the customer's timezone, and one late fee")
    func remindersAndLateFee() async throws {
        try await DaemonHarness.with { harness in
            try await harness.post(
                "/v1/billing_settings",
                #"{"reminder_days_before_due": [3], "overdue_notice_days": [1, 7, 14], "late_fee": {"flat_amounts": {"usd": 500}, "basis_points": 150}}"#)
            let clock = try await harness.clock("2024-04-01T00:00:00Z")
            let price = try await harness.price(10000, "usd")
            let customer = try await harness.customer(clock: clock, timezone: "Asia/Tokyo")
            let subscription = try await harness.subscribe(customer, price, extra: #", "collection_method": "send_invoice", "days_until_due": 10"#)
            #expect(subscription["status"].string == "active" || subscription["status"].string == "incomplete")
            let first = try #require(try await harness.invoices(customer).first)
            let id = try #require(first["id"].string)
            // Finalized 2024-04-01 09:00 in Tokyo; due 11 April (end of day, Tokyo).
            #expect(first["due_date_local"].string == "2024-04-11")
            #expect(first["next_notice_at"].string == "2024-04-08T00:00:00Z", "09:00 in Tokyo, three days before")
            try await harness.advance(clock, to: "2024-04-08T00:00:00Z")
            #expect(try await harness.get("/v1/invoices/\(id)")["notices_sent"].array.map(\.string) == ["reminder-3d"])
            try await harness.advance(clock, to: "2024-04-12T00:00:00Z")
            let overdue = try await harness.get("/v1/invoices/\(id)")
            #expect(overdue["notices_sent"].array.map(\.string) == ["reminder-3d", "overdue-1"])
            let feeID = try #require(overdue["late_fee_invoice"].string)
            let fee = try await harness.get("/v1/invoices/\(feeID)")
            #expect(fee["total"].int == 500 + 150, "$5 plus 1.5 % of $100")
            #expect(fee["status"].string == "open")
            // The clock runs through levels 2 and 3 (each at its own time); no second late fee.
            try await harness.advance(clock, to: "2024-04-30T00:00:00Z")
            let later = try await harness.get("/v1/invoices/\(id)")
            #expect(later["notices_sent"].array.map(\.string) == ["reminder-3d", "overdue-1", "overdue-2", "overdue-3"])
            #expect(later["late_fee_invoice"].string == feeID)
            let events = try await harness.get("/v1/events?type=invoice.overdue&limit=100")
            let levels = events["data"].array.filter { $0["data"]["object"]["id"].string == id }
                .compactMap { $0["data"]["object"]["notice"]["key"].string }
            #expect(levels.sorted() == ["overdue-1", "overdue-2", "overdue-3"])
            let emails = try await harness.get("/v1/emails?invoice=\(id)&limit=100")
            let purposes = emails["data"].array.compactMap { $0["notice"].string ?? $0["purpose"].string }.sorted()
            #expect(purposes == ["invoice", "overdue-1", "overdue-2", "overdue-3", "reminder-3d"])
        }
    }
}

/// Customer emails on a sandbox daemon: composed in the customer's language with the PDF
/// attached, kept in the in-memory mailbox and readable through the API.
@Suite("Billing email over HTTP")
struct BillingEmailTests {
    @Test("an invoice sent for payment emails the customer once, in Japanese, with its PDF; the sandbox shows the message")
    func invoiceEmail() async throws {
        try await DaemonHarness.with { harness in
            let clock = try await harness.clock("2024-04-01T00:00:00Z")
            let price = try await harness.price(1200, "jpy")
            let token = try await harness.tokenize()
            let customer = try #require(
                try await harness.post(
                    "/v1/customers",
                    #"{"email": "kaito@example.jp", "name": "山田 海斗", "preferred_locale": "ja-JP", "timezone": "Asia/Tokyo", "test_clock": "\#(clock)", "payment_method": "\#(token)"}"#,
                    expect: 201)["id"].string)
            _ = try await harness.subscribe(customer, price, extra: #", "collection_method": "send_invoice", "days_until_due": 7"#)
            let invoice = try #require(try await harness.invoices(customer).first)
            let invoiceID = try #require(invoice["id"].string)
            let emails = try await harness.get("/v1/emails?invoice=\(invoiceID)")
            let email = try #require(emails["data"].array.first)
            #expect(emails["data"].array.count == 1)
            #expect(email["purpose"].string == "invoice")
            #expect(email["status"].string == "sent")
            #expect(email["to"].string == "kaito@example.jp")
            let id = try #require(email["id"].string)
            let answer = try await harness.call(.GET, "/v1/emails/\(id)/message")
            #expect(answer.status == 200)
            let message = answer.text
            #expect(message.contains("Message-ID: <\(id)@till>"))
            #expect(message.contains("To: kaito@example.jp") || message.contains("To: <kaito@example.jp>"))
            // 請求書 in the subject, as an RFC 2047 encoded word.
            #expect(message.contains("Subject: =?UTF-8?B?"))
            #expect(message.contains("Content-Type: application/pdf"))
            #expect(message.contains("JVBERi0"), "the attachment is a PDF (%PDF- in base64)")
            // Paying it sends a receipt; nothing is sent twice.
            _ = try await harness.post("/v1/invoices/\(invoiceID)/pay", "{}")
            let after = try await harness.get("/v1/emails?invoice=\(invoiceID)")
            #expect(after["data"].array.compactMap { $0["purpose"].string }.sorted() == ["invoice", "receipt"])

            // The same document over the API: PDF, HTML in the customer's language or another.
            let pdf = try await harness.call(.GET, "/v1/invoices/\(invoiceID)/pdf")
            #expect(pdf.status == 200)
            #expect(pdf.body.starts(with: Array("%PDF-".utf8)))
            let html = try await harness.call(.GET, "/v1/invoices/\(invoiceID)/html")
            #expect(html.status == 200)
            #expect(html.text.contains("<html lang=\"ja\">"))
            #expect(html.text.contains("請求書") && html.text.contains("¥1,200") && html.text.contains("山田 海斗"))
            let german = try await harness.call(.GET, "/v1/invoices/\(invoiceID)/html?locale=de")
            #expect(german.text.contains("Rechnung") && german.text.contains("1.200\u{A0}¥"))
            #expect(try await harness.call(.GET, "/v1/invoices/\(invoiceID)/pdf?locale=pt").status == 400)
            #expect(try await harness.call(.GET, "/v1/invoices/in_missing/pdf").status == 404)
        }
    }
}
