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

    public init(
        method: HTTPMethod = .GET,
        url: String,
        headers: HTTPHeaders = [:],
        body: [UInt8]? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
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
