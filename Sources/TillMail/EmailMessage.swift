public import struct Foundation.Data

/// A file attached to a message (an invoice PDF, say), sent base64-encoded.
public struct EmailAttachment: Sendable, Equatable {
    /// Any Unicode; non-ASCII names go out per RFC 2231.
    public let filename: String
    /// `type/subtype`, e.g. `application/pdf`; parameters are not accepted.
    public let contentType: String
    public let data: Data

    public static let maxFilenameBytes = 255

    public init(filename: String, contentType: String, data: Data) throws(MailError) {
        if hasLineBreakOrNUL(filename) {
            throw .headerInjection("the attachment filename")
        }
        guard !filename.isEmpty, filename.utf8.count <= Self.maxFilenameBytes else {
            throw .invalidMessage("an attachment filename must be 1 to \(Self.maxFilenameBytes) bytes")
        }
        // A path would be honoured by careless clients when saving; controls confuse all of them.
        guard !filename.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0 == "/" || $0 == "\\" }) else {
            throw .invalidMessage("an attachment filename must not contain controls or path separators")
        }
        if hasLineBreakOrNUL(contentType) {
            throw .headerInjection("the attachment content type")
        }
        let parts = contentType.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(isToken) }) else {
            throw .invalidMessage("an attachment content type must be type/subtype, e.g. application/pdf")
        }
        self.filename = filename
        self.contentType = contentType.lowercased()
        self.data = data
    }
}

/// A header the caller may add. Only an allow-list is accepted, so a caller can never
/// override From, To, Subject, the MIME structure or add Bcc.
public struct EmailHeader: Sendable, Equatable {
    public let name: String
    /// Printable ASCII; at most ``maxValueBytes``.
    public let value: String

    public static let maxValueBytes = 900
    /// Names accepted besides any `X-Till-…`.
    public static let allowedNames: Set<String> = ["auto-submitted", "list-unsubscribe", "list-unsubscribe-post"]

    public init(name: String, value: String) throws(MailError) {
        if hasLineBreakOrNUL(name) { throw .headerInjection("a header name") }
        if hasLineBreakOrNUL(value) { throw .headerInjection("the header \(name)") }
        let lowered = name.lowercased()
        guard !name.isEmpty, name.utf8.allSatisfy(isToken), !name.contains("_"),
              lowered.hasPrefix("x-till-") && lowered.count > 7 || Self.allowedNames.contains(lowered)
        else {
            throw .invalidMessage("the header \(name) is not allowed; use X-Till-… or one of \(Self.allowedNames.sorted())")
        }
        guard value.utf8.allSatisfy({ ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x09 }) else {
            throw .invalidMessage("the header \(name) must have a printable ASCII value")
        }
        guard value.utf8.count <= Self.maxValueBytes else {
            throw .invalidMessage("the header \(name) is over \(Self.maxValueBytes) bytes")
        }
        self.name = name
        self.value = value
    }
}

/// One email: who, what, and its attachments, validated when made.
///
/// The checks here are those that need no encoding; ``MIMEEncoder`` checks the encoded
/// subject's length and the total size.
public struct EmailMessage: Sendable, Equatable {
    public let from: EmailAddress
    public let to: [EmailAddress]
    public let replyTo: EmailAddress?
    public let subject: String
    public let textBody: String
    public let htmlBody: String?
    public let attachments: [EmailAttachment]
    public let headers: [EmailHeader]
    /// The encoded message's size limit, in bytes.
    public let maxSize: Int

    public static let maxRecipients = 50
    public static let defaultMaxSize = 10 * 1024 * 1024
    /// RFC 5322's line limit, applied to the encoded subject as a whole.
    public static let maxSubjectBytes = 998

    public init(
        from: EmailAddress,
        to: [EmailAddress],
        replyTo: EmailAddress? = nil,
        subject: String,
        textBody: String,
        htmlBody: String? = nil,
        attachments: [EmailAttachment] = [],
        headers: [EmailHeader] = [],
        maxSize: Int = EmailMessage.defaultMaxSize
    ) throws(MailError) {
        guard (1...Self.maxRecipients).contains(to.count) else {
            throw .invalidMessage("a message needs 1 to \(Self.maxRecipients) recipients, not \(to.count)")
        }
        if hasLineBreakOrNUL(subject) {
            throw .headerInjection("the subject")
        }
        guard !subject.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) else {
            throw .invalidMessage("the subject contains a control character")
        }
        guard maxSize > 0 else { throw .invalidMessage("maxSize must be positive") }
        var seen = Set<String>()
        for header in headers where !seen.insert(header.name.lowercased()).inserted {
            throw .invalidMessage("the header \(header.name) is given twice")
        }
        // Attachments grow by a third in base64; refusing here saves encoding megabytes.
        let estimate = attachments.reduce(0) { $0 + $1.data.count / 3 * 4 } + textBody.utf8.count + (htmlBody?.utf8.count ?? 0)
        guard estimate <= maxSize else { throw .tooLarge(estimate, limit: maxSize) }
        self.from = from
        self.to = to
        self.replyTo = replyTo
        self.subject = subject
        self.textBody = textBody
        self.htmlBody = htmlBody
        self.attachments = attachments
        self.headers = headers
        self.maxSize = maxSize
    }

    /// The SMTP envelope this message's headers imply: MAIL FROM its From, RCPT TO its To.
    public var envelope: MailEnvelope {
        MailEnvelope(validatedFrom: from, recipients: to)
    }
}

/// RFC 2045's token characters (printable ASCII without specials).
func isToken(_ byte: UInt8) -> Bool {
    byte > 0x20 && byte < 0x7F && !Array("()<>@,;:\\\"/[]?=".utf8).contains(byte)
}
