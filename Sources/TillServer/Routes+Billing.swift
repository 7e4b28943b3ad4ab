import Foundation
import HTTPTypes
import Hummingbird
import TillBilling
import TillBillingEngine
import TillCore

// Billing's API: the catalog, customers, subscriptions, invoices, credit notes, settings
// and test clocks. Secret keys only; every create and action takes `Idempotency-Key`.
extension TillServer {
    func addBillingRoutes(to v1: RouterGroup<TillRequestContext>) {
        addCatalogRoutes(to: v1)
        addCustomerRoutes(to: v1)
        addSubscriptionRoutes(to: v1)
        addInvoiceRoutes(to: v1)
        addTestClockRoutes(to: v1)
        addUsageRoutes(to: v1)
        addEmailRoutes(to: v1)
        addDocumentRoutes(to: v1)
    }

    /// A `POST` whose answer is `status` and the JSON `body` returns, replayed for the same
    /// `Idempotency-Key`.
    func billingPost(
        _ path: RouterPath, on v1: RouterGroup<TillRequestContext>, status: HTTPResponse.Status = .ok,
        _ body: @escaping @Sendable (_ bytes: [UInt8], _ merchantID: String, _ context: TillRequestContext) async throws -> JSONValue
    ) {
        v1.post(path) { request, context in
            let caller = try context.requireSecretKey()
            let bytes = try await Self.body(request, context)
            return try await self.idempotency.run(request: request, body: bytes, caller: caller) {
                APIResponse(status, try await body(bytes, caller.merchantID, context))
            }
        }
    }

    func billingGet(
        _ path: RouterPath, on v1: RouterGroup<TillRequestContext>,
        _ body: @escaping @Sendable (_ request: Request, _ merchantID: String, _ context: TillRequestContext) async throws -> JSONValue
    ) {
        v1.get(path) { request, context in
            let caller = try context.requireSecretKey()
            return try await body(request, caller.merchantID, context).response(status: .ok)
        }
    }

    static func billingList<T>(
        _ page: (items: [T], hasMore: Bool), id: (T) -> String, _ view: (T) throws -> JSONValue
    ) throws -> JSONValue {
        list(try page.items.map(view), hasMore: page.hasMore, lastID: page.items.last.map(id))
    }

    // MARK: Catalog

