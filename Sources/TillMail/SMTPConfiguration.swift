/// Where and how ``SMTPTransport`` delivers, validated when made.
///
/// Credentials are kept out of the URL (a `user:pass@` part is refused) so that the URL
/// can be logged and put into errors; ``description`` never shows the password.
public struct SMTPConfiguration: Sendable, CustomStringConvertible {
    /// How `smtp://` upgrades to TLS (curl's `CURLOPT_USE_SSL`). `smtps://` is TLS from the
    /// first byte whatever this says.
    public enum StartTLS: Sendable, Equatable {
        /// Plain text throughout; only for a relay on loopback or a trusted network.
        case never
        /// STARTTLS when the server offers it, plain text otherwise; an attacker on the path
        /// can strip the offer, so this does not protect a password.
        case ifAvailable
        /// STARTTLS or fail.
        case required
    }

    public let url: String
    public let host: String
    public let port: Int
    public let implicitTLS: Bool
    public let username: String?
    public let password: String?
    public let startTLS: StartTLS
    public let connectTimeout: Duration
    public let totalTimeout: Duration
    /// The name sent with EHLO/HELO; curl sends its own host name when `nil`.
    public let heloName: String?
    /// A PEM bundle of CAs to verify the server against instead of the system's.
    public let caFile: String?
    /// Messages over this size are refused before a connection is opened.
    public let maxMessageSize: Int

    public init(
        url: String,
        username: String? = nil,
        password: String? = nil,
        startTLS: StartTLS = .required,
        connectTimeout: Duration = .seconds(10),
        totalTimeout: Duration = .seconds(120),
        heloName: String? = nil,
        caFile: String? = nil,
        maxMessageSize: Int = EmailMessage.defaultMaxSize
    ) throws(MailError) {
        (host, port, implicitTLS) = try Self.parse(url)
        for (field, value) in [("username", username), ("password", password), ("heloName", heloName), ("caFile", caFile)] {
            if let value, value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
                throw .invalidConfiguration(field, "must not contain control characters")
            }
        }
        if password != nil, username == nil {
            throw .invalidConfiguration("password", "is set without a username")
        }
        if let username, username.isEmpty { throw .invalidConfiguration("username", "is empty") }
        if let heloName, !EmailAddress.isDomain(Array(heloName.utf8)[...]) {
            throw .invalidConfiguration("heloName", "must be a hostname or an address literal such as [127.0.0.1]")
        }
        if let caFile, caFile.isEmpty { throw .invalidConfiguration("caFile", "is empty") }
        guard connectTimeout > .zero else { throw .invalidConfiguration("connectTimeout", "must be positive") }
        guard totalTimeout >= connectTimeout else {
            throw .invalidConfiguration("totalTimeout", "must be at least connectTimeout")
        }
        guard maxMessageSize > 0 else { throw .invalidConfiguration("maxMessageSize", "must be positive") }
        self.url = url
        self.username = username
        self.password = password
        self.startTLS = startTLS
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.heloName = heloName
        self.caFile = caFile
        self.maxMessageSize = maxMessageSize
    }

    public var description: String {
        var text = "SMTPConfiguration(\(url), startTLS: \(startTLS)"
        if let username { text += ", username: \(username), password: \(password == nil ? "none" : "<redacted>")" }
        return text + ")"
    }

    /// The URL curl is given: the EHLO name travels as its path, which is how curl's SMTP
    /// takes it.
    var curlURL: String {
        let scheme = implicitTLS ? "smtps" : "smtp"
        let authority = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(authority):\(port)/" + (heloName ?? "")
    }

    /// `smtp://host[:port][/]` or `smtps://…`; the host a name, IPv4 or bracketed IPv6.
    private static func parse(_ url: String) throws(MailError) -> (host: String, port: Int, implicitTLS: Bool) {
        let implicitTLS: Bool
        let rest: Substring
        if url.lowercased().hasPrefix("smtp://") {
            implicitTLS = false
            rest = url.dropFirst(7)
        } else if url.lowercased().hasPrefix("smtps://") {
            implicitTLS = true
            rest = url.dropFirst(8)
        } else {
            throw .invalidConfiguration("url", "must start with smtp:// or smtps:// (got \(redactedForError(url)))")
        }
        var authority = rest
        if authority.hasSuffix("/") { authority = authority.dropLast() }
        if authority.contains("@") {
            throw .invalidConfiguration("url", "must not contain credentials; use username and password")
        }
        if authority.contains(where: { "/?#".contains($0) }) {
            throw .invalidConfiguration("url", "must be smtp://host:port with no path, query or fragment (use heloName for EHLO)")
        }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw .invalidConfiguration("url", "has an unclosed IPv6 bracket")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidConfiguration("url", "has junk after the IPv6 address") }
                portText = after.dropFirst()
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw .invalidConfiguration("url", "has an invalid IPv6 address")
            }
        } else {
            let pieces = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw .invalidConfiguration("url", "has more than one ':'") }
            host = pieces[0]
            portText = pieces.count == 2 ? pieces[1] : nil
            guard EmailAddress.isDomain(Array(host.utf8)[...]) else {
                throw .invalidConfiguration("url", "has an invalid host \(redactedForError(String(host)))")
            }
        }
        var port = implicitTLS ? 465 : 587
        if let portText {
            guard let value = Int(portText), (1...65_535).contains(value) else {
                throw .invalidConfiguration("url", "has an invalid port (1 to 65535)")
            }
            port = value
        }
        return (String(host), port, implicitTLS)
    }

    /// Only the first characters of a bad value, so a pasted secret does not end up whole in a log.
    private static func redactedForError(_ text: String) -> String {
        let safe = text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.prefix(40)
        return "\"" + String(String.UnicodeScalarView(safe)) + (text.count > 40 ? "…" : "") + "\""
    }
}
