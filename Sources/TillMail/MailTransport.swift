public import struct Foundation.Data
public import struct Foundation.Date

/// The SMTP envelope: who the server is told the message is from (bounces go there) and whom
/// to deliver it to. It may differ from the headers (Bcc recipients, a bounce address).
public struct MailEnvelope: Sendable, Hashable {
    public let from: EmailAddress
    public let recipients: [EmailAddress]

    public init(from: EmailAddress, recipients: [EmailAddress]) throws(MailError) {
        guard (1...EmailMessage.maxRecipients).contains(recipients.count) else {
            throw .invalidMessage("an envelope needs 1 to \(EmailMessage.maxRecipients) recipients, not \(recipients.count)")
        }
        self.init(validatedFrom: from, recipients: recipients)
    }

    init(validatedFrom from: EmailAddress, recipients: [EmailAddress]) {
        self.from = from
        self.recipients = recipients
    }
}

/// Delivers encoded messages. ``SMTPTransport`` talks to a real server; ``MailboxTransport``
/// keeps them in memory for sandbox mode and tests.
///
/// Implementations throw ``MailError`` only, so the caller can read its ``MailError/kind``
/// to decide whether to retry.
public protocol MailTransport: Sendable {
    func send(_ envelope: MailEnvelope, message: Data) async throws
}

extension MailTransport {
    /// Encodes `message` and sends it to its own From and To; returns the bytes sent.
    @discardableResult
    public func send(_ message: EmailMessage, messageID: String, date: Date) async throws -> Data {
        let data = try MIMEEncoder.encode(message, messageID: messageID, date: date)
        try await send(message.envelope, message: data)
        return data
    }
}