    func addCatalogRoutes(to v1: RouterGroup<TillRequestContext>) {
        billingPost("products", on: v1, status: .created) { bytes, merchant, _ in
            let body = try RequestBody(bytes, allowed: ["name", "description", "metadata"])
            let product = try await self.billing.createProduct(
                name: try body.requiredString("name"), description: try body.string("description", maxBytes: 1_000),
                metadata: try body.metadata(), merchantID: merchant)
            return BillingViews.product(product)
        }
        billingGet("products", on: v1) { request, merchant, _ in
            let query = request.uri.queryParameters
            let page = try await self.billing.products(
                merchantID: merchant, startingAfter: try Self.eventQueryValue(query, "starting_after"), limit: try Self.limit(query))
            return try Self.billingList(page, id: \.id, BillingViews.product)
        }
        billingGet("products/:id", on: v1) { _, merchant, context in
            BillingViews.product(try await self.billing.product(id: try context.parameters.require("id"), merchantID: merchant))
        }
        billingPost("prices", on: v1, status: .created) { bytes, merchant, _ in
            let body = try RequestBody(
                bytes,
                allowed: [
                    "product", "currency", "unit_amount", "currency_options", "recurring", "billing_scheme", "tax_behavior",
                    "nickname", "usage",
                ])
            let usage = try Self.meteredPricing(body)
            let primary: Money
            if usage != nil, body.fields["unit_amount"] == nil {
                primary = .zero(try Self.currency(try body.requiredString("currency"), param: "currency"))
            } else {
                primary = try Self.money(body, amountField: "unit_amount", allowZero: true)
            }
            var amounts = [primary]
            for (code, value) in (try body.object("currency_options") ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard case .object(let fields) = value else {
                    throw APIError.invalid("currency_options.\(code) must be an object", param: "currency_options")
                }
                let option = try RequestBody(fields: fields, allowed: ["unit_amount"], prefix: "currency_options.\(code)")
                guard let amount = try option.integer("unit_amount"), amount >= 0 else {
                    throw APIError.invalid("currency_options.\(code).unit_amount must be a non-negative integer", param: "currency_options")
                }
                amounts.append(Money(minorUnits: amount, currency: try Self.currency(code, param: "currency_options")))
            }
            var recurrence: Recurrence?
            if let recurring = try body.object("recurring") {
                let fields = try RequestBody(fields: recurring, allowed: ["interval", "interval_count"], prefix: "recurring")
                let name = try fields.requiredString("interval")
                guard let interval = BillingInterval(rawValue: name) else {
                    throw APIError.invalid("recurring.interval must be day, week, month or year", param: "recurring.interval")
                }
                let count = try fields.integer("interval_count") ?? 1
                guard let small = Int(exactly: count) else { throw APIError.invalid("interval_count is too large", param: "recurring.interval_count") }
                recurrence = try Recurrence(interval, count: small)
            }
            let scheme = try Self.enumValue(body, "billing_scheme", PricingScheme.self) ?? .perUnit
            let tax = try Self.enumValue(body, "tax_behavior", TaxBehavior.self) ?? .exclusive
            let price = try await self.billing.createPrice(
                .init(
                    productID: try body.requiredString("product"), unitAmounts: amounts, recurrence: recurrence, scheme: scheme,
                    taxBehavior: tax, nickname: try body.string("nickname"), usage: usage),
                merchantID: merchant)
            return BillingViews.price(price)
        }
        billingGet("prices", on: v1) { request, merchant, _ in
            let query = request.uri.queryParameters
            let page = try await self.billing.prices(
                merchantID: merchant, productID: try Self.eventQueryValue(query, "product"),
                startingAfter: try Self.eventQueryValue(query, "starting_after"), limit: try Self.limit(query))
            return try Self.billingList(page, id: \.id, BillingViews.price)
        }
        billingGet("prices/:id", on: v1) { _, merchant, context in
            BillingViews.price(try await self.billing.price(id: try context.parameters.require("id"), merchantID: merchant))
        }
        billingPost("tax_rates", on: v1, status: .created) { bytes, merchant, _ in
            let body = try RequestBody(bytes, allowed: ["display_name", "percentage", "inclusive"])
            let percentage: Percentage
            switch body.fields["percentage"] {
            case .string(let text)?: percentage = try Percentage(decimalString: text)
            case .int(let whole)?: percentage = try Percentage(decimalString: String(whole))
            case nil, .null?: throw APIError.missing("percentage")
            default: throw APIError.invalid("percentage is a decimal string such as \"8.875\"", param: "percentage")
            }
            let rate = try await self.billing.createTaxRate(
                displayName: try body.requiredString("display_name", maxBytes: 100), percentage: percentage,
                behavior: try body.bool("inclusive") == true ? .inclusive : .exclusive, merchantID: merchant)
            return BillingViews.taxRate(rate)
        }
        billingGet("tax_rates", on: v1) { request, merchant, _ in
            let query = request.uri.queryParameters
            let page = try await self.billing.taxRates(
                merchantID: merchant, startingAfter: try Self.eventQueryValue(query, "starting_after"), limit: try Self.limit(query))
            return try Self.billingList(page, id: \.id, BillingViews.taxRate)
        }
        billingGet("tax_rates/:id", on: v1) { _, merchant, context in
            BillingViews.taxRate(try await self.billing.taxRate(id: try context.parameters.require("id"), merchantID: merchant))
        }
        billingGet("billing_settings", on: v1) { _, merchant, _ in
            BillingViews.settings(try await self.billing.settings(merchantID: merchant))
        }
        billingPost("billing_settings", on: v1) { bytes, merchant, _ in
            let body = try RequestBody(
                bytes,
                allowed: [
                    "invoice_prefix", "rounding_mode", "tax_rounding", "retry_days", "after_retries", "incomplete_hours",
                    "max_growth_factor", "max_invoice_amounts", "usage_grace_days", "reminder_days_before_due",
                    "overdue_notice_days", "late_fee",
                ])
            func days(_ name: String, _ fallback: [Int]) throws(APIError) -> [Int] {
                guard let value = body.fields[name] else { return fallback }
                guard case .array(let items) = value else { throw APIError.invalid("\(name) is an array of integers", param: name) }
                return try items.map { item throws(APIError) in
                    guard case .int(let days) = item, let small = Int(exactly: days) else {
                        throw APIError.invalid("\(name) is an array of integers", param: name)
                    }
                    return small
                }
            }
            let current = try await self.billing.settings(merchantID: merchant)
            var rounding = current.rounding
            if let name = try body.string("rounding_mode") {
                guard let mode = RoundingMode(apiName: name) else {
                    throw APIError.invalid(
                        "rounding_mode is one of half_even, half_up, half_down, up, down, ceiling, floor", param: "rounding_mode")
                }
                rounding.mode = mode
            }
            if let tax = try Self.enumValue(body, "tax_rounding", TaxRounding.self) { rounding.tax = tax }
            let retryDays = try days("retry_days", current.retryDays)
            var lateFee = current.lateFee
            if let value = body.fields["late_fee"] {
                switch value {
                case .null: lateFee = nil
                case .object(let fields):
                    let fee = try RequestBody(fields: fields, allowed: ["flat_amounts", "basis_points"], prefix: "late_fee")
                    var flat: [Currency: Int64] = [:]
                    for (code, amount) in try fee.object("flat_amounts") ?? [:] {
                        guard case .int(let minor) = amount else {
                            throw APIError.invalid("late_fee.flat_amounts maps currencies to integer amounts", param: "late_fee.flat_amounts")
                        }
                        flat[try Self.currency(code, param: "late_fee.flat_amounts")] = minor
                    }
                    lateFee = try LateFee(flat: flat, basisPoints: try fee.integer("basis_points") ?? 0)
                default:
                    throw APIError.invalid("late_fee is an object or null", param: "late_fee")
                }
            }
            var ceilings = current.maxInvoiceAmounts
            if let object = try body.object("max_invoice_amounts") {
                ceilings = [:]
                for (code, value) in object {
                    guard case .int(let amount) = value else {
                        throw APIError.invalid("max_invoice_amounts maps currencies to integer amounts", param: "max_invoice_amounts")
                    }
                    ceilings[try Self.currency(code, param: "max_invoice_amounts")] = amount
                }
            }
            let settings = try BillingSettings(
                invoicePrefix: try body.string("invoice_prefix") ?? current.invoicePrefix, rounding: rounding,
                retryDays: retryDays,
                afterRetries: try Self.enumValue(body, "after_retries", SubscriptionStatus.self) ?? current.afterRetries,
                incompleteHours: Int(clamping: try body.integer("incomplete_hours") ?? Int64(current.incompleteHours)),
                maxGrowthFactor: try body.integer("max_growth_factor") ?? current.maxGrowthFactor, maxInvoiceAmounts: ceilings,
                usageGraceDays: Int(clamping: try body.integer("usage_grace_days") ?? Int64(current.usageGraceDays)),
                reminderDaysBeforeDue: try days("reminder_days_before_due", current.reminderDaysBeforeDue),
                overdueNoticeDays: try days("overdue_notice_days", current.overdueNoticeDays), lateFee: lateFee)
            return BillingViews.settings(try await self.billing.update(settings: settings, merchantID: merchant))
        }
    }

