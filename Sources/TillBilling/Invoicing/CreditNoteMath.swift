import TillCore

/// What to credit on one line of a finalized invoice.
public struct CreditLineRequest: Hashable, Sendable {
    public var invoiceLineID: String
    /// More than zero. For a line with exclusive tax, the part of the line's
    /// `amountExcludingTax` to credit (its tax is credited on top); for a line with inclusive
    /// tax, the tax-inclusive part of its total (the tax it contains is credited within it).
    public var amount: Money

    public init(invoiceLineID: String, amount: Money) {
        self.invoiceLineID = invoiceLineID
        self.amount = amount
    }
}

/// What a credit note credits on one invoice line.
public struct CreditedLine: Hashable, Sendable, Codable {
    public var invoiceLineID: String
    /// The credited amount excluding tax.
    public var amount: Money
    /// The tax credited at each of the line's rates; `taxableAmount` is ``amount``.
    public var taxes: [LineTax]
    /// `amount` plus every credited tax.
    public var total: Money

    public init(invoiceLineID: String, amount: Money, taxes: [LineTax], total: Money) {
        self.invoiceLineID = invoiceLineID
        self.amount = amount
        self.taxes = taxes
        self.total = total
    }

    private enum CodingKeys: String, CodingKey {
        case invoiceLineID, currency, amount, taxes, total
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let currency = try c.decode(Currency.self, forKey: .currency)
        invoiceLineID = try c.decode(String.self, forKey: .invoiceLineID)
        amount = Money(minorUnits: try c.decode(Int64.self, forKey: .amount), currency: currency)
        taxes = try c.decode([LineTax].self, forKey: .taxes)
        total = Money(minorUnits: try c.decode(Int64.self, forKey: .total), currency: currency)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(invoiceLineID, forKey: .invoiceLineID)
        try c.encode(amount.currency, forKey: .currency)
        try c.encode(amount.minorUnits, forKey: .amount)
        try c.encode(taxes, forKey: .taxes)
        try c.encode(total.minorUnits, forKey: .total)
    }
}

/// A credit note's lines and totals; the totals are the sums of the lines.
public struct CreditNoteTotals: Hashable, Sendable, Codable {
    public var lines: [CreditedLine]
    /// Credited amounts excluding tax.
    public var subtotal: Money
    public var tax: Money
    public var total: Money

    public init(lines: [CreditedLine], subtotal: Money, tax: Money, total: Money) {
        self.lines = lines
        self.subtotal = subtotal
        self.tax = tax
        self.total = total
    }

    private enum CodingKeys: String, CodingKey {
        case currency, lines, subtotal, tax, total
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let currency = try c.decode(Currency.self, forKey: .currency)
        lines = try c.decode([CreditedLine].self, forKey: .lines)
        subtotal = Money(minorUnits: try c.decode(Int64.self, forKey: .subtotal), currency: currency)
        tax = Money(minorUnits: try c.decode(Int64.self, forKey: .tax), currency: currency)
        total = Money(minorUnits: try c.decode(Int64.self, forKey: .total), currency: currency)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(total.currency, forKey: .currency)
        try c.encode(lines, forKey: .lines)
        try c.encode(subtotal.minorUnits, forKey: .subtotal)
        try c.encode(tax.minorUnits, forKey: .tax)
        try c.encode(total.minorUnits, forKey: .total)
    }
}

