import Foundation
import Logging
import TillBilling
import TillCore
import TillPayments
import TillStore

// Products, prices, tax rates, customers, settings and test clocks: documents that change
// nothing else when they are made.
extension BillingEngine {
    public struct NewPrice: Sendable {
        public var productID: String
        public var unitAmounts: [Money]
        public var recurrence: Recurrence?
        public var scheme: PricingScheme
        public var taxBehavior: TaxBehavior
        public var nickname: String?
        public var usage: MeteredPricing?

        public init(
            productID: String, unitAmounts: [Money], recurrence: Recurrence?, scheme: PricingScheme = .perUnit,
            taxBehavior: TaxBehavior = .exclusive, nickname: String? = nil, usage: MeteredPricing? = nil
        ) {
            self.usage = usage
            self.productID = productID
            self.unitAmounts = unitAmounts
            self.recurrence = recurrence
            self.scheme = scheme
            self.taxBehavior = taxBehavior
            self.nickname = nickname
        }
    }

    public func createProduct(
        name: String, description: String?, metadata: [String: String], merchantID: String
    ) async throws(BillingError) -> Product {
        let now = clock()
        let product = try Product(
            id: Identifiers.make("prod"), name: name, description: description, metadata: metadata, createdAt: now)
        return try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)", at: now) { billing in
            try billing.insert(product)
            billing.emit("product.created", BillingViews.product(product))
            return product
        }
    }

    public func createPrice(_ request: NewPrice, merchantID: String) async throws(BillingError) -> Price {
        let now = clock()
        let price = try Price(
            id: Identifiers.make("price"), productID: request.productID, unitAmounts: request.unitAmounts,
            kind: request.recurrence.map { .recurring($0) } ?? .oneTime, scheme: request.scheme,
            taxBehavior: request.taxBehavior, nickname: request.nickname, createdAt: now, usage: request.usage)
        return try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)", at: now) { billing in
            let product = try billing.load(Product.self, request.productID, param: "product")
            if let usage = request.usage { _ = try billing.load(BillableMetric.self, usage.metricID, param: "usage.billable_metric") }
            guard product.value.active else {
                throw BillingError.conflict("product_archived", "product \(product.value.id) is archived", param: "product")
            }
            try billing.insert(price)
            billing.emit("price.created", BillingViews.price(price))
            return price
        }
    }

    public func createTaxRate(
        displayName: String, percentage: Percentage, behavior: TaxBehavior, merchantID: String
    ) async throws(BillingError) -> TaxRate {
        guard !displayName.trimmingCharacters(in: .whitespaces).isEmpty, displayName.utf8.count <= 100 else {
            throw .invalid("display_name", "a tax rate needs a display name of at most 100 bytes (\"VAT\", \"Sales tax\")")
        }
        let rate = TaxRate(id: Identifiers.make("txr"), displayName: displayName, percentage: percentage, behavior: behavior)
        return try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            try billing.insert(rate)
            billing.emit("tax_rate.created", BillingViews.taxRate(rate))
            return rate
        }
    }

    public struct NewCustomer: Sendable {
        public var email: String?
        public var name: String?
        public var address: PostalAddress?
        public var locale: String
        public var timeZone: String
        public var currency: Currency?
        public var testClockID: String?
        public var paymentToken: String?
        public var metadata: [String: String]

        public init(
            email: String? = nil, name: String? = nil, address: PostalAddress? = nil, locale: String = "en-US",
            timeZone: String = "UTC", currency: Currency? = nil, testClockID: String? = nil, paymentToken: String? = nil,
            metadata: [String: String] = [:]
        ) {
            self.email = email
            self.name = name
            self.address = address
            self.locale = locale
            self.timeZone = timeZone
            self.currency = currency
            self.testClockID = testClockID
            self.paymentToken = paymentToken
            self.metadata = metadata
        }
    }

    public func createCustomer(_ request: NewCustomer, merchantID: String) async throws(BillingError) -> Customer {
        if let token = request.paymentToken { try await checkToken(token, merchantID: merchantID) }
        if request.testClockID != nil, !testClocksEnabled {
            throw .invalid("test_clock", "test clocks are off in this daemon (they are on under till serve --sandbox)")
        }
        var customer = try Customer(
            id: Identifiers.make("cus"), email: request.email, name: request.name, address: request.address,
            locale: request.locale, timeZone: request.timeZone, currency: request.currency,
            testClockID: request.testClockID, metadata: request.metadata, createdAt: clock())
        let saved = customer
        customer = try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            var customer = saved
            if let clockID = customer.testClockID { _ = try billing.load(TestClock.self, clockID, param: "test_clock") }
            try billing.useClock(of: customer)
            customer.createdAt = billing.now
            if let token = request.paymentToken { customer.paymentMethod = SavedPaymentMethod(token: token, savedAt: billing.now) }
            try billing.insert(customer, clockID: customer.testClockID)
            billing.emit("customer.created", BillingViews.customer(customer))
            billing.audit("billing.customer.create", customer.id)
            return customer
        }
        return customer
    }

    public struct CustomerUpdate: Sendable {
        public var email: String??
        public var name: String??
        public var address: PostalAddress??
        public var locale: String?
        public var timeZone: String?
        public var paymentToken: String?
        public var metadata: [String: String]?

        public init(
            email: String?? = nil, name: String?? = nil, address: PostalAddress?? = nil, locale: String? = nil,
            timeZone: String? = nil, paymentToken: String? = nil, metadata: [String: String]? = nil
        ) {
            self.email = email
            self.name = name
            self.address = address
            self.locale = locale
            self.timeZone = timeZone
            self.paymentToken = paymentToken
            self.metadata = metadata
        }
    }

    public func updateCustomer(id: String, _ update: CustomerUpdate, merchantID: String) async throws(BillingError) -> Customer {
        if let token = update.paymentToken { try await checkToken(token, merchantID: merchantID) }
        if let email = update.email, let email { try Customer.check(email: email) }
        if let locale = update.locale { try Customer.check(locale: locale) }
        if let zone = update.timeZone { _ = try BillingCalendar(timeZoneIdentifier: zone) }
        return try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            var stored = try billing.customer(id)
            try billing.useClock(of: stored.value)
            if let email = update.email { stored.value.email = email }
            if let name = update.name { stored.value.name = name }
            if let address = update.address { stored.value.address = address }
            if let locale = update.locale { stored.value.locale = locale }
            if let zone = update.timeZone { stored.value.timeZone = zone }
            if let metadata = update.metadata { stored.value.metadata = metadata }
            if let token = update.paymentToken, token != stored.value.paymentMethod?.token {
                stored.value.paymentMethod = SavedPaymentMethod(token: token, savedAt: billing.now)
                billing.audit("billing.customer.payment_method", stored.value.id, ["token": token])
            }
            try billing.save(&stored, dueAt: stored.record.dueAt)
            billing.emit("customer.updated", BillingViews.customer(stored.value))
            return stored.value
        }
    }

    public func customer(id: String, merchantID: String) async throws(BillingError) -> Customer {
        try await read(Customer.self, id, merchantID: merchantID).value
    }

    public func product(id: String, merchantID: String) async throws(BillingError) -> Product {
        try await read(Product.self, id, merchantID: merchantID).value
    }

    public func price(id: String, merchantID: String) async throws(BillingError) -> Price {
        try await read(Price.self, id, merchantID: merchantID).value
    }

    public func taxRate(id: String, merchantID: String) async throws(BillingError) -> TaxRate {
        try await read(TaxRate.self, id, merchantID: merchantID).value
    }

    public func customers(merchantID: String, startingAfter: String?, limit: Int) async throws(BillingError) -> (items: [Customer], hasMore: Bool) {
        try await list(Customer.self, merchantID: merchantID, startingAfter: startingAfter, limit: limit)
    }

    public func products(merchantID: String, startingAfter: String?, limit: Int) async throws(BillingError) -> (items: [Product], hasMore: Bool) {
        try await list(Product.self, merchantID: merchantID, startingAfter: startingAfter, limit: limit)
    }

    public func prices(
        merchantID: String, productID: String?, startingAfter: String?, limit: Int
    ) async throws(BillingError) -> (items: [Price], hasMore: Bool) {
        try await list(Price.self, merchantID: merchantID, parentID: productID, startingAfter: startingAfter, limit: limit)
    }

    public func taxRates(merchantID: String, startingAfter: String?, limit: Int) async throws(BillingError) -> (items: [TaxRate], hasMore: Bool) {
        try await list(TaxRate.self, merchantID: merchantID, startingAfter: startingAfter, limit: limit)
    }

    // MARK: Settings

    public func settings(merchantID: String) async throws(BillingError) -> BillingSettings {
        let record = try await Self.mapped {
            try await store.billingObject(id: StoredSettings.id(merchantID: merchantID), merchantID: merchantID)
        }
        guard let record else { return .defaults }
        return try DocumentCoding.decode(StoredSettings.self, record).value.settings
    }

    public func update(settings: BillingSettings, merchantID: String) async throws(BillingError) -> BillingSettings {
        try await transact(merchantID: merchantID, actor: "merchant:\(merchantID)") { billing in
            let id = StoredSettings.id(merchantID: merchantID)
            if var stored = try billing.find(StoredSettings.self, id) {
                stored.value.settings = settings
                try billing.save(&stored, dueAt: nil)
            } else {
                try billing.insert(StoredSettings(id: id, settings: settings, createdAt: billing.now))
            }
            billing.audit("billing.settings.update", id, ["invoice_prefix": settings.invoicePrefix])
            return settings
        }
    }

    // MARK: Tokens

    /// A saved payment method must be a token of this merchant's vault.
    func checkToken(_ token: String, merchantID: String) async throws(BillingError) {
        let known: Bool
        do {
            known = try await payments.hasCard(token: token, merchantID: merchantID)
        } catch {
            throw BillingError(.internalFailure, code: "internal_error", "could not look the token up: \(error.message)")
        }
        guard known else { throw .invalid("payment_method", "no such token", code: "token_invalid") }
    }
}