    // MARK: Customers

    func addCustomerRoutes(to v1: RouterGroup<TillRequestContext>) {
        let fields: Set<String> = [
            "email", "name", "address", "preferred_locale", "timezone", "currency", "test_clock", "payment_method", "metadata",
        ]
        billingPost("customers", on: v1, status: .created) { bytes, merchant, _ in
            let body = try RequestBody(bytes, allowed: fields)
            let currency = try body.string("currency").map { code throws(APIError) in try Self.currency(code, param: "currency") }
            let customer = try await self.billing.createCustomer(
                .init(
                    email: try body.string("email", maxBytes: 254), name: try body.string("name"),
                    address: try Self.address(body), locale: try body.string("preferred_locale") ?? "en-US",
                    timeZone: try body.string("timezone", maxBytes: 64) ?? "UTC", currency: currency,
                    testClockID: try body.string("test_clock"), paymentToken: try body.string("payment_method"),
                    metadata: try body.metadata()),
                merchantID: merchant)
            return BillingViews.customer(customer)
        }
        billingPost("customers/:id", on: v1) { bytes, merchant, context in
            let body = try RequestBody(bytes, allowed: fields.subtracting(["currency", "test_clock"]))
            func optional(_ name: String, maxBytes: Int = RequestBody.defaultMaxBytes) throws -> String?? {
                guard let value = body.fields[name] else { return nil }
                if case .null = value { return .some(nil) }
                return .some(try body.string(name, maxBytes: maxBytes))
            }
            let address: PostalAddress?? = body.fields["address"] == nil ? nil : .some(try Self.address(body))
            let customer = try await self.billing.updateCustomer(
                id: try context.parameters.require("id"),
                .init(
                    email: try optional("email", maxBytes: 254), name: try optional("name"), address: address,
                    locale: try body.string("preferred_locale"), timeZone: try body.string("timezone", maxBytes: 64),
                    paymentToken: try body.string("payment_method"),
                    metadata: body.fields["metadata"] == nil ? nil : try body.metadata()),
                merchantID: merchant)
            return BillingViews.customer(customer)
        }
        billingPost("customers/:id/release_hold", on: v1) { bytes, merchant, context in
            _ = try RequestBody(bytes, allowed: [])
            return BillingViews.customer(
                try await self.billing.releaseHold(customerID: try context.parameters.require("id"), merchantID: merchant))
        }
        billingGet("customers", on: v1) { request, merchant, _ in
            let query = request.uri.queryParameters
            let page = try await self.billing.customers(
                merchantID: merchant, startingAfter: try Self.eventQueryValue(query, "starting_after"), limit: try Self.limit(query))
            return try Self.billingList(page, id: \.id, BillingViews.customer)
        }
        billingGet("customers/:id", on: v1) { _, merchant, context in
            BillingViews.customer(try await self.billing.customer(id: try context.parameters.require("id"), merchantID: merchant))
        }
    }

