import Foundation
import PropertyBased
import Testing
import TillBilling
import TillCore

fileprivate func usd(_ text: String) throws -> Money {
    try Money(decimalString: text, currency: .usd)
}

fileprivate func vat(_ percent: String, _ behavior: TaxBehavior) throws -> TaxRate {
    TaxRate(id: "txr_vat", displayName: "VAT", percentage: try Percentage(decimalString: percent), behavior: behavior)
}

/// The $30 plan with 20 % VAT on top: $36.00 charged.
fileprivate func planInvoice() throws -> InvoiceTotals {
    let line = InvoiceLineInput(id: "li_plan", amount: try usd("30.00"), taxRates: [try vat("20", .exclusive)])
    return try InvoiceMath.totals(lines: [line], discounts: [], currency: .usd, rounding: .standard)
}

fileprivate func request(_ line: String, _ amount: Money) -> CreditLineRequest {
    CreditLineRequest(invoiceLineID: line, amount: amount)
}

@Suite("Credit note math")
struct CreditNoteMathTests {
    @Test("cancelling a $30 plan with 20 % VAT: crediting $20.00 credits $24.00 ($4.00 tax)")
    func cancelPlan() throws {
        let invoice = try planInvoice()
        #expect(invoice.total == (try usd("36.00")))
        let note = try CreditNoteMath.credit(invoice, lines: [request("li_plan", try usd("20.00"))], alreadyCredited: [])
        #expect(note.subtotal == (try usd("20.00")))
        #expect(note.tax == (try usd("4.00")))
        #expect(note.total == (try usd("24.00")))
        #expect(note.lines == [
            CreditedLine(
                invoiceLineID: "li_plan", amount: try usd("20.00"),
                taxes: [LineTax(rateID: "txr_vat", taxableAmount: try usd("20.00"), amount: try usd("4.00"))],
                total: try usd("24.00"))
        ])
        #expect(try CreditNoteMath.remainingCreditable(invoice, alreadyCredited: note.lines) == usd("12.00"))
    }

    @Test("crediting more than remains is refused")
    func moreThanRemains() throws {
        let invoice = try planInvoice()
        let tooMuch = #expect(throws: BillingError.self) {
            try CreditNoteMath.credit(invoice, lines: [request("li_plan", try usd("30.01"))], alreadyCredited: [])
        }
        #expect(tooMuch?.code == "credit_exceeds_remaining")
        #expect(tooMuch?.kind == .conflict)
        let first = try CreditNoteMath.credit(invoice, lines: [request("li_plan", try usd("20.00"))], alreadyCredited: [])
        let afterFirst = #expect(throws: BillingError.self) {
            try CreditNoteMath.credit(invoice, lines: [request("li_plan", try usd("10.01"))], alreadyCredited: first.lines)
        }
        #expect(afterFirst?.code == "credit_exceeds_remaining")
        #expect(afterFirst?.message.contains("10.00 USD") == true, "the refusal says what is left")
    }

    @Test("two credit notes of $15 and $15 succeed; a third of $0.01 is refused")
    func creditInPieces() throws {
        let invoice = try planInvoice()
        let first = try CreditNoteMath.credit(invoice, lines: [request("li_plan", try usd("15.00"))], alreadyCredited: [])
        let second = try CreditNoteMath.credit(
            invoice, lines: [request("li_plan", try usd("15.00"))], alreadyCredited: first.lines)
        #expect(first.total == (try usd("18.00")))
        #expect(second.total == (try usd("18.00")))
        let both = first.lines + second.lines
        #expect(try CreditNoteMath.remainingCreditable(invoice, alreadyCredited: both) == usd("0.00"))
        let third = #expect(throws: BillingError.self) {
            try CreditNoteMath.credit(invoice, lines: [request("li_plan", try usd("0.01"))], alreadyCredited: both)
        }
        #expect(third?.code == "credit_exceeds_remaining")
    }

    @Test("an inclusive line is credited tax-inclusive: $12.00 of a $24.00 line with 20 % VAT holds $2.00 tax")
    func inclusiveLine() throws {
        let line = InvoiceLineInput(id: "li", amount: try usd("24.00"), taxRates: [try vat("20", .inclusive)])
        let invoice = try InvoiceMath.totals(lines: [line], discounts: [], currency: .usd, rounding: .standard)
        let note = try CreditNoteMath.credit(invoice, lines: [request("li", try usd("12.00"))], alreadyCredited: [])
        #expect(note.total == (try usd("12.00")))
        #expect(note.tax == (try usd("2.00")))
        #expect(note.subtotal == (try usd("10.00")))
        #expect(throws: BillingError.self) {
            try CreditNoteMath.credit(invoice, lines: [request("li", try usd("12.01"))], alreadyCredited: note.lines)
        }
    }

    @Test("credits split in rounding-heavy pieces still return exactly the tax charged")
    func piecesReturnExactTax() throws {
        // 0.05 at 20 % charges 0.01 tax; crediting 0.01 five times rounds each piece's tax to 0
        // (half-even of 0.002) and the last piece, which uses up the line, takes the 0.01.
        let line = InvoiceLineInput(id: "li", amount: try usd("0.05"), taxRates: [try vat("20", .exclusive)])
        let invoice = try InvoiceMath.totals(lines: [line], discounts: [], currency: .usd, rounding: .standard)
        var credited: [CreditedLine] = []
        for _ in 0..<5 {
            let note = try CreditNoteMath.credit(invoice, lines: [request("li", try usd("0.01"))], alreadyCredited: credited)
            credited += note.lines
        }
        #expect(credited.map(\.taxes[0].amount.minorUnits) == [0, 0, 0, 0, 1])
        #expect(try Money.sum(credited.map(\.total), currency: .usd) == invoice.total)
    }

    @Test("bad requests are refused: no lines, an unknown or repeated line, zero, another currency")
    func refusals() throws {
        let invoice = try planInvoice()
        let empty = #expect(throws: BillingError.self) { try CreditNoteMath.credit(invoice, lines: [], alreadyCredited: []) }
        #expect(empty?.param == "lines")
        let unknown = #expect(throws: BillingError.self) {
            try CreditNoteMath.credit(invoice, lines: [request("li_other", try usd("1.00"))], alreadyCredited: [])
        }
        #expect(unknown?.param == "invoice_line_id")
        #expect(throws: BillingError.self) {
            try CreditNoteMath.credit(
                invoice, lines: [request("li_plan", try usd("1.00")), request("li_plan", try usd("1.00"))], alreadyCredited: [])
        }
        let zero = #expect(throws: BillingError.self) {
            try CreditNoteMath.credit(invoice, lines: [request("li_plan", try usd("0.00"))], alreadyCredited: [])
        }
        #expect(zero?.param == "amount")
        let euros = #expect(throws: BillingError.self) {
            try CreditNoteMath.credit(
                invoice, lines: [request("li_plan", try Money(decimalString: "1.00", currency: .eur))], alreadyCredited: [])
        }
        #expect(euros?.param == "currency")
    }

    @Test("a credit note survives JSON")
    func codable() throws {
        let note = try CreditNoteMath.credit(try planInvoice(), lines: [request("li_plan", try usd("7.77"))], alreadyCredited: [])
        #expect(try JSONDecoder().decode(CreditNoteTotals.self, from: JSONEncoder().encode(note)) == note)
    }
}