/// Credit-note arithmetic: a credit note amends a finalized invoice without touching it, so
/// everything it may credit is computed from the frozen ``InvoiceTotals`` and the credit notes
/// already issued against it.
///
/// Per line, three figures are never exceeded across all credit notes together: the line's
/// amount excluding tax, its tax at each rate, and its total. A credit that uses up what is
/// left of a line takes exactly the tax that is left, so crediting a line in pieces returns
/// exactly what it charged, whatever the rounding of the pieces.
public enum CreditNoteMath {
    /// Credits parts of a finalized invoice. Tax is credited at the line's own rates, proportionally to the
    /// line's taxes (amount / line.amountExcludingTax × line tax, rounded with the invoice's mode), capped so a
    /// line's credited amount and tax never exceed what the invoice charged minus `alreadyCredited`.
    ///
    /// For a line with inclusive tax the request is tax-inclusive, so its tax is
    /// amount / line.total × line tax, and the rest is the credited amount.
    ///
    /// - Throws: `parameter_invalid` for an empty request, an unknown or repeated line, a line
    ///   that charged nothing, an amount that is not positive or in another currency;
    ///   `credit_exceeds_remaining` (a conflict, param `amount`) for more than a line has left.
    public static func credit(
        _ invoice: InvoiceTotals, lines requests: [CreditLineRequest], alreadyCredited: [CreditedLine]
    ) throws(BillingError) -> CreditNoteTotals {
        guard !requests.isEmpty else { throw .invalid("lines", "a credit note credits at least one line") }
        let credited = try creditedSoFar(invoice, alreadyCredited)
        var seen: Set<String> = []
        var lines: [CreditedLine] = []
        for request in requests {
            guard seen.insert(request.invoiceLineID).inserted else {
                throw .invalid("lines", "line \(request.invoiceLineID) is named twice; credit it once with the sum")
            }
            guard let line = invoice.line(request.invoiceLineID) else {
                throw .invalid("invoice_line_id", "the invoice has no line \(request.invoiceLineID)")
            }
            guard request.amount.currency == invoice.currency else {
                throw .invalid(
                    "currency",
                    "the credit for line \(line.id) is in \(request.amount.currency), the invoice in \(invoice.currency)")
            }
            guard request.amount.isPositive else {
                throw .invalid("amount", "the credit for line \(line.id) must be more than zero, not \(request.amount)")
            }
            guard line.total.isPositive else {
                throw .invalid("invoice_line_id", "line \(line.id) charged nothing (\(line.total)) that could be credited")
            }
            lines.append(
                try creditLine(
                    line, request.amount, already: credited[line.id] ?? .none(invoice.currency), mode: invoice.rounding.mode))
        }
        return try InvoiceMath.checked("the credit note totals") { () throws(MoneyError) in
            CreditNoteTotals(
                lines: lines,
                subtotal: try Money.sum(lines.map(\.amount), currency: invoice.currency),
                tax: try Money.sum(lines.flatMap(\.taxes).map(\.amount), currency: invoice.currency),
                total: try Money.sum(lines.map(\.total), currency: invoice.currency))
        }
    }

    /// The largest total still creditable.
    public static func remainingCreditable(
        _ invoice: InvoiceTotals, alreadyCredited: [CreditedLine]
    ) throws(BillingError) -> Money {
        let credited = try creditedSoFar(invoice, alreadyCredited)
        return try InvoiceMath.checked("the creditable remainder") { () throws(MoneyError) in
            var remaining = Money.zero(invoice.currency)
            for line in invoice.lines where line.total.isPositive {
                let left = try line.total.subtracting(credited[line.id]?.total ?? .zero(invoice.currency))
                if left.isPositive { remaining = try remaining.adding(left) }
            }
            return remaining
        }
    }

    // MARK: - Per line

    /// What earlier credit notes took from one line.
    private struct Credited {
        var amount: Money
        var total: Money
        var taxByRate: [String: Money]

        static func none(_ currency: Currency) -> Credited {
            Credited(amount: .zero(currency), total: .zero(currency), taxByRate: [:])
        }
    }

    private static func creditedSoFar(
        _ invoice: InvoiceTotals, _ alreadyCredited: [CreditedLine]
    ) throws(BillingError) -> [String: Credited] {
        var result: [String: Credited] = [:]
        for credit in alreadyCredited {
            guard invoice.line(credit.invoiceLineID) != nil else {
                throw .invalid("already_credited", "a credit note names line \(credit.invoiceLineID), which the invoice lacks")
            }
            guard credit.total.currency == invoice.currency, credit.amount.currency == invoice.currency else {
                throw .invalid("currency", "a credit note is in \(credit.total.currency), the invoice in \(invoice.currency)")
            }
            var sum = result[credit.invoiceLineID] ?? .none(invoice.currency)
            try InvoiceMath.checked("the credits of line \(credit.invoiceLineID)") { () throws(MoneyError) in
                sum.amount = try sum.amount.adding(credit.amount)
                sum.total = try sum.total.adding(credit.total)
                for tax in credit.taxes {
                    sum.taxByRate[tax.rateID] = try (sum.taxByRate[tax.rateID] ?? .zero(invoice.currency)).adding(tax.amount)
                }
            }
            result[credit.invoiceLineID] = sum
        }
        return result
    }