    static func address(_ body: RequestBody) throws(APIError) -> PostalAddress? {
        guard let object = try body.object("address") else { return nil }
        let fields = try RequestBody(
            fields: object, allowed: ["line1", "line2", "city", "postal_code", "state", "country"], prefix: "address")
        var country = try fields.string("country", maxBytes: 2)
        if let code = country {
            guard code.utf8.count == 2, code.allSatisfy({ $0.isASCII && $0.isLetter }) else {
                throw APIError.invalid("address.country is an ISO 3166-1 alpha-2 code such as DE", param: "address.country")
            }
            country = code.uppercased()
        }
        return PostalAddress(
            line1: try fields.string("line1"), line2: try fields.string("line2"), city: try fields.string("city"),
            postalCode: try fields.string("postal_code", maxBytes: 32), state: try fields.string("state"), country: country)
    }

    // MARK: Subscriptions

    func addSubscriptionRoutes(to v1: RouterGroup<TillRequestContext>) {
        billingPost("subscriptions", on: v1, status: .created) { bytes, merchant, _ in
            let body = try RequestBody(
                bytes,
                allowed: [
                    "customer", "items", "currency", "billing_alignment", "collection_method", "days_until_due",
                    "default_tax_rates", "discount", "trial_period_days", "metadata",
                ])
            let currency = try body.string("currency").map { code throws(APIError) in try Self.currency(code, param: "currency") }
            let request = BillingEngine.NewSubscription(
                customerID: try body.requiredString("customer"), items: try Self.items(body, creating: true), currency: currency,
                alignment: try Self.enumValue(body, "billing_alignment", BillingAlignment.self) ?? .anniversary,
                collection: try Self.enumValue(body, "collection_method", CollectionMethod.self) ?? .chargeAutomatically,
                daysUntilDue: Int(clamping: try body.integer("days_until_due") ?? 30), taxRateIDs: try Self.ids(body, "default_tax_rates"),
                discount: try Self.discount(body), trialDays: try body.integer("trial_period_days").map { Int(clamping: $0) },
                metadata: try body.metadata())
            return try BillingViews.subscription(try await self.billing.createSubscription(request, merchantID: merchant))
        }
        billingPost("subscriptions/:id", on: v1) { bytes, merchant, context in
            let body = try RequestBody(bytes, allowed: ["items"])
            let subscription = try await self.billing.changeSubscription(
                id: try context.parameters.require("id"), items: try Self.items(body, creating: false), merchantID: merchant)
            return try BillingViews.subscription(subscription)
        }
        billingPost("subscriptions/:id/cancel", on: v1) { bytes, merchant, context in
            let body = try RequestBody(bytes, allowed: ["at_period_end", "prorate", "credit_outcome"])
            let subscription = try await self.billing.cancelSubscription(
                id: try context.parameters.require("id"), atPeriodEnd: try body.bool("at_period_end") ?? false,
                prorate: try body.bool("prorate") ?? true,
                outcome: try Self.enumValue(body, "credit_outcome", CreditOutcome.self), merchantID: merchant)
            return try BillingViews.subscription(subscription)
        }
        billingPost("subscriptions/:id/keep", on: v1) { bytes, merchant, context in
            _ = try RequestBody(bytes, allowed: [])
            return try BillingViews.subscription(
                try await self.billing.keepSubscription(id: try context.parameters.require("id"), merchantID: merchant))
        }
        billingPost("subscriptions/:id/pause", on: v1) { bytes, merchant, context in
            _ = try RequestBody(bytes, allowed: [])
            return try BillingViews.subscription(
                try await self.billing.pauseSubscription(id: try context.parameters.require("id"), merchantID: merchant))
        }
        billingPost("subscriptions/:id/resume", on: v1) { bytes, merchant, context in
            _ = try RequestBody(bytes, allowed: [])
            return try BillingViews.subscription(
                try await self.billing.resumeSubscription(id: try context.parameters.require("id"), merchantID: merchant))
        }
        billingGet("subscriptions", on: v1) { request, merchant, _ in
            let query = request.uri.queryParameters
            let status = try Self.eventQueryValue(query, "status")
            if let status, SubscriptionStatus(rawValue: status) == nil { throw APIError.invalid("unknown status \(status)", param: "status") }
            let page = try await self.billing.subscriptions(
                merchantID: merchant, customerID: try Self.eventQueryValue(query, "customer"), status: status,
                startingAfter: try Self.eventQueryValue(query, "starting_after"), limit: try Self.limit(query))
            return try Self.billingList(page, id: \.id, BillingViews.subscription)
        }
        billingGet("subscriptions/:id", on: v1) { _, merchant, context in
            try BillingViews.subscription(try await self.billing.subscription(id: try context.parameters.require("id"), merchantID: merchant))
        }
    }

