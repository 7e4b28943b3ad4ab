import TillBilling
import TillCore

/// Every fixed word a document prints, per language. Kept as one table per language so a
/// translator reads a whole document's vocabulary in one place.
public struct DocumentLabels: Sendable, Equatable {
    public var invoice: String
    public var creditNote: String
    public var number: String
    public var issueDate: String
    public var dueDate: String
    public var billTo: String
    public var taxID: String
    public var description: String
    public var quantity: String
    public var unitPrice: String
    public var amount: String
    public var subtotal: String
    public var discount: String
    public var totalExcludingTax: String
    public var tax: String
    public var total: String
    public var creditApplied: String
    public var amountPaid: String
    public var amountCredited: String
    public var amountDue: String
    public var status: String
    public var forInvoice: String
    public var outcome: String
    public var reason: String
    public var memo: String
    public var proration: String
    public var page: String
    public var of: String
    public var statuses: [String: String]
    public var outcomes: [String: String]
    public var roundingPerLine: String
    public var roundingPerInvoice: String
    public var roundingModes: [String: String]

    public static func of(_ locale: DocumentLocale) -> DocumentLabels {
        switch locale {
        case .en: english
        case .de: german
        case .fr: french
        case .es: spanish
        case .ja: japanese
        }
    }

    /// `Tax rounded per line, half-even`: the issue's rule that the rounding is named.
    func rounding(_ policy: RoundingPolicy) -> String {
        let key = RoundingPolicy.name(of: policy.mode)
        let mode = roundingModes[key] ?? key
        return (policy.tax == .line ? roundingPerLine : roundingPerInvoice) + mode
    }

    static let english = DocumentLabels(
        invoice: "Invoice", creditNote: "Credit note", number: "Number", issueDate: "Date of issue", dueDate: "Due date",
        billTo: "Bill to", taxID: "Tax ID", description: "Description", quantity: "Qty", unitPrice: "Unit price",
        amount: "Amount", subtotal: "Subtotal", discount: "Discount", totalExcludingTax: "Total excluding tax",
        tax: "Tax", total: "Total", creditApplied: "Applied balance", amountPaid: "Amount paid",
        amountCredited: "Credited", amountDue: "Amount due", status: "Status", forInvoice: "For invoice",
        outcome: "Settled as", reason: "Reason", memo: "Note", proration: "prorated", page: "Page", of: "of",
        statuses: [
            "draft": "Draft", "open": "Open", "paid": "Paid", "void": "Void", "uncollectible": "Uncollectible",
            "issued": "Issued",
        ],
        outcomes: [
            "refund": "Refund to the original payment method", "credit_balance": "Credit to your account balance",
            "out_of_band": "Settled outside Till", "reduce_amount_due": "Reduces the amount due",
        ],
        roundingPerLine: "Tax rounded per line, ", roundingPerInvoice: "Tax rounded per invoice, ",
        roundingModes: [
            "half_even": "half to even", "half_up": "half up", "half_down": "half down", "down": "toward zero",
            "up": "away from zero", "ceiling": "up", "floor": "down",
        ])

    static let german = DocumentLabels(
        invoice: "Rechnung", creditNote: "Gutschrift", number: "Nummer", issueDate: "Rechnungsdatum",
        dueDate: "Fälligkeitsdatum", billTo: "Rechnungsempfänger", taxID: "USt-IdNr.", description: "Beschreibung",
        quantity: "Menge", unitPrice: "Einzelpreis", amount: "Betrag", subtotal: "Zwischensumme", discount: "Rabatt",
        totalExcludingTax: "Gesamt ohne Steuer", tax: "Steuer", total: "Gesamtbetrag", creditApplied: "Verrechnetes Guthaben",
        amountPaid: "Bezahlt", amountCredited: "Gutgeschrieben", amountDue: "Fälliger Betrag", status: "Status",
        forInvoice: "Zur Rechnung", outcome: "Ausgleich", reason: "Grund", memo: "Hinweis", proration: "anteilig",
        page: "Seite", of: "von",
        statuses: [
            "draft": "Entwurf", "open": "Offen", "paid": "Bezahlt", "void": "Storniert", "uncollectible": "Uneinbringlich",
            "issued": "Ausgestellt",
        ],
        outcomes: [
            "refund": "Erstattung auf die ursprüngliche Zahlungsmethode", "credit_balance": "Guthaben auf Ihrem Kundenkonto",
            "out_of_band": "Außerhalb von Till ausgeglichen", "reduce_amount_due": "Mindert den fälligen Betrag",
        ],
        roundingPerLine: "Steuer je Position gerundet, ", roundingPerInvoice: "Steuer je Rechnung gerundet, ",
        roundingModes: [
            "half_even": "kaufmännisch zur geraden Ziffer", "half_up": "kaufmännisch", "down": "abgerundet", "up": "aufgerundet",
        ])

