#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as the bytes a socket would use, with no zone.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    /// 16 bytes, network order.
    case v6([UInt8])

    /// Parses the text forms a socket library accepts for `family`: IPv4 strictly as four
    /// decimal numbers (what `getaddrinfo` answers and what an allow-list entry must say),
    /// IPv6 with `inet_pton`.
    public init?(numeric text: String) {
        if text.contains(":") {
            var bytes = [UInt8](repeating: 0, count: 16)
            guard text.utf8.count <= 45, inet_pton(AF_INET6, text, &bytes) == 1 else { return nil }
            self = .v6(bytes)
        } else {
            guard let value = WebhookURLPolicy.dottedQuad(text) else { return nil }
            self = .v4(value)
        }
    }

    /// Dotted quad or RFC 5952-ish IPv6 text (from `inet_ntop`).
    public var description: String {
        switch self {
        case .v4(let value):
            return "\(value >> 24).\((value >> 16) & 0xFF).\((value >> 8) & 0xFF).\(value & 0xFF)"
        case .v6(let bytes):
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard bytes.count == 16, inet_ntop(AF_INET6, bytes, &buffer, socklen_t(buffer.count)) != nil else { return "::" }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// How the address appears in a URL's authority: IPv6 in brackets.
    public var urlHost: String {
        switch self {
        case .v4: description
        case .v6: "[\(description)]"
        }
    }
}

/// An address and a TCP port: an operator's allow-list entry, or where the daemon listens.
public struct SocketEndpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// `127.0.0.1:9000` or `[::1]:9000`: an address literal (not a name, which could
    /// resolve anywhere) and a port.
    public init?(_ text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let address = IPAddress(numeric: String(host)), let port = WebhookURLPolicy.port(portText) else { return nil }
        self.init(address: address, port: port)
    }

    public var description: String { "\(address.urlHost):\(port)" }
}

/// Which webhook URLs a merchant may register and which addresses a delivery may connect
/// to. Pure: no I/O, no resolution; the outbox resolves names and asks ``check(_:port:)``
/// about every address it got, and its HTTP client refuses to connect anywhere else.
///
/// The rules, and why:
/// - The URL is parsed strictly by the policy itself, not by Foundation, so no parser
///   disagreement (backslashes, `@`, odd host encodings) can make the policy judge one host
///   and libcurl connect to another. Only ASCII, at most ``maxLength`` bytes, no user
///   information, no fragment, no dot segments.
/// - Outside sandbox mode only `https`.
/// - A host made only of digits, `x` and dots is an IPv4 literal, read the way `inet_aton`
///   and libcurl read it (`127.1`, `0x7f.1`, `017700000001`, `2130706433` all mean
///   127.0.0.1), and the address it means is judged. Only the four-decimal form is stored.
/// - Every address that is not public unicast is refused (loopback, RFC 1918, CGNAT,
///   link-local, multicast, reserved, documentation, benchmark, ULA, IPv4-mapped and
///   -compatible IPv6, and NAT64 or 6to4 embeddings of a refused IPv4 address), unless the
///   operator listed its exact `address:port` (``allowed``), and never the daemon's own
///   listen address (``own``).
/// - `localhost` and `*.localhost` are refused as names (RFC 6761 pins them to loopback).
/// - No path under `/_sandbox`: the sandboxes' admin API.
public struct WebhookURLPolicy: Sendable, Hashable {
    /// The longest URL accepted, in UTF-8 bytes.
    public static let maxLength = 2048

    /// `http` too (the sandbox setup); otherwise only `https`.
    public var allowsPlainHTTP: Bool
    /// Non-public endpoints the operator allows (`--allow-webhook-host`).
    public var allowed: Set<SocketEndpoint>
    /// Where the daemon itself listens; never a webhook destination, allow-list or not.
    public var own: Set<SocketEndpoint>

    public init(allowsPlainHTTP: Bool = false, allowed: Set<SocketEndpoint> = [], own: Set<SocketEndpoint> = []) {
        self.allowsPlainHTTP = allowsPlainHTTP
        self.allowed = allowed
        self.own = own
    }

    /// A URL's host, once parsed.
    public enum Host: Hashable, Sendable {
        case address(IPAddress)
        /// A DNS name, lowercase, ASCII letters, digits, hyphens and dots only.
        case name(String)
    }

    /// A URL the policy accepted, in its stored form.
    public struct Destination: Hashable, Sendable {
        public var scheme: String
        public var host: Host
        /// The port connected to (the scheme's default when the URL names none).
        public var port: UInt16
        /// The URL as stored and sent: lowercase scheme and host, IPv4 in four decimals.
        public var url: String
        /// The host as it appears in ``url`` (brackets around IPv6).
        public var urlHost: String
    }