    static func items(_ body: RequestBody, creating: Bool) throws(APIError) -> [BillingEngine.ItemRequest] {
        guard case .array(let values)? = body.fields["items"], !values.isEmpty, values.count <= 20 else {
            throw APIError.invalid("items is an array of 1 to 20 items", param: "items")
        }
        var items: [BillingEngine.ItemRequest] = []
        for (index, value) in values.enumerated() {
            guard case .object(let object) = value else { throw APIError.invalid("items[\(index)] must be an object", param: "items") }
            let fields = try RequestBody(
                fields: object, allowed: creating ? ["price", "quantity"] : ["id", "price", "quantity", "deleted"],
                prefix: "items[\(index)]")
            let quantity = try fields.integer("quantity")
            if let quantity, quantity <= 0 {
                throw APIError.invalid("items[\(index)].quantity must be at least 1 (to remove an item, set deleted)", param: "items")
            }
            items.append(
                .init(id: try fields.string("id"), priceID: try fields.string("price"), quantity: quantity,
                      deleted: try fields.bool("deleted") ?? false))
        }
        return items
    }

    static func ids(_ body: RequestBody, _ name: String) throws(APIError) -> [String] {
        guard let value = body.fields[name] else { return [] }
        guard case .array(let values) = value, values.count <= 5 else {
            throw APIError.invalid("\(name) is an array of at most 5 ids", param: name)
        }
        return try values.map { value throws(APIError) in
            guard case .string(let id) = value, !id.isEmpty, id.utf8.count <= 255 else {
                throw APIError.invalid("\(name) is an array of ids", param: name)
            }
            return id
        }
    }

