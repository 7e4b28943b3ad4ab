import Foundation
import Logging
import TillAudit
import TillBilling
import TillCore
import TillPayments
import TillStore

/// Billing over the store and the payment engine: every change is one durable transaction
/// (the documents, their events and counters together), and money moves only through
/// ``PaymentEngine`` by vault token, after the attempt that moves it is on disk.
public final class BillingEngine: Sendable {
    let store: any BillingStore & TransactionalStore & UsageStore
    let payments: PaymentEngine
    let audit: AuditTrail
    let clock: @Sendable () -> Date
    let logger: Logger
    /// Whether test clocks may be made (sandbox and development daemons).
    public let testClocksEnabled: Bool
    /// Sends customer emails; without one, messages stay queued (visible in the API).
    let mailer: (any BillingMailer)?

    public init(
        store: any BillingStore & TransactionalStore & UsageStore, payments: PaymentEngine, audit: AuditTrail,
        now: @escaping @Sendable () -> Date = { Date() }, logger: Logger, testClocksEnabled: Bool,
        mailer: (any BillingMailer)? = nil
    ) {
        self.mailer = mailer
        self.store = store
        self.payments = payments
        self.audit = audit
        self.clock = now
        self.logger = logger
        self.testClocksEnabled = testClocksEnabled
    }

    /// Runs `body` in one durable transaction, then what must follow its commit (audit
    /// entries, collections, refunds), and returns the body's value.
    func transact<T: Sendable>(
        merchantID: String, actor: String, at now: Date? = nil,
        _ body: @escaping @Sendable (BillingTransaction) throws -> T
    ) async throws(BillingError) -> T {
        let start = now ?? clock()
        let (value, after, at) = try await Self.mapped {
            try await store.write { tx in
                let billing = BillingTransaction(tx: tx, merchantID: merchantID, now: start)
                billing.mailing = self.mailer != nil
                let value = try body(billing)
                try billing.flush()
                return (value, billing.after, billing.now)
            }
        }
        await finish(after, merchantID: merchantID, actor: actor, at: at)
        return value
    }

    func finish(_ after: AfterCommit, merchantID: String, actor: String, at now: Date) async {
        for entry in after.audits {
            await audit.record(
                actor: actor, action: AuditAction(rawValue: entry.action), subject: entry.subject, origin: "billing",
                details: entry.details.merging(["merchant": merchantID]) { first, _ in first })
        }
        for invoiceID in after.collections {
            await collect(invoiceID: invoiceID, merchantID: merchantID, at: now)
        }
        for creditNoteID in after.refunds {
            await refund(creditNoteID: creditNoteID, merchantID: merchantID)
        }
        for emailID in after.emails {
            await deliver(emailID: emailID, merchantID: merchantID, at: now)
        }
    }

    /// Reads outside a transaction.
    func read<Value: BillingDocument>(_ type: Value.Type, _ id: String, merchantID: String) async throws(BillingError) -> Stored<Value> {
        let record = try await Self.mapped { try await store.billingObject(id: id, merchantID: merchantID) }
        guard let record, record.kind == Value.documentKind.rawValue else {
            throw BillingError.notFound(Value.documentKind.rawValue.replacingOccurrences(of: "_", with: " "), id)
        }
        return try DocumentCoding.decode(Value.self, record)
    }

    func list<Value: BillingDocument>(
        _ type: Value.Type, merchantID: String, customerID: String? = nil, parentID: String? = nil, status: String? = nil,
        startingAfter: String?, limit: Int
    ) async throws(BillingError) -> (items: [Value], hasMore: Bool) {
        let query = BillingObjectQuery(kind: Value.documentKind.rawValue, customerID: customerID, parentID: parentID, status: status)
        let page = try await Self.mapped {
            try await store.billingObjects(merchantID: merchantID, matching: query, startingAfter: startingAfter, limit: limit)
        }
        var items: [Value] = []
        for record in page.items { items.append(try DocumentCoding.decode(Value.self, record).value) }
        return (items, page.hasMore)
    }

    /// Store and coding failures in billing's terms: a lost race is a conflict the caller
    /// may retry; anything else is Till's own failure, described only in the log.
    static func mapped<T>(_ body: () async throws -> T) async throws(BillingError) -> T {
        do {
            return try await body()
        } catch let error as BillingError {
            throw error
        } catch BillingStoreConflict.staleVersion(let id) {
            throw BillingError.conflict(
                "concurrent_update", "\(id) changed while this request ran; nothing was written, retry the request")
        } catch BillingStoreConflict.duplicateNumber(let number) {
            throw BillingError.conflict("duplicate_number", "\(number) is taken by another document; nothing was written")
        } catch let error as MoneyError {
            throw BillingError.money(error, while: "billing")
        } catch {
            throw BillingError(.internalFailure, code: "internal_error", "billing storage failed: \(type(of: error))")
        }
    }
}

extension BillingTransaction {
    /// Moves this transaction's time to the customer's clock: a customer on a test clock
    /// lives at the clock's time, in everything the transaction does for them.
    func useClock(of customer: Customer) throws {
        guard let clockID = customer.testClockID else { return }
        now = try load(TestClock.self, clockID).value.frozenTime
    }

    func customer(_ id: String) throws -> Stored<Customer> {
        try load(Customer.self, id, param: "customer")
    }

    /// The prices, their products and the tax rates named, as one lookup.
    func book(priceIDs: [String], taxRateIDs: [String]) throws -> PriceBook {
        var prices: [String: Price] = [:]
        var products: [String: Product] = [:]
        for id in Set(priceIDs) {
            let price = try load(Price.self, id, param: "price").value
            prices[id] = price
            if products[price.productID] == nil, let product = try find(Product.self, price.productID) {
                products[price.productID] = product.value
            }
        }
        var rates: [String: TaxRate] = [:]
        for id in Set(taxRateIDs) { rates[id] = try load(TaxRate.self, id, param: "tax_rates").value }
        return PriceBook(prices: prices, products: products, taxRates: rates)
    }
}