    static let french = DocumentLabels(
        invoice: "Facture", creditNote: "Avoir", number: "Numéro", issueDate: "Date d’émission", dueDate: "Date d’échéance",
        billTo: "Facturé à", taxID: "N° TVA", description: "Description", quantity: "Qté", unitPrice: "Prix unitaire",
        amount: "Montant", subtotal: "Sous-total", discount: "Remise", totalExcludingTax: "Total hors taxes",
        tax: "Taxe", total: "Total", creditApplied: "Solde appliqué", amountPaid: "Montant payé", amountCredited: "Crédité",
        amountDue: "Montant dû", status: "Statut", forInvoice: "Pour la facture", outcome: "Règlement", reason: "Motif",
        memo: "Remarque", proration: "au prorata", page: "Page", of: "sur",
        statuses: [
            "draft": "Brouillon", "open": "Ouverte", "paid": "Payée", "void": "Annulée", "uncollectible": "Irrécouvrable",
            "issued": "Émis",
        ],
        outcomes: [
            "refund": "Remboursement sur le moyen de paiement d’origine", "credit_balance": "Crédit sur le solde de votre compte",
            "out_of_band": "Réglé en dehors de Till", "reduce_amount_due": "Réduit le montant dû",
        ],
        roundingPerLine: "Taxe arrondie par ligne, ", roundingPerInvoice: "Taxe arrondie par facture, ",
        roundingModes: [
            "half_even": "au pair le plus proche", "half_up": "au plus proche", "down": "par défaut", "up": "par excès",
        ])

    static let spanish = DocumentLabels(
        invoice: "Factura", creditNote: "Nota de crédito", number: "Número", issueDate: "Fecha de emisión",
        dueDate: "Fecha de vencimiento", billTo: "Facturar a", taxID: "NIF", description: "Descripción", quantity: "Cant.",
        unitPrice: "Precio unitario", amount: "Importe", subtotal: "Subtotal", discount: "Descuento",
        totalExcludingTax: "Total sin impuestos", tax: "Impuesto", total: "Total", creditApplied: "Saldo aplicado",
        amountPaid: "Importe pagado", amountCredited: "Abonado", amountDue: "Importe adeudado", status: "Estado",
        forInvoice: "De la factura", outcome: "Liquidación", reason: "Motivo", memo: "Nota", proration: "prorrateado",
        page: "Página", of: "de",
        statuses: [
            "draft": "Borrador", "open": "Pendiente", "paid": "Pagada", "void": "Anulada", "uncollectible": "Incobrable",
            "issued": "Emitida",
        ],
        outcomes: [
            "refund": "Reembolso al método de pago original", "credit_balance": "Crédito en el saldo de su cuenta",
            "out_of_band": "Liquidado fuera de Till", "reduce_amount_due": "Reduce el importe adeudado",
        ],
        roundingPerLine: "Impuesto redondeado por línea, ", roundingPerInvoice: "Impuesto redondeado por factura, ",
        roundingModes: [
            "half_even": "al par más cercano", "half_up": "al más cercano", "down": "hacia abajo", "up": "hacia arriba",
        ])

    static let japanese = DocumentLabels(
        invoice: "請求書", creditNote: "クレジットノート", number: "番号", issueDate: "発行日", dueDate: "お支払い期限",
        billTo: "請求先", taxID: "登録番号", description: "内容", quantity: "数量", unitPrice: "単価", amount: "金額",
        subtotal: "小計", discount: "割引", totalExcludingTax: "税抜合計", tax: "税", total: "合計",
        creditApplied: "残高充当", amountPaid: "お支払い済み", amountCredited: "クレジット済み", amountDue: "ご請求金額",
        status: "状態", forInvoice: "対象の請求書", outcome: "精算方法", reason: "理由", memo: "備考", proration: "日割り",
        page: "ページ", of: "/",
        statuses: [
            "draft": "下書き", "open": "未払い", "paid": "支払い済み", "void": "無効", "uncollectible": "回収不能",
            "issued": "発行済み",
        ],
        outcomes: [
            "refund": "元のお支払い方法へ返金", "credit_balance": "アカウント残高へ充当", "out_of_band": "Till外で精算",
            "reduce_amount_due": "請求額から減額",
        ],
        roundingPerLine: "税額は明細ごとに端数処理（", roundingPerInvoice: "税額は請求書ごとに端数処理（",
        roundingModes: ["half_even": "偶数丸め）", "half_up": "四捨五入）", "down": "切り捨て）", "up": "切り上げ）"])
}
