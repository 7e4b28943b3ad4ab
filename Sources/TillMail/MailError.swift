/// Why a message could not be built or delivered, and whether trying again may help.
///
/// The outbox reads ``kind`` alone to decide between a retry and giving up, so every failure
/// maps to exactly one kind; ``code`` and ``smtpReplyCode`` are for logs and operators. No
/// error ever carries a password: messages are built from addresses, reply codes and curl's
/// own error text, and curl never echoes credentials there.
public struct MailError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The same message may go through later: the server was unreachable, timed out,
        /// answered 4xx, or the transport itself is misconfigured (fixing it delivers the
        /// queued messages unchanged).
        case transient
        /// Resending this message can never succeed: the server answered 5xx, a recipient was
        /// refused, or the message itself is invalid or too large.
        case permanent
    }

    /// What went wrong, as a struct over a string so new codes do not break callers' switches.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// An address that is not a plain ASCII addr-spec, or a display name with controls.
        public static let invalidAddress = Code("invalid_address")
        /// CR, LF or NUL where a header value was expected.
        public static let headerInjection = Code("header_injection")
        /// Any other invalid part of a message: recipients, subject, headers, attachments.
        public static let invalidMessage = Code("invalid_message")
        public static let messageTooLarge = Code("message_too_large")
        public static let invalidConfiguration = Code("invalid_configuration")
        /// No connection: refused, unresolvable, unreachable.
        public static let connectionFailed = Code("connection_failed")
        public static let timedOut = Code("timed_out")
        /// TLS could not be set up or verified, or STARTTLS was required and not offered.
        public static let tlsFailed = Code("tls_failed")
        public static let authenticationFailed = Code("authentication_failed")
        /// The server refused a recipient (RCPT TO).
        public static let recipientRejected = Code("recipient_rejected")
        /// The server refused the sender or the message (MAIL FROM, DATA).
        public static let messageRejected = Code("message_rejected")
        /// The connection broke during the exchange.
        public static let connectionLost = Code("connection_lost")
        public static let cancelled = Code("cancelled")
        public static let other = Code("other")
    }

    public let kind: Kind
    public let code: Code
    /// The SMTP server's last reply code (e.g. 550) when curl reports one.
    public let smtpReplyCode: Int?
    /// The `CURLcode` of a failed transfer.
    public let curlCode: Int?
    public let message: String

    public init(kind: Kind, code: Code, message: String, smtpReplyCode: Int? = nil, curlCode: Int? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.smtpReplyCode = smtpReplyCode
        self.curlCode = curlCode
    }

    public var description: String {
        var text = "MailError(\(kind), \(code)"
        if let smtpReplyCode { text += ", smtp \(smtpReplyCode)" }
        if let curlCode { text += ", curl \(curlCode)" }
        return text + "): " + message
    }

    static func invalidAddress(_ message: String) -> MailError {
        MailError(kind: .permanent, code: .invalidAddress, message: message)
    }

    static func headerInjection(_ field: String) -> MailError {
        MailError(kind: .permanent, code: .headerInjection,
                  message: "\(field) contains CR, LF or NUL; refused to prevent header injection")
    }

    static func invalidMessage(_ message: String) -> MailError {
        MailError(kind: .permanent, code: .invalidMessage, message: message)
    }

    static func tooLarge(_ size: Int, limit: Int) -> MailError {
        MailError(kind: .permanent, code: .messageTooLarge,
                  message: "the message is \(size) bytes, over the limit of \(limit) bytes")
    }

    static func invalidConfiguration(_ field: String, _ message: String) -> MailError {
        MailError(kind: .transient, code: .invalidConfiguration, message: "SMTPConfiguration.\(field): \(message)")
    }
}

/// Looks at bytes, not Characters: in a Swift String "\r\n" is one Character equal to
/// neither "\r" nor "\n".
func hasLineBreakOrNUL(_ text: String) -> Bool {
    text.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
}
