import Foundation
import TillBilling
import TillBillingEngine
import TillDocuments
import TillMail

/// The words of billing's emails in the five languages documents speak, with the amounts
/// and dates formatted by TillDocuments for the customer's locale. Invoices, receipts and
/// credit notes carry their PDF.
enum BillingMessages {
    struct Words {
        var invoice: (String, String) -> String
        var receipt: (String, String) -> String
        var paymentFailed: (String, String) -> String
        var reminder: (String, String) -> String
        var overdue: (String, String) -> String
        var creditNote: (String, String) -> String
        var bodyDue: (String, String) -> String
        var bodyPaid: (String) -> String
        var bodyFailed: String
        var bodyCredit: (String) -> String
        var closing: String
    }

    static func words(_ locale: DocumentLocale) -> Words {
        switch locale {
        case .en:
            Words(
                invoice: { "Invoice \($0) from \($1)" }, receipt: { "Receipt for invoice \($0) from \($1)" },
                paymentFailed: { "Payment for invoice \($0) from \($1) failed" },
                reminder: { "Reminder: invoice \($0) from \($1) is due soon" },
                overdue: { "Overdue: invoice \($0) from \($1)" }, creditNote: { "Credit note \($0) from \($1)" },
                bodyDue: { "Amount due: \($0). Due date: \($1)." }, bodyPaid: { "Thank you: \($0) was paid." },
                bodyFailed: "We could not charge your saved payment method. We will try again; you can also update it.",
                bodyCredit: { "A credit of \($0) was issued." }, closing: "The document is attached.")
        case .de:
            Words(
                invoice: { "Rechnung \($0) von \($1)" }, receipt: { "Zahlungsbeleg zur Rechnung \($0) von \($1)" },
                paymentFailed: { "Zahlung der Rechnung \($0) von \($1) fehlgeschlagen" },
                reminder: { "Erinnerung: Rechnung \($0) von \($1) ist bald fällig" },
                overdue: { "Überfällig: Rechnung \($0) von \($1)" }, creditNote: { "Gutschrift \($0) von \($1)" },
                bodyDue: { "Fälliger Betrag: \($0). Fällig am: \($1)." }, bodyPaid: { "Vielen Dank: \($0) wurde bezahlt." },
                bodyFailed: "Wir konnten Ihre hinterlegte Zahlungsmethode nicht belasten. Wir versuchen es erneut; Sie können sie auch aktualisieren.",
                bodyCredit: { "Eine Gutschrift über \($0) wurde ausgestellt." }, closing: "Das Dokument ist angehängt.")
        case .fr:
            Words(
                invoice: { "Facture \($0) de \($1)" }, receipt: { "Reçu pour la facture \($0) de \($1)" },
                paymentFailed: { "Le paiement de la facture \($0) de \($1) a échoué" },
                reminder: { "Rappel : la facture \($0) de \($1) arrive à échéance" },
                overdue: { "En retard : facture \($0) de \($1)" }, creditNote: { "Avoir \($0) de \($1)" },
                bodyDue: { "Montant dû : \($0). Échéance : \($1)." }, bodyPaid: { "Merci : \($0) a été payé." },
                bodyFailed: "Nous n’avons pas pu débiter votre moyen de paiement enregistré. Nous réessaierons ; vous pouvez aussi le mettre à jour.",
                bodyCredit: { "Un avoir de \($0) a été émis." }, closing: "Le document est joint.")
        case .es:
            Words(
                invoice: { "Factura \($0) de \($1)" }, receipt: { "Recibo de la factura \($0) de \($1)" },
                paymentFailed: { "El pago de la factura \($0) de \($1) ha fallado" },
                reminder: { "Recordatorio: la factura \($0) de \($1) vence pronto" },
                overdue: { "Vencida: factura \($0) de \($1)" }, creditNote: { "Nota de crédito \($0) de \($1)" },
                bodyDue: { "Importe pendiente: \($0). Fecha de vencimiento: \($1)." }, bodyPaid: { "Gracias: se ha pagado \($0)." },
                bodyFailed: "No hemos podido cobrar con su método de pago guardado. Lo intentaremos de nuevo; también puede actualizarlo.",
                bodyCredit: { "Se ha emitido un crédito de \($0)." }, closing: "El documento va adjunto.")
        case .ja:
            Words(
                invoice: { "\($1)からの請求書 \($0)" }, receipt: { "\($1)からの領収書（請求書 \($0)）" },
                paymentFailed: { "\($1)の請求書 \($0) のお支払いができませんでした" },
                reminder: { "お支払い期限のお知らせ：\($1)の請求書 \($0)" },
                overdue: { "お支払い期限超過：\($1)の請求書 \($0)" }, creditNote: { "\($1)からのクレジットノート \($0)" },
                bodyDue: { "お支払い金額：\($0)。お支払い期限：\($1)。" }, bodyPaid: { "\($0)のお支払いを確認しました。ありがとうございます。" },
                bodyFailed: "ご登録のお支払い方法で決済できませんでした。再度お試しします。お支払い方法の更新も可能です。",
                bodyCredit: { "\($0)のクレジットを発行しました。" }, closing: "書類を添付しています。")
        }
    }

    /// The subject, text and attachment of `email`.
    static func compose(
        _ email: BillingEmail, invoice: Invoice, creditNote: CreditNote?, customer: Customer, merchantName: String
    ) throws -> ComposedEmail {
        let branding = try DocumentBranding(displayName: merchantName, email: nil)
        let model = try DocumentModel.invoice(invoice, customer: customer, branding: branding)
        let words = Self.words(model.locale)
        let number = model.number
        let due = model.dueDate ?? model.issueDate
        var lines: [String] = []
        let subject: String
        var document: (DocumentModel, String)?
        switch email.purpose {
        case .invoice:
            subject = words.invoice(number, merchantName)
            lines = [words.bodyDue(model.amountDue, due), words.closing]
            document = (model, "\(number).pdf")
        case .receipt:
            subject = words.receipt(number, merchantName)
            lines = [words.bodyPaid(model.totals.first { $0.emphasized }?.amount ?? model.amountDue), words.closing]
            document = (model, "\(number).pdf")
        case .paymentFailed:
            subject = words.paymentFailed(number, merchantName)
            lines = [words.bodyFailed, words.bodyDue(model.amountDue, due)]
        case .reminder:
            subject = words.reminder(number, merchantName)
            lines = [words.bodyDue(model.amountDue, due)]
        case .overdue:
            subject = words.overdue(number, merchantName)
            lines = [words.bodyDue(model.amountDue, due)]
        case .creditNote:
            guard let creditNote else { throw BillingMailFailure(permanent: true, message: "the credit note is missing") }
            let noteModel = try DocumentModel.creditNote(creditNote, invoice: invoice, customer: customer, branding: branding)
            subject = words.creditNote(noteModel.number, merchantName)
            lines = [words.bodyCredit(noteModel.totals.first { $0.emphasized }?.amount ?? ""), words.closing]
            document = (noteModel, "\(noteModel.number).pdf")
        }
        var attachments: [EmailAttachment] = []
        if let (model, filename) = document {
            attachments.append(try EmailAttachment(filename: filename, contentType: "application/pdf", data: try DocumentRenderer.pdf(model)))
        }
        return ComposedEmail(
            subject: subject, text: (lines + ["", merchantName]).joined(separator: "\n"),
            html: document.map { try? DocumentRenderer.html($0.0) } ?? nil, attachments: attachments)
    }
}
