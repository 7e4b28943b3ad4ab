import Foundation
import TillBilling
import TillCore

/// One invoice or credit note as it is printed: every amount, date and word already
/// formatted for the customer's locale and timezone. The HTML templates and the PDF layout
/// both render this, so the two never disagree; merchant templates see the same fields.
public struct DocumentModel: Sendable, Equatable {
    public enum Kind: String, Sendable { case invoice, creditNote = "credit_note" }

    public struct Party: Sendable, Equatable {
        public var name: String?
        public var lines: [String]
    }

    public struct Line: Sendable, Equatable {
        public var description: String
        /// The period the line covers, or `nil`.
        public var period: String?
        public var quantity: String
        public var unitPrice: String?
        public var amount: String
        public var proration: Bool
    }

    public struct TotalRow: Sendable, Equatable {
        public var label: String
        public var amount: String
        /// The figure that matters most (amount due, or a credit note's total): bold.
        public var emphasized: Bool
    }

    public var kind: Kind
    public var locale: DocumentLocale
    /// BCP 47 language, for `<html lang>`.
    public var language: String
    public var labels: DocumentLabels
    public var title: String
    public var number: String
    public var status: String
    public var statusKey: String
    public var issueDate: String
    /// The instant the document was issued: the PDF's creation date, so a re-render is
    /// byte-for-byte the same.
    public var issuedAt: Date
    public var dueDate: String?
    public var period: String?
    public var merchant: Party
    public var merchantTaxID: String?
    public var merchantEmail: String?
    public var accentColor: String
    public var logoPNG: Data?
    public var customer: Party
    public var lines: [Line]
    public var totals: [TotalRow]
    public var amountDue: String
    public var rounding: String
    public var memo: String?
    /// Credit notes: the invoice they amend, how the credit is settled, and why.
    public var invoiceNumber: String?
    public var outcome: String?
    public var reason: String?

    /// `data:image/png;base64,…` for the HTML logo.
    public var logoDataURI: String? { logoPNG.map { "data:image/png;base64," + $0.base64EncodedString() } }

    public static func invoice(
        _ invoice: Invoice, customer: Customer, branding: DocumentBranding, locale override: DocumentLocale? = nil
    ) throws(DocumentError) -> DocumentModel {
        let locale = override ?? DocumentLocale(tag: invoice.locale)
        let format = try DocumentFormatter(locale: locale, timeZoneIdentifier: invoice.timeZone)
        let labels = DocumentLabels.of(locale)
        let totals: InvoiceTotals
        let due: Money
        do {
            totals = try invoice.totals ?? invoice.computedTotals()
            due = try invoice.amountDue()
        } catch {
            throw .invalid("invoice", "\(error)")
        }
        let rates = Dictionary(invoice.lines.flatMap(\.taxRates).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })

        var rows: [TotalRow] = [TotalRow(label: labels.subtotal, amount: format.money(totals.subtotal), emphasized: false)]
        if !totals.totalDiscount.isZero {
            rows.append(TotalRow(label: labels.discount, amount: format.money(Self.negative(totals.totalDiscount)), emphasized: false))
        }
        if !totals.taxes.isEmpty {
            rows.append(TotalRow(label: labels.totalExcludingTax, amount: format.money(totals.totalExcludingTax), emphasized: false))
            for tax in totals.taxes {
                rows.append(TotalRow(label: Self.taxLabel(rates[tax.rateID], tax, labels, format), amount: format.money(tax.amount), emphasized: false))
            }
        }
        rows.append(TotalRow(label: labels.total, amount: format.money(totals.total), emphasized: false))
        if !invoice.creditApplied.isZero {
            rows.append(TotalRow(label: labels.creditApplied, amount: format.money(Self.negative(invoice.creditApplied)), emphasized: false))
        }
        if !invoice.amountPaid.isZero {
            rows.append(TotalRow(label: labels.amountPaid, amount: format.money(Self.negative(invoice.amountPaid)), emphasized: false))
        }
        if !invoice.amountCredited.isZero {
            rows.append(TotalRow(label: labels.amountCredited, amount: format.money(Self.negative(invoice.amountCredited)), emphasized: false))
        }
        let remaining = (try? invoice.amountRemaining()) ?? due
        let amountDue = invoice.status == .draft || invoice.status == .open ? remaining : Money(minorUnits: 0, currency: invoice.currency)
        rows.append(TotalRow(label: labels.amountDue, amount: format.money(amountDue), emphasized: true))

