import Foundation
import Logging
import TillBilling
import TillBillingEngine
import TillCore
import TillMail
import TillStore

/// Where the daemon's customer emails go.
public struct MailSettings: Sendable {
    public enum Delivery: Sendable {
        /// Through the operator's SMTP server.
        case smtp(SMTPConfiguration)
        /// Kept in memory and readable through the API (`till serve --sandbox`): nothing leaves
        /// the machine.
        case mailbox
    }

    public var delivery: Delivery
    /// The sender address; the display name is the merchant's name.
    public var from: EmailAddress

    public init(delivery: Delivery, from: EmailAddress) {
        self.delivery = delivery
        self.from = from
    }
}

/// Billing's messages, composed in the customer's language and sent through TillMail.
struct DaemonMailer: BillingMailer {
    let transport: any MailTransport
    let from: EmailAddress
    let merchants: any MerchantStore
    let compose: @Sendable (BillingEmail, Invoice, CreditNote?, Customer, String) throws -> ComposedEmail
    let now: @Sendable () -> Date

    func send(
        _ email: BillingEmail, invoice: Invoice, creditNote: CreditNote?, customer: Customer, merchantID: String
    ) async throws(BillingMailFailure) {
        let merchantName: String
        do {
            merchantName = try await merchants.merchant(id: merchantID)?.name ?? "Till"
        } catch {
            throw BillingMailFailure(permanent: false, message: "the merchant could not be read")
        }
        do {
            let composed = try compose(email, invoice, creditNote, customer, merchantName)
            let sender = try EmailAddress(addrSpec: from.addrSpec, displayName: merchantName)
            let message = try EmailMessage(
                from: sender, to: [try EmailAddress(email.to)], subject: composed.subject, textBody: composed.text,
                htmlBody: composed.html, attachments: composed.attachments,
                headers: [try EmailHeader(name: "Auto-Submitted", value: "auto-generated")])
            try await transport.send(message, messageID: "\(email.id)@till", date: now())
        } catch let error as MailError {
            throw BillingMailFailure(permanent: error.kind == .permanent, message: error.description)
        } catch let error as BillingMailFailure {
            throw error
        } catch {
            throw BillingMailFailure(permanent: true, message: "the message could not be composed: \(error)")
        }
    }
}

/// A message's content, before addressing.
struct ComposedEmail: Sendable {
    var subject: String
    var text: String
    var html: String?
    var attachments: [EmailAttachment]
}