    /// Why a URL or an address is refused. `reason` is safe to show the merchant: it names
    /// the rule, never an address the daemon resolved.
    public struct Refusal: Error, Hashable, Sendable, CustomStringConvertible {
        public enum Kind: Sendable, Hashable {
            /// Not a URL the policy can read (`url_invalid`).
            case invalid
            /// A readable URL that points somewhere webhooks may not go (`url_not_allowed`).
            case notAllowed
        }

        public var kind: Kind
        public var reason: String

        public var description: String { reason }

        static func invalid(_ reason: String) -> Refusal { Refusal(kind: .invalid, reason: reason) }
        static func notAllowed(_ reason: String) -> Refusal { Refusal(kind: .notAllowed, reason: reason) }
    }

    // MARK: Registration

    /// Parses `text` and judges what can be judged without resolving: the scheme, the
    /// path, and an address literal. A name is judged again, by its addresses, at delivery.
    public func check(url text: String) throws(Refusal) -> Destination {
        let destination = try Self.parse(text)
        guard destination.scheme == "https" || allowsPlainHTTP else {
            throw .notAllowed("must use https")
        }
        switch destination.host {
        case .address(let address):
            if let refusal = check(address, port: destination.port) { throw refusal }
        case .name(let name):
            if name == "localhost" || name.hasSuffix(".localhost") {
                throw .notAllowed(
                    "names a loopback host; in sandbox mode use the address (127.0.0.1) and have the operator allow it")
            }
        }
        return destination
    }

    /// Whether a delivery may connect to `address` on `port`: `nil` if it may, or why not.
    public func check(_ address: IPAddress, port: UInt16) -> Refusal? {
        let endpoint = SocketEndpoint(address: address, port: port)
        if isOwn(endpoint) { return .notAllowed("points at this daemon's own API") }
        if allowed.contains(endpoint) { return nil }
        if let range = Self.refusedRange(address) {
            return .notAllowed("points at a \(range) address, which webhooks may not reach")
        }
        return nil
    }

    /// The daemon listens on `own`; one listening on `0.0.0.0` or `::` answers on every
    /// address of the machine at that port, so any non-public address with the port is it.
    private func isOwn(_ endpoint: SocketEndpoint) -> Bool {
        if own.contains(endpoint) { return true }
        return own.contains { mine in
            mine.port == endpoint.port && Self.isUnspecified(mine.address)
                && (Self.refusedRange(endpoint.address) != nil || allowed.contains(endpoint))
        }
    }

    private static func isUnspecified(_ address: IPAddress) -> Bool {
        switch address {
        case .v4(let value): value == 0
        case .v6(let bytes): bytes.allSatisfy { $0 == 0 }
        }
    }

    // MARK: Address classes

    /// The name of the special-purpose range `address` falls in, or `nil` for a public
    /// unicast address.
    public static func refusedRange(_ address: IPAddress) -> String? {
        switch address {
        case .v4(let value): refusedRange(v4: value)
        case .v6(let bytes): refusedRange(v6: bytes)
        }
    }

    private static let v4Ranges: [(base: UInt32, bits: UInt32, name: String)] = [
        (0x0000_0000, 8, "this-network"),
        (0x0A00_0000, 8, "private"),
        (0x6440_0000, 10, "shared (CGNAT)"),
        (0x7F00_0000, 8, "loopback"),
        (0xA9FE_0000, 16, "link-local"),
        (0xAC10_0000, 12, "private"),
        (0xC000_0000, 24, "IETF protocol"),
        (0xC000_0200, 24, "documentation"),
        (0xC058_6300, 24, "6to4 relay"),
        (0xC0A8_0000, 16, "private"),
        (0xC612_0000, 15, "benchmarking"),
        (0xC633_6400, 24, "documentation"),
        (0xCB00_7100, 24, "documentation"),
        (0xE000_0000, 4, "multicast"),
        (0xF000_0000, 4, "reserved or broadcast"),
    ]

    static func refusedRange(v4 value: UInt32) -> String? {
        for range in v4Ranges {
            let mask: UInt32 = range.bits == 0 ? 0 : ~UInt32(0) << (32 - range.bits)
            if value & mask == range.base { return range.name }
        }
        return nil
    }