        let lines = invoice.lines.map { line in
            Line(
                description: line.description,
                period: line.period.map { format.period(start: $0.start, end: $0.end) },
                quantity: line.usageQuantity.map { format.decimal($0.description) } ?? format.number(line.quantity),
                unitPrice: line.unitAmount.map(format.money), amount: format.money(line.amount), proration: line.proration)
        }
        return DocumentModel(
            kind: .invoice, locale: locale, language: locale.rawValue, labels: labels, title: labels.invoice,
            number: invoice.number ?? invoice.id, status: labels.statuses[invoice.status.rawValue] ?? invoice.status.rawValue,
            statusKey: invoice.status.rawValue, issueDate: format.date(invoice.finalizedAt ?? invoice.createdAt),
            issuedAt: invoice.finalizedAt ?? invoice.createdAt,
            dueDate: invoice.dueDate.map(format.date),
            period: zip(invoice.periodStart, invoice.periodEnd).map { format.period(start: $0, end: $1) },
            merchant: Self.merchant(branding), merchantTaxID: branding.taxID, merchantEmail: branding.email,
            accentColor: branding.accentColor, logoPNG: branding.logoPNG, customer: Self.party(customer),
            lines: lines, totals: rows, amountDue: format.money(amountDue), rounding: labels.rounding(invoice.rounding),
            memo: invoice.memo, invoiceNumber: nil, outcome: nil, reason: nil)
    }

    public static func creditNote(
        _ note: CreditNote, invoice: Invoice, customer: Customer, branding: DocumentBranding, locale override: DocumentLocale? = nil
    ) throws(DocumentError) -> DocumentModel {
        let locale = override ?? DocumentLocale(tag: invoice.locale)
        let format = try DocumentFormatter(locale: locale, timeZoneIdentifier: invoice.timeZone)
        let labels = DocumentLabels.of(locale)
        let invoiceLines = Dictionary(invoice.lines.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let rates = Dictionary(invoice.lines.flatMap(\.taxRates).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let lines = note.totals.lines.map { credited in
            let original = invoiceLines[credited.invoiceLineID]
            return Line(
                description: original?.description ?? credited.invoiceLineID,
                period: original?.period.map { format.period(start: $0.start, end: $0.end) },
                quantity: format.number(original?.quantity ?? 1), unitPrice: nil, amount: format.money(credited.amount),
                proration: false)
        }
        var rows = [TotalRow(label: labels.subtotal, amount: format.money(note.totals.subtotal), emphasized: false)]
        var perRate: [(String, Money, Money)] = []
        for tax in note.totals.lines.flatMap(\.taxes) {
            if let index = perRate.firstIndex(where: { $0.0 == tax.rateID }) {
                let (id, taxable, amount) = perRate[index]
                perRate[index] = (id, (try? taxable.adding(tax.taxableAmount)) ?? taxable, (try? amount.adding(tax.amount)) ?? amount)
            } else {
                perRate.append((tax.rateID, tax.taxableAmount, tax.amount))
            }
        }
        for (id, taxable, amount) in perRate {
            let tax = LineTax(rateID: id, taxableAmount: taxable, amount: amount)
            rows.append(TotalRow(label: Self.taxLabel(rates[id], tax, labels, format), amount: format.money(amount), emphasized: false))
        }
        rows.append(TotalRow(label: labels.total, amount: format.money(note.totals.total), emphasized: true))
        return DocumentModel(
            kind: .creditNote, locale: locale, language: locale.rawValue, labels: labels, title: labels.creditNote,
            number: note.number, status: labels.statuses[note.status.rawValue] ?? note.status.rawValue,
            statusKey: note.status.rawValue, issueDate: format.date(note.createdAt), issuedAt: note.createdAt, dueDate: nil,
            period: nil,
            merchant: Self.merchant(branding), merchantTaxID: branding.taxID, merchantEmail: branding.email,
            accentColor: branding.accentColor, logoPNG: branding.logoPNG, customer: Self.party(customer),
            lines: lines, totals: rows, amountDue: format.money(note.totals.total), rounding: labels.rounding(invoice.rounding),
            memo: note.memo, invoiceNumber: invoice.number ?? invoice.id,
            outcome: labels.outcomes[note.outcome.rawValue] ?? note.outcome.rawValue, reason: note.reason)
    }

    /// `VAT 20% (incl.)`: the rate's own name and percentage, and whether it was included.
    static func taxLabel(_ rate: TaxRate?, _ tax: LineTax, _ labels: DocumentLabels, _ format: DocumentFormatter) -> String {
        guard let rate else { return labels.tax }
        let name = rate.displayName.isEmpty ? labels.tax : rate.displayName
        return "\(name) \(format.percent(rate.percentage.decimalString)) · \(format.money(tax.taxableAmount))"
    }

    static func negative(_ amount: Money) -> Money {
        (try? amount.magnitude().negated()) ?? amount
    }

    static func merchant(_ branding: DocumentBranding) -> Party {
        Party(name: branding.displayName, lines: [branding.legalName].compactMap { $0 } + branding.addressLines)
    }

    static func party(_ customer: Customer) -> Party {
        var lines: [String] = []
        if let address = customer.address {
            for line in [address.line1, address.line2] { if let line, !line.isEmpty { lines.append(line) } }
            let city = [address.postalCode, address.city].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            if !city.isEmpty { lines.append(city) }
            for line in [address.state, address.country] { if let line, !line.isEmpty { lines.append(line) } }
        }
        if let email = customer.email { lines.append(email) }
        return Party(name: customer.name, lines: lines)
    }
}

private func zip(_ a: Date?, _ b: Date?) -> (Date, Date)? {
    guard let a, let b else { return nil }
    return (a, b)
}
