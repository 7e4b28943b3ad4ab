/// Decides whether a `PAYPAL-CERT-URL` may be fetched at all.
///
/// The URL arrives in the headers of an unauthenticated request, so before Till fetches
/// anything it must be sure the URL names PayPal's certificate endpoint on a host the
/// operator allowed: otherwise anyone could make the daemon fetch arbitrary URLs (SSRF) or
/// serve their own certificate. The check is a pure function of the text: no DNS, no
/// Foundation URL parsing (which is lenient and differs between platforms), and whatever it
/// accepts is re-assembled from the parts it checked.
public struct CertificateURLPolicy: Sendable, Hashable {
    /// PayPal's live and sandbox API hosts, the only places PayPal serves its certificates.
    public static let payPalHosts: Set<String> = [
        "api.paypal.com", "api-m.paypal.com", "api.sandbox.paypal.com", "api-m.sandbox.paypal.com",
    ]
    /// The path every certificate URL must sit under.
    public static let pathPrefix = "/v1/notifications/certs/"
    /// The longest URL considered, in bytes.
    public static let maximumBytes = 512

    /// Allowed authorities, lowercased: `host` or `host:port` (an IPv6 literal in brackets).
    public let allowedHosts: Set<String>
    /// Whether `http` is accepted (the sandbox on loopback); otherwise only `https`.
    public let allowsPlainHTTP: Bool

    public init(allowedHosts: Set<String> = CertificateURLPolicy.payPalHosts, allowsPlainHTTP: Bool = false) {
        self.allowedHosts = Set(allowedHosts.map { $0.lowercased() })
        self.allowsPlainHTTP = allowsPlainHTTP
    }

    /// A URL the policy accepted, rebuilt from its checked parts.
    public struct Accepted: Sendable, Hashable {
        public let scheme: String
        /// The authority as written (lowercased), `host` or `host:port`.
        public let authority: String
        /// The certificate's name, the last path segment.
        public let name: String
        /// The URL to fetch.
        public var url: String { "\(scheme)://\(authority)\(CertificateURLPolicy.pathPrefix)\(name)" }
    }

    /// Why a URL was refused, for the webhook rejection's reason.
    public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// The accepted URL, or why `text` may not be fetched.
    public func check(_ text: String) -> Result<Accepted, Refusal> {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return .failure(Refusal(reason: "the certificate URL is empty")) }
        guard bytes.count <= Self.maximumBytes else {
            return .failure(Refusal(reason: "the certificate URL is longer than \(Self.maximumBytes) bytes"))
        }
        // Printable ASCII only: no spaces, controls, percent-escapes, backslashes or non-ASCII
        // that another parser might read differently.
        guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "%") && $0 != UInt8(ascii: "\\") }) else {
            return .failure(Refusal(reason: "the certificate URL has characters outside printable ASCII, % or \\"))
        }
        let scheme: String
        let rest: Substring
        if text.hasPrefix("https://") {
            scheme = "https"
            rest = text.dropFirst("https://".count)
        } else if text.hasPrefix("http://") {
            guard allowsPlainHTTP else {
                return .failure(Refusal(reason: "the certificate URL must be https"))
            }
            scheme = "http"
            rest = text.dropFirst("http://".count)
        } else {
            return .failure(Refusal(reason: "the certificate URL must be https"))
        }
        guard let slash = rest.firstIndex(of: "/") else {
            return .failure(Refusal(reason: "the certificate URL has no path"))
        }
        let authority = rest[..<slash].lowercased()
        let path = rest[slash...]
        guard !authority.contains("@") else {
            return .failure(Refusal(reason: "the certificate URL must not carry user information"))
        }
        let defaultPort = scheme == "https" ? ":443" : ":80"
        let host = authority.hasSuffix(defaultPort) ? String(authority.dropLast(defaultPort.count)) : authority
        guard allowedHosts.contains(authority) || allowedHosts.contains(host) else {
            return .failure(Refusal(reason: "the certificate URL's host \(authority) is not in webhook_cert_hosts"))
        }
        guard path.hasPrefix(Self.pathPrefix) else {
            return .failure(Refusal(reason: "the certificate URL's path must be under \(Self.pathPrefix)"))
        }
        let name = path.dropFirst(Self.pathPrefix.count)
        let nameIsSafe = !name.isEmpty && name.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
        guard nameIsSafe else {
            return .failure(Refusal(reason: "the certificate name must be letters, digits, - and _ (no query, fragment or further path)"))
        }
        return .success(Accepted(scheme: scheme, authority: host, name: String(name)))
    }
}
