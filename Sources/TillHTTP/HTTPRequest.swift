#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An HTTP request method, such as `GET` or `POST`.
///
/// A struct rather than an enum so that extension methods (`PROPFIND`, ...) need no new
/// release; the common ones are static members.
public struct HTTPMethod: Sendable, Hashable, CustomStringConvertible {
    /// The method token as sent on the wire.
    public let rawValue: String

    public init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    public static let GET = HTTPMethod("GET")
    public static let HEAD = HTTPMethod("HEAD")
    public static let POST = HTTPMethod("POST")
    public static let PUT = HTTPMethod("PUT")
    public static let PATCH = HTTPMethod("PATCH")
    public static let DELETE = HTTPMethod("DELETE")
    public static let OPTIONS = HTTPMethod("OPTIONS")

    public var description: String { rawValue }
}

/// A complete HTTP request: the body is held in memory, which suits gateway API calls.
public struct HTTPRequest: Sendable, Hashable {
    /// The request method.
    public var method: HTTPMethod
    /// An absolute `http://` or `https://` URL.
    public var url: String
    /// Request headers, sent in order. `User-Agent` here overrides the client's default.
    public var headers: HTTPHeaders
    /// The request body; `nil` sends none. An empty array sends `Content-Length: 0`.
    public var body: [UInt8]?
    /// Where the connection may go; `nil` lets curl resolve and connect as usual.
    public var pin: ConnectionPin?

    public init(
        method: HTTPMethod = .GET,
        url: String,
        headers: HTTPHeaders = [:],
        body: [UInt8]? = nil,
        pin: ConnectionPin? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.pin = pin
    }

    /// Checks what curl would otherwise accept or mangle silently. A CR or LF in a header
    /// would let a value smuggle extra headers or a second request into the connection.
    func validate() throws(HTTPClientError) {
        let lowerURL = url.lowercased()
        guard lowerURL.hasPrefix("http://") || lowerURL.hasPrefix("https://") else {
            throw .invalidRequest("url must be an absolute http:// or https:// URL, got \"\(url)\"")
        }
        if url.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
            throw .invalidRequest("url contains whitespace or a control character")
        }
        if let pin {
            guard !pin.addresses.isEmpty, pin.addresses.allSatisfy({ ConnectionPin.addressBytes($0) != nil }) else {
                throw .invalidRequest("pin must list one or more numeric IP addresses")
            }
            let isAddress = ConnectionPin.addressBytes(pin.host) != nil
            guard !pin.host.isEmpty, isAddress || !pin.host.utf8.contains(where: { $0 <= 0x20 || $0 == UInt8(ascii: ":") || $0 == 0x7F })
            else {
                throw .invalidRequest("pin host must be a name or an IP address (IPv6 without brackets), without a port")
            }
        }
        guard !method.rawValue.isEmpty, method.rawValue.utf8.allSatisfy(Self.isTokenByte) else {
            throw .invalidRequest("method \"\(method.rawValue)\" is not an HTTP token")
        }
        for field in headers {
            guard !field.name.isEmpty, field.name.utf8.allSatisfy(Self.isTokenByte) else {
                throw .invalidRequest("header name \"\(field.name)\" is not an HTTP token")
            }
            if field.value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) {
                throw .invalidRequest("header \"\(field.name)\" has a CR, LF or NUL in its value")
            }
        }
    }

    /// RFC 9110 `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

/// Pins a request's connection to addresses the caller has already checked, so that what
/// is connected to is what was checked: the URL's host is mapped to ``addresses`` for this
/// request (curl does not resolve it; `CURLOPT_RESOLVE`), no proxy is used, and the
/// client refuses to open a socket to any address not listed (`CURLOPT_OPENSOCKETFUNCTION`),
/// so neither a DNS answer that changed nor a connection curl chose on its own can switch
/// the destination. A refusal fails the request in ``HTTPClientError/Phase/destinationRefused``.
public struct ConnectionPin: Sendable, Hashable {
    /// The URL's host as written in it, without brackets; a name is mapped to the addresses.
    public var host: String
    /// The URL's port (or its scheme's default).
    public var port: UInt16
    /// Numeric IPv4 or IPv6 addresses (no brackets, no zone), in the order to try.
    public var addresses: [String]

    public init(host: String, port: UInt16, addresses: [String]) {
        self.host = host
        self.port = port
        self.addresses = addresses
    }

    /// The address's bytes as a socket holds them (4 or 16), or `nil` if it is not numeric.
    static func addressBytes(_ text: String) -> [UInt8]? {
        if text.contains(":") {
            var bytes = [UInt8](repeating: 0, count: 16)
            return inet_pton(AF_INET6, text, &bytes) == 1 ? bytes : nil
        }
        var bytes = [UInt8](repeating: 0, count: 4)
        return inet_pton(AF_INET, text, &bytes) == 1 ? bytes : nil
    }

    /// The `CURLOPT_RESOLVE` entry; `nil` when the host is an address (curl does not resolve one).
    var resolveEntry: String? {
        guard Self.addressBytes(host) == nil, !host.hasPrefix("[") else { return nil }
        let list = addresses.map { $0.contains(":") ? "[\($0)]" : $0 }.joined(separator: ",")
        return "\(host):\(port):\(list)"
    }
}