    private static func creditLine(
        _ line: ComputedLine, _ requested: Money, already: Credited, mode: RoundingMode
    ) throws(BillingError) -> CreditedLine {
        let currency = requested.currency
        let what = "the credit for line \(line.id)"
        // The invoice does not store each rate's behaviour; the figures show it. An
        // exclusive line's amount excluding tax is its discounted amount; an inclusive line's
        // total is. With no tax at all the two coincide and either reading is the same.
        let (inclusive, remainingNet, remainingTotal, remainingTax) = try InvoiceMath.checked(what) {
            () throws(MoneyError) in
            let inclusive = try line.amountExcludingTax != line.amount.subtracting(line.discountAmount)
            var remainingTax: [Money] = []
            for tax in line.taxes {
                let left = try tax.amount.subtracting(already.taxByRate[tax.rateID] ?? .zero(currency))
                remainingTax.append(left.isNegative ? .zero(currency) : left)
            }
            return (
                inclusive, try line.amountExcludingTax.subtracting(already.amount),
                try line.total.subtracting(already.total), remainingTax
            )
        }
        let remaining = inclusive ? remainingTotal : remainingNet
        guard requested.minorUnits <= remaining.minorUnits else {
            let basis = inclusive ? "including tax" : "excluding tax"
            throw .conflict(
                "credit_exceeds_remaining",
                "line \(line.id) has \(remaining.isPositive ? remaining : .zero(currency)) left to credit \(basis); "
                    + "\(requested) is more",
                param: "amount")
        }
        let basis = inclusive ? line.total : line.amountExcludingTax
        return try InvoiceMath.checked(what) { () throws(MoneyError) in
            var taxes: [Money] = []
            if requested == remaining {
                taxes = remainingTax
            } else {
                for (tax, left) in zip(line.taxes, remainingTax) {
                    let share = try requested.multiplied(by: tax.amount.minorUnits, dividedBy: basis.minorUnits, rounding: mode)
                    taxes.append(Money(minorUnits: min(max(share.minorUnits, 0), left.minorUnits), currency: currency))
                }
                if inclusive {
                    fitInclusive(&taxes, requested: requested, remainingNet: remainingNet, remainingTax: remainingTax)
                }
            }
            let tax = try Money.sum(taxes, currency: currency)
            let net = inclusive ? try requested.subtracting(tax) : requested
            return CreditedLine(
                invoiceLineID: line.id, amount: net,
                taxes: zip(line.taxes, taxes).map { LineTax(rateID: $0.rateID, taxableAmount: net, amount: $1) },
                total: try net.adding(tax))
        }
    }

    /// Keeps an inclusive credit's split between tax and the rest inside what the line has
    /// left of each. Rounding each rate's share can take more tax than the credit holds, or
    /// (after earlier credits rounded their tax down) leave more of the rest than is left of
    /// it; the rounding is moved between the rates' tax and the rest, never beyond either.
    private static func fitInclusive(
        _ taxes: inout [Money], requested: Money, remainingNet: Money, remainingTax: [Money]
    ) {
        var tax = taxes.reduce(Int64(0)) { $0 + $1.minorUnits }
        for index in taxes.indices.reversed() where tax > requested.minorUnits {
            let cut = min(taxes[index].minorUnits, tax - requested.minorUnits)
            taxes[index] = Money(minorUnits: taxes[index].minorUnits - cut, currency: requested.currency)
            tax -= cut
        }
        for index in taxes.indices where requested.minorUnits - tax > remainingNet.minorUnits {
            let room = remainingTax[index].minorUnits - taxes[index].minorUnits
            let add = min(room, requested.minorUnits - tax - remainingNet.minorUnits)
            guard add > 0 else { continue }
            taxes[index] = Money(minorUnits: taxes[index].minorUnits + add, currency: requested.currency)
            tax += add
        }
    }
}