    static func discount(_ body: RequestBody) throws(APIError) -> Discount? {
        guard let object = try body.object("discount") else { return nil }
        let fields = try RequestBody(fields: object, allowed: ["percent_off", "amount_off", "currency"], prefix: "discount")
        if let percent = try fields.string("percent_off") {
            guard fields.fields["amount_off"] == nil else {
                throw APIError.invalid("a discount is percent_off or amount_off, not both", param: "discount")
            }
            do { return .percentOff(try Percentage(decimalString: percent)) } catch { throw APIError(error) }
        }
        return .amountOff(try money(fields, amountField: "amount_off", allowZero: false))
    }

    // MARK: Invoices and credit notes

    func addInvoiceRoutes(to v1: RouterGroup<TillRequestContext>) {
        billingPost("invoices", on: v1, status: .created) { bytes, merchant, _ in
            let body = try RequestBody(
                bytes,
                allowed: [
                    "customer", "currency", "lines", "collection_method", "days_until_due", "discount", "memo", "metadata",
                    "auto_finalize",
                ])
            let currency = try body.string("currency").map { code throws(APIError) in try Self.currency(code, param: "currency") }
            guard case .array(let values)? = body.fields["lines"], !values.isEmpty, values.count <= 250 else {
                throw APIError.invalid("lines is an array of 1 to 250 lines", param: "lines")
            }
            var lines: [BillingEngine.NewLine] = []
            for (index, value) in values.enumerated() {
                guard case .object(let object) = value else { throw APIError.invalid("lines[\(index)] must be an object", param: "lines") }
                lines.append(try Self.newLine(RequestBody(
                    fields: object, allowed: ["description", "price", "quantity", "amount", "currency", "tax_rates"], prefix: "lines[\(index)]"),
                    currency: currency))
            }
            let invoice = try await self.billing.createInvoice(
                .init(
                    customerID: try body.requiredString("customer"), currency: currency, lines: lines,
                    collection: try Self.enumValue(body, "collection_method", CollectionMethod.self) ?? .chargeAutomatically,
                    daysUntilDue: Int(clamping: try body.integer("days_until_due") ?? 30),
                    discounts: try Self.discount(body).map { [$0] } ?? [], memo: try body.string("memo", maxBytes: 2_000),
                    metadata: try body.metadata(), finalize: try body.bool("auto_finalize") ?? false),
                merchantID: merchant)
            return try BillingViews.invoice(invoice)
        }
        billingPost("invoices/:id/lines", on: v1) { bytes, merchant, context in
            let body = try RequestBody(bytes, allowed: ["description", "price", "quantity", "amount", "currency", "tax_rates"])
            let id = try context.parameters.require("id")
            let current = try await self.billing.invoice(id: id, merchantID: merchant)
            let invoice = try await self.billing.addLine(
                invoiceID: id, try Self.newLine(body, currency: current.currency), merchantID: merchant)
            return try BillingViews.invoice(invoice)
        }
        billingPost("invoices/:id/finalize", on: v1) { bytes, merchant, context in
            _ = try RequestBody(bytes, allowed: [])
            return try BillingViews.invoice(
                try await self.billing.finalizeInvoice(id: try context.parameters.require("id"), merchantID: merchant))
        }
        billingPost("invoices/:id/pay", on: v1) { bytes, merchant, context in
            let body = try RequestBody(bytes, allowed: ["paid_out_of_band"])
            return try BillingViews.invoice(
                try await self.billing.payInvoice(
                    id: try context.parameters.require("id"), outOfBand: try body.bool("paid_out_of_band") ?? false,
                    merchantID: merchant))
        }
        billingPost("invoices/:id/void", on: v1) { bytes, merchant, context in
            _ = try RequestBody(bytes, allowed: [])
            return try BillingViews.invoice(try await self.billing.voidInvoice(id: try context.parameters.require("id"), merchantID: merchant))
        }
        billingPost("invoices/:id/mark_uncollectible", on: v1) { bytes, merchant, context in
            _ = try RequestBody(bytes, allowed: [])
            return try BillingViews.invoice(
                try await self.billing.markUncollectible(id: try context.parameters.require("id"), merchantID: merchant))
        }
        billingGet("invoices", on: v1) { request, merchant, _ in
            let query = request.uri.queryParameters
            let status = try Self.eventQueryValue(query, "status")
            if let status, InvoiceStatus(rawValue: status) == nil { throw APIError.invalid("unknown status \(status)", param: "status") }
            let page = try await self.billing.invoices(
                merchantID: merchant, customerID: try Self.eventQueryValue(query, "customer"),
                subscriptionID: try Self.eventQueryValue(query, "subscription"), status: status,
                startingAfter: try Self.eventQueryValue(query, "starting_after"), limit: try Self.limit(query))
            return try Self.billingList(page, id: \.id, BillingViews.invoice)
        }
        billingGet("invoices/:id", on: v1) { _, merchant, context in
            try BillingViews.invoice(try await self.billing.invoice(id: try context.parameters.require("id"), merchantID: merchant))
        }
        billingPost("credit_notes", on: v1, status: .created) { bytes, merchant, _ in
            let body = try RequestBody(bytes, allowed: ["invoice", "lines", "outcome", "reason", "memo"])
            let invoiceID = try body.requiredString("invoice")
            guard case .array(let values)? = body.fields["lines"], !values.isEmpty, values.count <= 250 else {
                throw APIError.invalid("lines is an array of {invoice_line, amount}", param: "lines")
            }
            let invoice = try await self.billing.invoice(id: invoiceID, merchantID: merchant)
            var lines: [CreditLineRequest] = []
            for (index, value) in values.enumerated() {
                guard case .object(let object) = value else { throw APIError.invalid("lines[\(index)] must be an object", param: "lines") }
                let fields = try RequestBody(fields: object, allowed: ["invoice_line", "amount"], prefix: "lines[\(index)]")
                guard let amount = try fields.integer("amount"), amount > 0 else {
                    throw APIError.invalid("lines[\(index)].amount must be a positive integer of minor units", param: "lines")
                }
                lines.append(
                    CreditLineRequest(
                        invoiceLineID: try fields.requiredString("invoice_line"),
                        amount: Money(minorUnits: amount, currency: invoice.currency)))
            }
            let note = try await self.billing.createCreditNote(
                invoiceID: invoiceID, lines: lines, outcome: try Self.enumValue(body, "outcome", CreditOutcome.self),
                reason: try body.string("reason", maxBytes: 64), memo: try body.string("memo", maxBytes: 2_000), merchantID: merchant)
            return BillingViews.creditNote(note)
        }
        billingGet("credit_notes", on: v1) { request, merchant, _ in
            let query = request.uri.queryParameters
            let page = try await self.billing.creditNotes(
                merchantID: merchant, invoiceID: try Self.eventQueryValue(query, "invoice"),
                startingAfter: try Self.eventQueryValue(query, "starting_after"), limit: try Self.limit(query))
            return try Self.billingList(page, id: \.id, BillingViews.creditNote)
        }
        billingGet("credit_notes/:id", on: v1) { _, merchant, context in
            BillingViews.creditNote(try await self.billing.creditNote(id: try context.parameters.require("id"), merchantID: merchant))
        }
    }