    static func refusedRange(v6 bytes: [UInt8]) -> String? {
        guard bytes.count == 16 else { return "malformed" }
        func v4(at offset: Int) -> UInt32 {
            bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }
        let first = bytes[0]
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            // A socket would reach the embedded IPv4 address; say so in IPv4 terms.
            return "IPv4-mapped IPv6"
        }
        if bytes[0..<12].allSatisfy({ $0 == 0 }) {
            let tail = v4(at: 12)
            if tail == 0 { return "unspecified" }
            if tail == 1 { return "loopback" }
            return "IPv4-compatible IPv6"
        }
        // NAT64 (RFC 6052): reaches the embedded IPv4 address through a translator.
        if bytes[0..<12] == [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0] {
            return refusedRange(v4: v4(at: 12)).map { "NAT64 \($0)" }
        }
        // Only global unicast (2000::/3) is public; fc00::/7, fe80::/10, ff00::/8, 100::/64,
        // 64:ff9b:1::/48 and the rest of the space are not.
        guard first & 0xE0 == 0x20 else {
            if first & 0xFE == 0xFC { return "unique local" }
            if first == 0xFE && bytes[1] & 0xC0 == 0x80 { return "link-local" }
            if first == 0xFE && bytes[1] & 0xC0 == 0xC0 { return "site-local" }
            if first == 0xFF { return "multicast" }
            return "reserved IPv6"
        }
        if first == 0x20 && bytes[1] == 0x01 && bytes[2] & 0xFE == 0x00 {
            // 2001::/23: Teredo, benchmarking, ORCHID and other protocol assignments.
            return "IETF protocol"
        }
        if bytes[0..<4] == [0x20, 0x01, 0x0D, 0xB8] { return "documentation" }
        if first == 0x3F && bytes[1] == 0xFF && bytes[2] & 0xF0 == 0x00 { return "documentation" }
        if first == 0x20 && bytes[1] == 0x02 {
            // 6to4: reaches the IPv4 address in bytes 2-5.
            return refusedRange(v4: v4(at: 2)).map { "6to4 \($0)" }
        }
        return nil
    }

    // MARK: Parsing

    /// Reads `text` as an absolute `http` or `https` URL, refusing anything ambiguous.
    public static func parse(_ text: String) throws(Refusal) -> Destination {
        guard text.utf8.count <= maxLength else { throw .invalid("is longer than \(maxLength) bytes") }
        guard !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7F }) else {
            throw .invalid("contains spaces, control characters or non-ASCII characters; percent-encode them")
        }
        guard !text.contains("\\") else { throw .invalid("must not contain a backslash") }
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else {
            throw .invalid("must be an absolute URL such as https://shop.example/webhooks")
        }
        let scheme = text[..<colon].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw .invalid("must use http or https")
        }
        let rest = text[text.index(colon, offsetBy: 3)...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let tail = rest[authorityEnd...]
        guard !authority.contains("@") else {
            throw .invalid("must not carry a user name or password; authenticate deliveries with the signing secret")
        }
        guard !tail.contains("#") else { throw .invalid("must not have a #fragment") }

        // Host and port.
        let hostText: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .invalid("has an unclosed [IPv6] host") }
            hostText = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalid("has characters after its [IPv6] host") }
                portText = after.dropFirst()
            }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                hostText = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                hostText = authority
            }
        }
        guard !hostText.isEmpty else { throw .invalid("has no host") }
        let defaultPort: UInt16 = scheme == "https" ? 443 : 80
        var port = defaultPort
        if let portText {
            guard let parsed = Self.port(portText) else { throw .invalid("has an invalid port") }
            port = parsed
        }
        let host: Host
        if authority.hasPrefix("[") {
            guard !hostText.contains("%") else { throw .invalid("must not name an IPv6 zone") }
            guard let address = IPAddress(numeric: String(hostText)), case .v6 = address else {
                throw .invalid("has an invalid [IPv6] host")
            }
            host = .address(address)
        } else {
            host = try Self.host(String(hostText))
        }

        // Path and query.
        let pathEnd = tail.firstIndex(of: "?") ?? tail.endIndex
        let path = tail[..<pathEnd]
        let query = tail[pathEnd...]
        for part in [path, query] {
            guard part.utf8.allSatisfy(isURLByte) else { throw .invalid("has a character that must be percent-encoded") }
        }
        guard let decodedPath = percentDecoded(path), percentDecoded(query) != nil else {
            throw .invalid("has a malformed %-escape")
        }
        let segments = decodedPath.split(separator: "/", omittingEmptySubsequences: false)
        guard !segments.contains(where: { $0 == "." || $0 == ".." }) else {
            throw .invalid("must not have . or .. path segments")
        }
        // Any segment, not only the first: a server may collapse `//` or mount the admin API lower.
        if segments.contains(where: { $0.lowercased() == "_sandbox" }) {
            throw .notAllowed("points at a sandbox gateway's admin API")
        }

        let urlHost: String
        switch host {
        case .address(let address): urlHost = address.urlHost
        case .name(let name): urlHost = name
        }
        let portPart = portText == nil ? "" : ":\(port)"
        let url = "\(scheme)://\(urlHost)\(portPart)\(path)\(query)"
        // `127.1` is stored as `127.0.0.1`: the stored form must fit too.
        guard url.utf8.count <= maxLength else { throw .invalid("is longer than \(maxLength) bytes") }
        return Destination(scheme: scheme, host: host, port: port, url: url, urlHost: urlHost)
    }

    /// A registered name, or an IPv4 literal in any form libcurl or `inet_aton` would read.
    static func host(_ text: String) throws(Refusal) -> Host {
        let lower = text.lowercased()
        guard lower.utf8.count <= 253 else { throw .invalid("has a host name longer than 253 bytes") }
        if lower.hasSuffix(".") { throw .invalid("must not end its host name with a dot") }
        let labels = lower.split(separator: ".", omittingEmptySubsequences: false)
        // WHATWG and libcurl treat a host whose last label is numeric as an IPv4 address; so
        // does the policy, and it refuses one that is not a valid one rather than calling
        // it a name.
        if let last = labels.last, isNumericLabel(last) {
            guard let value = inetAton(lower) else { throw .invalid("has a host that is neither a name nor an IPv4 address") }
            // A refused address is refused as such (``check(url:)`` names its range), whatever
            // form it was written in; a public one must be written in the one stored form.
            guard refusedRange(v4: value) != nil || dottedQuad(lower) == value else {
                throw .invalid("must write an IPv4 address as four decimal numbers, such as 192.0.2.1")
            }
            return .address(.v4(value))
        }
        for label in labels {
            guard !label.isEmpty, label.utf8.count <= 63 else { throw .invalid("has an empty or too long host name label") }
            guard label.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") }),
                label.first != "-", label.last != "-"
            else { throw .invalid("has a host name with characters other than letters, digits, hyphens and dots") }
        }
        return .name(lower)
    }

    /// A port: 1 to 65535, decimal digits only, no sign or leading zero.
    static func port(_ text: Substring) -> UInt16? {
        guard !text.isEmpty, text.utf8.count <= 5, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            !(text.hasPrefix("0")), let value = Int(text), (1...65535).contains(value)
        else { return nil }
        return UInt16(value)
    }

    /// Exactly four decimal numbers of 0 to 255 without leading zeros: the one form stored.
    static func dottedQuad(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.utf8.count <= 3, part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                part == "0" || !part.hasPrefix("0"), let byte = UInt32(part), byte <= 255
            else { return nil }
            value = value << 8 | byte
        }
        return value
    }

    /// `inet_aton`'s reading: one to four parts, each decimal, `0x` hex or `0` octal; the
    /// last part fills the remaining bytes. `nil` if it is not one.
    public static func inetAton(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var numbers: [UInt64] = []
        for part in parts {
            guard !part.isEmpty else { return nil }
            let lower = part.lowercased()
            let digits: Substring
            let radix: Int
            if lower.hasPrefix("0x") {
                digits = lower.dropFirst(2)
                radix = 16
            } else if lower.hasPrefix("0") && lower.count > 1 {
                digits = lower.dropFirst()
                radix = 8
            } else {
                digits = Substring(lower)
                radix = 10
            }
            // glibc's inet_aton refuses `0x` with no digits after it (the fuzzer found the
            // two disagreeing on "0x").
            if digits.isEmpty, radix == 16 { return nil }
            // Swift's integer parser takes a sign; inet_aton takes digits only.
            let valid: (UInt8) -> Bool =
                switch radix {
                case 16: isHexDigit
                case 8: { (0x30...0x37).contains($0) }
                default: { (0x30...0x39).contains($0) }
                }
            // Leading zeros never overflow inet_aton's strtoul, however many there are (the
            // fuzzer found the two disagreeing on 58 zeros); only significant digits count.
            let significant = digits.drop { $0 == "0" }
            guard digits.utf8.allSatisfy(valid), significant.utf8.count <= 32,
                let number = significant.isEmpty ? 0 : UInt64(significant, radix: radix), number <= UInt32.max
            else { return nil }
            numbers.append(number)
        }
        var value: UInt64 = 0
        for (index, number) in numbers.enumerated() {
            if index < numbers.count - 1 {
                guard number <= 255 else { return nil }
                value |= number << (8 * UInt64(3 - index))
            } else {
                let remainingBytes = 4 - index
                guard number < (UInt64(1) << (8 * UInt64(remainingBytes))) else { return nil }
                value |= number
            }
        }
        return UInt32(value)
    }

    private static func isNumericLabel(_ label: Substring) -> Bool {
        let lower = label.lowercased()
        if lower.hasPrefix("0x") { return lower.dropFirst(2).utf8.allSatisfy(isHexDigit) }
        return !lower.isEmpty && lower.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte)
    }

    /// RFC 3986 `pchar`, `/`, `?` and `%`.
    private static func isURLByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return "-._~!$&'()*+,;=:@/?%".utf8.contains(byte)
        }
    }

    /// The bytes behind the %-escapes, as text; `nil` for a malformed escape.
    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard iterator.count >= 2, let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16) else {
                return nil
            }
            iterator = iterator.dropFirst(2)
            bytes.append(value)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
