import Foundation
import TillBilling
import TillStore

/// Billing's documents read straight from the store, without a payment engine: what the
/// command line shows an operator beside (or without) a running daemon.
public struct BillingDocuments: Sendable {
    let store: any BillingStore

    public init(store: any BillingStore) {
        self.store = store
    }

    public func invoices(merchantID: String, status: InvoiceStatus?, limit: Int) async throws(BillingError) -> [Invoice] {
        try await page(Invoice.self, merchantID: merchantID, status: status?.rawValue, limit: limit)
    }

    public func subscriptions(
        merchantID: String, status: SubscriptionStatus?, limit: Int
    ) async throws(BillingError) -> [Subscription] {
        try await page(Subscription.self, merchantID: merchantID, status: status?.rawValue, limit: limit)
    }

    public func creditNotes(merchantID: String, limit: Int) async throws(BillingError) -> [CreditNote] {
        try await page(CreditNote.self, merchantID: merchantID, status: nil, limit: limit)
    }

    func page<Value: BillingDocument>(
        _ type: Value.Type, merchantID: String, status: String?, limit: Int
    ) async throws(BillingError) -> [Value] {
        let query = BillingObjectQuery(kind: Value.documentKind.rawValue, status: status)
        let records = try await BillingEngine.mapped {
            try await store.billingObjects(merchantID: merchantID, matching: query, startingAfter: nil, limit: limit).items
        }
        var values: [Value] = []
        for record in records { values.append(try DocumentCoding.decode(Value.self, record).value) }
        return values
    }
}