    static func newLine(_ body: RequestBody, currency: Currency?) throws(APIError) -> BillingEngine.NewLine {
        var amount: Money?
        if body.fields["amount"] != nil {
            guard let minor = try body.integer("amount") else { throw APIError.invalid("amount must be an integer", param: "amount") }
            let code = try body.string("currency")
            guard let lineCurrency = try code.map({ code throws(APIError) in try Self.currency(code, param: "currency") }) ?? currency else {
                throw APIError.missing("currency")
            }
            amount = Money(minorUnits: minor, currency: lineCurrency)
        }
        let quantity = try body.integer("quantity") ?? 1
        guard quantity > 0 else { throw APIError.invalid("quantity must be at least 1", param: "quantity") }
        return .init(
            description: try body.string("description", maxBytes: 500), priceID: try body.string("price"), quantity: quantity,
            amount: amount, taxRateIDs: try ids(body, "tax_rates"))
    }

    // MARK: Test clocks

    func addTestClockRoutes(to v1: RouterGroup<TillRequestContext>) {
        billingPost("test_clocks", on: v1, status: .created) { bytes, merchant, _ in
            let body = try RequestBody(bytes, allowed: ["frozen_time", "name"])
            let clock = try await self.billing.createTestClock(
                frozenTime: try Self.time(body, "frozen_time"), name: try body.string("name"), merchantID: merchant)
            return BillingViews.testClock(clock)
        }
        billingPost("test_clocks/:id/advance", on: v1) { bytes, merchant, context in
            let body = try RequestBody(bytes, allowed: ["frozen_time"])
            let clock = try await self.billing.advance(
                testClockID: try context.parameters.require("id"), to: try Self.time(body, "frozen_time"), merchantID: merchant)
            return BillingViews.testClock(clock)
        }
        billingGet("test_clocks/:id", on: v1) { _, merchant, context in
            BillingViews.testClock(try await self.billing.testClock(id: try context.parameters.require("id"), merchantID: merchant))
        }
    }

