import Foundation
import Mustache

/// Invoices and credit notes as HTML, from Mustache templates. The default template is
/// self-contained (inline CSS, the logo as a data URI) so it renders in a mail client or a
/// browser with no request leaving the page; a merchant's own template replaces it and sees
/// the same values. `{{…}}` escapes HTML, so merchant and customer text never becomes markup.
public enum DocumentHTML {
    /// A merchant template, in bytes.
    public static let maxTemplateBytes = 64 * 1024

    /// Compiles `text` as a template: what the settings API checks before storing one.
    public static func validate(_ text: String) throws(DocumentError) {
        guard text.utf8.count <= maxTemplateBytes else {
            throw .invalid("template", "a template is at most \(maxTemplateBytes) bytes")
        }
        do {
            _ = try MustacheTemplate(string: text)
        } catch {
            throw .invalid("template", "not a valid Mustache template: \(error)")
        }
    }

    public static func render(_ model: DocumentModel, template text: String? = nil) throws(DocumentError) -> String {
        let template: MustacheTemplate
        do {
            template = try MustacheTemplate(string: text ?? defaultTemplate)
        } catch {
            throw .invalid("template", "not a valid Mustache template: \(error)")
        }
        return template.render(context(model))
    }

    /// The values a template sees. Documented in the README; keep the two in step.
    public static func context(_ model: DocumentModel) -> [String: Any] {
        let labels = model.labels
        return [
            "kind": model.kind.rawValue, "is_invoice": model.kind == .invoice, "is_credit_note": model.kind == .creditNote,
            "language": model.language, "title": model.title, "number": model.number, "status": model.status,
            "status_key": model.statusKey, "issue_date": model.issueDate, "due_date": model.dueDate as Any,
            "period": model.period as Any, "accent_color": model.accentColor, "logo": model.logoDataURI as Any,
            "merchant": ["name": model.merchant.name as Any, "lines": model.merchant.lines] as [String: Any],
            "merchant_tax_id": model.merchantTaxID as Any, "merchant_email": model.merchantEmail as Any,
            "customer": ["name": model.customer.name as Any, "lines": model.customer.lines] as [String: Any],
            "lines": model.lines.map { line -> [String: Any] in
                [
                    "description": line.description, "period": line.period as Any, "quantity": line.quantity,
                    "unit_price": line.unitPrice as Any, "amount": line.amount, "proration": line.proration,
                ]
            },
            "totals": model.totals.map { ["label": $0.label, "amount": $0.amount, "emphasized": $0.emphasized] as [String: Any] },
            "amount_due": model.amountDue, "rounding": model.rounding, "memo": model.memo as Any,
            "invoice_number": model.invoiceNumber as Any, "outcome": model.outcome as Any, "reason": model.reason as Any,
            "labels": [
                "number": labels.number, "issue_date": labels.issueDate, "due_date": labels.dueDate, "bill_to": labels.billTo,
                "tax_id": labels.taxID, "description": labels.description, "quantity": labels.quantity,
                "unit_price": labels.unitPrice, "amount": labels.amount, "status": labels.status,
                "for_invoice": labels.forInvoice, "outcome": labels.outcome, "reason": labels.reason, "memo": labels.memo,
                "proration": labels.proration, "amount_due": labels.amountDue,
            ],
        ]
    }

    static let defaultTemplate = """
        <!DOCTYPE html>
        <html lang="{{language}}">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} {{number}}</title>
        <style>
        body { font-family: "DejaVu Sans", "Noto Sans", Arial, sans-serif; color: #1a1a1a; margin: 0; padding: 24px; }
        main { max-width: 760px; margin: 0 auto; }
        header { display: flex; justify-content: space-between; align-items: flex-start; gap: 24px; flex-wrap: wrap; }
        h1 { color: {{accent_color}}; font-size: 28px; margin: 0 0 8px; }
        .muted { color: #555; font-size: 13px; line-height: 1.5; }
        .logo { max-width: 160px; max-height: 56px; }
        dl { display: grid; grid-template-columns: auto auto; gap: 2px 12px; margin: 0; font-size: 14px; }
        dt { color: #555; } dd { margin: 0; text-align: right; }
        table { width: 100%; border-collapse: collapse; margin-top: 24px; font-size: 14px; }
        th { text-align: left; border-bottom: 2px solid {{accent_color}}; padding: 6px 4px; }
        td { border-bottom: 1px solid #ddd; padding: 6px 4px; vertical-align: top; }
        .num { text-align: right; white-space: nowrap; }
        .totals { margin-left: auto; width: auto; min-width: 50%; }
        .totals td { border: 0; }
        .strong td { font-weight: bold; border-top: 2px solid {{accent_color}}; }
        </style>
        </head>
        <body>
        <main>
        <header>
        <div>
        {{#logo}}<img class="logo" src="{{logo}}" alt="{{merchant.name}}">{{/logo}}
        {{^logo}}<strong>{{merchant.name}}</strong>{{/logo}}
        <div class="muted">{{#merchant.lines}}{{.}}<br>{{/merchant.lines}}
        {{#merchant_tax_id}}{{labels.tax_id}}: {{merchant_tax_id}}<br>{{/merchant_tax_id}}
        {{#merchant_email}}{{merchant_email}}{{/merchant_email}}</div>
        </div>
        <div>
        <h1>{{title}}</h1>
        <dl>
        <dt>{{labels.number}}</dt><dd>{{number}}</dd>
        {{#invoice_number}}<dt>{{labels.for_invoice}}</dt><dd>{{invoice_number}}</dd>{{/invoice_number}}
        <dt>{{labels.issue_date}}</dt><dd>{{issue_date}}</dd>
        {{#due_date}}<dt>{{labels.due_date}}</dt><dd>{{due_date}}</dd>{{/due_date}}
        <dt>{{labels.status}}</dt><dd>{{status}}</dd>
        </dl>
        </div>
        </header>
        <section>
        <h2 class="muted">{{labels.bill_to}}</h2>
        <div>{{#customer.name}}<strong>{{customer.name}}</strong><br>{{/customer.name}}
        {{#customer.lines}}{{.}}<br>{{/customer.lines}}</div>
        </section>
        <table>
        <thead><tr><th scope="col">{{labels.description}}</th><th scope="col" class="num">{{labels.quantity}}</th>
        <th scope="col" class="num">{{labels.unit_price}}</th><th scope="col" class="num">{{labels.amount}}</th></tr></thead>
        <tbody>
        {{#lines}}<tr><td>{{description}}{{#proration}} ({{labels.proration}}){{/proration}}{{#period}}<br><span class="muted">{{period}}</span>{{/period}}</td>
        <td class="num">{{quantity}}</td><td class="num">{{unit_price}}</td><td class="num">{{amount}}</td></tr>
        {{/lines}}
        </tbody>
        </table>
        <table class="totals">
        <tbody>
        {{#totals}}<tr{{#emphasized}} class="strong"{{/emphasized}}><td>{{label}}</td><td class="num">{{amount}}</td></tr>
        {{/totals}}
        </tbody>
        </table>
        {{#outcome}}<p><strong>{{labels.outcome}}:</strong> {{outcome}}</p>{{/outcome}}
        {{#reason}}<p><strong>{{labels.reason}}:</strong> {{reason}}</p>{{/reason}}
        {{#memo}}<p><strong>{{labels.memo}}:</strong> {{memo}}</p>{{/memo}}
        <p class="muted">{{rounding}}</p>
        </main>
        </body>
        </html>
        """
}