@Suite("Credit note math: properties")
struct CreditNotePropertyTests {
    static let rates: [[TaxRate]] = [
        [],
        [TaxRate(id: "ex20", displayName: "VAT", percentage: Self.percent(200_000), behavior: .exclusive)],
        [
            TaxRate(id: "ex10", displayName: "State", percentage: Self.percent(100_000), behavior: .exclusive),
            TaxRate(id: "ex8875", displayName: "City", percentage: Self.percent(88_750), behavior: .exclusive),
        ],
        [TaxRate(id: "in20", displayName: "VAT", percentage: Self.percent(200_000), behavior: .inclusive)],
        [
            TaxRate(id: "in7", displayName: "GST", percentage: Self.percent(70_000), behavior: .inclusive),
            TaxRate(id: "in9.975", displayName: "QST", percentage: Self.percent(99_750), behavior: .inclusive),
        ],
    ]

    static func percent(_ millionths: Int64) -> Percentage {
        (try? Percentage(millionths: millionths)) ?? .zero
    }

    /// Checks that what `credited` took from each line never exceeds what the line charged.
    static func expectWithinCharged(_ invoice: InvoiceTotals, _ credited: [CreditedLine]) throws {
        for line in invoice.lines {
            let mine = credited.filter { $0.invoiceLineID == line.id }
            let amount = mine.reduce(0) { $0 + $1.amount.minorUnits }
            let total = mine.reduce(0) { $0 + $1.total.minorUnits }
            #expect(amount <= max(line.amountExcludingTax.minorUnits, 0), "line \(line.id)")
            #expect(total <= max(line.total.minorUnits, 0), "line \(line.id)")
            for tax in line.taxes {
                let taken = mine.flatMap(\.taxes).filter { $0.rateID == tax.rateID }.reduce(0) { $0 + $1.amount.minorUnits }
                #expect(taken <= max(tax.amount.minorUnits, 0), "line \(line.id) rate \(tax.rateID)")
            }
            for credit in mine {
                #expect(!credit.amount.isNegative)
                #expect(credit.taxes.allSatisfy { !$0.amount.isNegative })
                #expect(credit.total == (try credit.amount.adding(Money.sum(credit.taxes.map(\.amount), currency: .usd))))
            }
        }
        let left = invoice.lines.reduce(Int64(0)) { sum, line in
            let taken = credited.filter { $0.invoiceLineID == line.id }.reduce(0) { $0 + $1.total.minorUnits }
            return sum + max(line.total.minorUnits - taken, 0)
        }
        #expect(try CreditNoteMath.remainingCreditable(invoice, alreadyCredited: credited).minorUnits == left)
    }