    /// A time given as Unix seconds or as RFC 3339.
    static func time(_ body: RequestBody, _ name: String) throws(APIError) -> Date {
        switch body.fields[name] {
        case .int(let seconds)?:
            guard (0...253_402_300_799).contains(seconds) else { throw APIError.invalid("\(name) is out of range", param: name) }
            return Date(timeIntervalSince1970: TimeInterval(seconds))
        case .string(let text)?:
            guard let date = try? Date(text, strategy: .iso8601) else {
                throw APIError.invalid("\(name) is Unix seconds or an RFC 3339 time such as 2024-01-31T20:00:00Z", param: name)
            }
            return date
        case nil, .null?:
            throw APIError.missing(name)
        default:
            throw APIError.invalid("\(name) is Unix seconds or an RFC 3339 time", param: name)
        }
    }

    // MARK: Shared parsing

    static func currency(_ code: String, param: String) throws(APIError) -> Currency {
        guard code.utf8.count == 3, let currency = Currency(code: code) else {
            throw APIError.invalid("currency \(code.prefix(16)) is not an ISO 4217 currency", param: param)
        }
        return currency
    }

    static func money(_ body: RequestBody, amountField: String, allowZero: Bool) throws(APIError) -> Money {
        guard let amount = try body.integer(amountField) else { throw APIError.missing(amountField) }
        guard amount > 0 || (allowZero && amount == 0) else {
            throw APIError.invalid("\(amountField) must be a \(allowZero ? "non-negative" : "positive") integer of minor units", param: amountField)
        }
        return Money(minorUnits: amount, currency: try currency(try body.requiredString("currency"), param: "currency"))
    }

    static func enumValue<T: RawRepresentable>(_ body: RequestBody, _ name: String, _ type: T.Type) throws(APIError) -> T?
    where T.RawValue == String, T: CaseIterable {
        guard let text = try body.string(name) else { return nil }
        guard let value = T(rawValue: text) else {
            throw APIError.invalid("\(name) is one of \(T.allCases.map(\.rawValue).joined(separator: ", "))", param: name)
        }
        return value
    }
}
