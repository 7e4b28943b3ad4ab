import TillCrypto

/// A body in Stripe's form encoding (`application/x-www-form-urlencoded`, nested keys as
/// `a[b][c]`), built as bytes so that card data goes from ``SecureBytes`` into the body
/// without ever becoming a `String` that could end up in a log or a crash report.
struct StripeForm: Sendable {
    private(set) var bytes: [UInt8] = []
    /// Field names only, for logs and tests: values are never kept apart from the body.
    private(set) var keys: [String] = []

    init() {}

    mutating func add(_ key: String, _ value: String) {
        start(key)
        Self.percentEncode(value.utf8, into: &bytes)
    }

    mutating func add(_ key: String, _ value: Int64) { add(key, String(value)) }

    /// Appends a secret value straight from its protected storage.
    mutating func add(_ key: String, secret: SecureBytes) {
        start(key)
        secret.withUnsafeBytes { raw in Self.percentEncode(raw, into: &bytes) }
    }

    private mutating func start(_ key: String) {
        if !bytes.isEmpty { bytes.append(UInt8(ascii: "&")) }
        keys.append(key)
        Self.percentEncode(key.utf8, into: &bytes)
        bytes.append(UInt8(ascii: "="))
    }

    /// RFC 3986 unreserved characters stay; everything else, brackets included, becomes
    /// `%XX`, as Stripe's own libraries send it.
    static func percentEncode(_ input: some Sequence<UInt8>, into output: inout [UInt8]) {
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in input {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                output.append(byte)
            default:
                output.append(UInt8(ascii: "%"))
                output.append(hex[Int(byte >> 4)])
                output.append(hex[Int(byte & 0x0F)])
            }
        }
    }

    /// `key=value&…` for a query string.
    static func query(_ pairs: [(String, String)]) -> String {
        var form = StripeForm()
        for (key, value) in pairs { form.add(key, value) }
        return String(decoding: form.bytes, as: UTF8.self)
    }
}