    @Test("credits never exceed what was charged across any sequence of credit notes")
    func creditsBounded() async {
        await propertyCheck(
            count: 200,
            input: Gen.int64(in: -3_000...300_000).array(of: 1...6), Gen.int(in: 0...4).array(of: 6),
            Gen.int64(in: 1...120_000).array(of: 1...25), Gen.int(in: 0...(RoundingMode.allCases.count - 1)),
            Gen.uint64(in: 0 ... .max)
        ) { amounts, picks, credits, modeIndex, flags throws in
            let lines = amounts.enumerated().map { index, amount in
                InvoiceLineInput(
                    id: "li_\(index)", amount: Money(minorUnits: amount, currency: .usd),
                    discountable: flags >> index & 1 == 0, taxRates: Self.rates[picks[index]])
            }
            let policy = RoundingPolicy(mode: RoundingMode.allCases[modeIndex], tax: flags >> 63 == 0 ? .line : .invoice)
            let discounts: [Discount] = flags >> 62 & 1 == 0 ? [] : [.percentOff(Self.percent(Int64(flags % 400_000)))]
            let invoice = try InvoiceMath.totals(lines: lines, discounts: discounts, currency: .usd, rounding: policy)
            var credited: [CreditedLine] = []
            for (step, units) in credits.enumerated() {
                let line = invoice.lines[step % invoice.lines.count]
                guard line.total.isPositive else { continue }
                let inclusive = lines[step % lines.count].taxRates.first?.behavior == .inclusive
                let mine = credited.filter { $0.invoiceLineID == line.id }
                let left =
                    inclusive
                    ? line.total.minorUnits - mine.reduce(0) { $0 + $1.total.minorUnits }
                    : line.amountExcludingTax.minorUnits - mine.reduce(0) { $0 + $1.amount.minorUnits }
                // Every third step uses the line up exactly; the rest ask for random amounts.
                let amount = step % 3 == 2 && left > 0 ? left : units % max(left + 2, 1) + 1
                do {
                    let note = try CreditNoteMath.credit(
                        invoice,
                        lines: [CreditLineRequest(invoiceLineID: line.id, amount: Money(minorUnits: amount, currency: .usd))],
                        alreadyCredited: credited)
                    #expect(amount <= left)
                    credited += note.lines
                } catch let error as BillingError {
                    #expect(error.code == "credit_exceeds_remaining")
                    #expect(amount > left)
                }
                try Self.expectWithinCharged(invoice, credited)
            }
            // Using up every line returns exactly what the invoice charged on it.
            for line in invoice.lines where line.total.isPositive {
                let remaining = try CreditNoteMath.remainingCreditable(invoice, alreadyCredited: credited)
                guard remaining.isPositive else { break }
                let inclusive = lines.first { $0.id == line.id }?.taxRates.first?.behavior == .inclusive
                let mine = credited.filter { $0.invoiceLineID == line.id }
                let left =
                    inclusive
                    ? line.total.minorUnits - mine.reduce(0) { $0 + $1.total.minorUnits }
                    : line.amountExcludingTax.minorUnits - mine.reduce(0) { $0 + $1.amount.minorUnits }
                guard left > 0 else { continue }
                credited += try CreditNoteMath.credit(
                    invoice, lines: [CreditLineRequest(invoiceLineID: line.id, amount: Money(minorUnits: left, currency: .usd))],
                    alreadyCredited: credited
                ).lines
            }
            try Self.expectWithinCharged(invoice, credited)
            #expect(try CreditNoteMath.remainingCreditable(invoice, alreadyCredited: credited).isZero)
            for line in invoice.lines where line.total.isPositive {
                let mine = credited.filter { $0.invoiceLineID == line.id }
                #expect(mine.reduce(0) { $0 + $1.total.minorUnits } == line.total.minorUnits, "line \(line.id)")
            }
        }
    }
}
