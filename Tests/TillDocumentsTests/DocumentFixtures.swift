import Foundation
import TillBilling
import TillCore
import Testing
@testable import TillDocuments

/// One invoice per language, as a customer in that country would get it: a plan for three
/// seats with a billing period, a prorated line, usage, a tax rate, finalized on
/// 2024-01-31T20:00Z (already 1 February in Tokyo).
enum DocumentFixtures {
    struct Case: Sendable, CustomTestStringConvertible {
        var locale: DocumentLocale
        var tag: String
        var timeZone: String
        var currency: String
        var customer: String
        var tax: (name: String, percent: String)
        var testDescription: String { locale.rawValue }
    }

    static let cases: [Case] = [
        Case(locale: .en, tag: "en-US", timeZone: "America/New_York", currency: "USD", customer: "Ada Lovelace", tax: ("Sales tax", "8.875")),
        Case(locale: .de, tag: "de-DE", timeZone: "Europe/Berlin", currency: "EUR", customer: "Jürgen Weiß", tax: ("MwSt.", "19")),
        Case(locale: .fr, tag: "fr-FR", timeZone: "Europe/Paris", currency: "EUR", customer: "Hélène Dupré", tax: ("TVA", "20")),
        Case(locale: .es, tag: "es-ES", timeZone: "Europe/Madrid", currency: "EUR", customer: "Íñigo Muñoz", tax: ("IVA", "21")),
        Case(locale: .ja, tag: "ja-JP", timeZone: "Asia/Tokyo", currency: "JPY", customer: "佐藤 花子", tax: ("消費税", "10")),
    ]

    static let issued = Date(timeIntervalSince1970: 1_706_731_200)  // 2024-01-31T20:00:00Z

    static func money(_ minor: Int64, _ code: String) -> Money {
        Money(minorUnits: minor, currency: Currency(code: code)!)
    }

    static func customer(_ c: Case) throws -> Customer {
        try Customer(
            id: "cus_docs_\(c.locale.rawValue)", email: "billing@example.com", name: c.customer,
            address: PostalAddress(line1: "1 Example Street", city: "Exampleton", postalCode: "12345", country: "DE"),
            locale: c.tag, timeZone: c.timeZone, createdAt: issued)
    }

    static func branding() throws -> DocumentBranding {
        try DocumentBranding(
            displayName: "Northwind Tools", legalName: "Northwind Tools GmbH", addressLines: ["Hauptstraße 5", "10115 Berlin"],
            taxID: "DE123456789", email: "billing@northwind.example")
    }

    /// Minor units scale with the currency: yen has none, so its amounts are a hundredth.
    static func invoice(_ c: Case, extraLines: Int = 0) throws -> (Invoice, Customer) {
        let customer = try customer(c)
        let unit: Int64 = c.currency == "JPY" ? 12_500 : 125_000
        let rate = TaxRate(id: "txr_\(c.locale.rawValue)", displayName: c.tax.name, percentage: try Percentage(decimalString: c.tax.percent), behavior: .exclusive)
        let february = BillingPeriod(start: Date(timeIntervalSince1970: 1_706_742_000), end: Date(timeIntervalSince1970: 1_709_247_600))
        var lines = [
            InvoiceLine(id: "il_1", description: "Pro plan", quantity: 3, unitAmount: money(unit, c.currency),
                        amount: money(unit * 3, c.currency), period: february, taxRates: [rate]),
            InvoiceLine(id: "il_2", description: "Seat added on 20 January", quantity: 1, unitAmount: nil,
                        amount: money(unit / 5, c.currency), proration: true, taxRates: [rate]),
        ]
        for index in 0..<extraLines {
            lines.append(InvoiceLine(id: "il_x\(index)", description: "Consulting hour \(index + 1)", quantity: 1,
                                     unitAmount: money(unit / 10, c.currency), amount: money(unit / 10, c.currency), taxRates: [rate]))
        }
        var invoice = Invoice(
            id: "in_docs_\(c.locale.rawValue)", customer: customer, subscriptionID: nil, reason: .manual,
            currency: Currency(code: c.currency)!, lines: lines, discounts: [], rounding: .standard, collection: .sendInvoice,
            daysUntilDue: 14, memo: "Thank you for your business.", createdAt: issued)
        _ = try invoice.finalize(number: "NW-0042", customer: customer, at: issued)
        return (invoice, customer)
    }

    static func model(_ c: Case, extraLines: Int = 0) throws -> DocumentModel {
        let (invoice, customer) = try invoice(c, extraLines: extraLines)
        return try DocumentModel.invoice(invoice, customer: customer, branding: try branding())
    }
}
