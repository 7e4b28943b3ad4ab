/// A mailbox: an ASCII addr-spec (`local@domain`) and an optional display name.
///
/// The addr-spec is restricted to a dot-atom local part and a hostname (or address literal)
/// domain, so it can go into SMTP's `MAIL FROM`/`RCPT TO` and into headers without quoting or
/// escaping: no spaces, no quotes, no angle brackets, no controls. Internationalised local parts
/// (SMTPUTF8) are refused on purpose; the display name may be any Unicode and is encoded per
/// RFC 2047 when the message is built.
public struct EmailAddress: Sendable, Hashable, CustomStringConvertible {
    /// `local@domain`, as sent in the SMTP envelope.
    public let addrSpec: String
    public let displayName: String?

    /// The limit of RFC 5321's path (256 with the angle brackets).
    public static let maxLength = 254
    /// Keeps an encoded From or To header within RFC 5322's line limits.
    public static let maxDisplayNameBytes = 256

    public init(addrSpec: String, displayName: String? = nil) throws(MailError) {
        try Self.validate(addrSpec: addrSpec)
        if let displayName {
            guard displayName.utf8.count <= Self.maxDisplayNameBytes else {
                throw .invalidAddress("the display name is over \(Self.maxDisplayNameBytes) bytes")
            }
            for scalar in displayName.unicodeScalars where scalar.value < 0x20 || scalar.value == 0x7F {
                if scalar == "\r" || scalar == "\n" || scalar == "\0" {
                    throw .headerInjection("the display name")
                }
                throw .invalidAddress("the display name contains a control character")
            }
        }
        self.addrSpec = addrSpec
        let trimmed = displayName?.trimmingASCIISpaces()
        self.displayName = (trimmed?.isEmpty ?? true) ? nil : trimmed
    }

    /// Parses `a@b.example`, `<a@b.example>`, `Name <a@b.example>` or `"Name, Inc." <a@b.example>`.
    public init(_ string: String) throws(MailError) {
        if hasLineBreakOrNUL(string) {
            throw .headerInjection("the address")
        }
        let text = string.trimmingASCIISpaces()
        guard text.hasSuffix(">") else {
            try self.init(addrSpec: text)
            return
        }
        guard let open = text.lastIndex(of: "<") else {
            throw .invalidAddress("an address ending in '>' has no matching '<'")
        }
        let spec = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
        var name = text[..<open].trimmingASCIISpaces()
        if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 {
            // A quoted-string: drop the quotes and undo its backslash escapes.
            var unescaped = ""
            var escaping = false
            for character in name.dropFirst().dropLast() {
                if escaping || character != "\\" {
                    unescaped.append(character)
                    escaping = false
                } else {
                    escaping = true
                }
            }
            name = unescaped
        }
        try self.init(addrSpec: spec, displayName: name.isEmpty ? nil : name)
    }

    /// `Name <a@b.example>` or the bare addr-spec, for logs; headers use ``MIMEEncoder``.
    public var description: String {
        guard let displayName else { return addrSpec }
        return "\(displayName) <\(addrSpec)>"
    }

    /// `<a@b.example>`, the form curl passes to `MAIL FROM` and `RCPT TO`.
    var smtpPath: String { "<\(addrSpec)>" }

    private static func validate(addrSpec: String) throws(MailError) {
        let bytes = Array(addrSpec.utf8)
        if bytes.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) {
            throw .headerInjection("the address")
        }
        guard !bytes.isEmpty else { throw .invalidAddress("the address is empty") }
        guard bytes.count <= maxLength else {
            throw .invalidAddress("the address is \(bytes.count) bytes, over \(maxLength)")
        }
        guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .invalidAddress("the address must be printable ASCII without spaces")
        }
        guard let at = bytes.lastIndex(of: UInt8(ascii: "@")) else {
            throw .invalidAddress("the address has no '@'")
        }
        let local = bytes[..<at]
        let domain = bytes[(at + 1)...]
        guard !local.isEmpty, local.count <= 64 else {
            throw .invalidAddress("the local part must be 1 to 64 bytes")
        }
        guard isDotAtom(local) else {
            throw .invalidAddress("the local part must be a dot-atom (letters, digits, !#$%&'*+-/=?^_`{|}~ and single inner dots)")
        }
        guard isDomain(domain) else {
            throw .invalidAddress("the domain must be a hostname or an address literal in brackets")
        }
    }

    private static func isDotAtom(_ bytes: ArraySlice<UInt8>) -> Bool {
        var previousWasDot = true  // refuses a leading dot
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                if previousWasDot { return false }
                previousWasDot = true
            } else if isAtext(byte) {
                previousWasDot = false
            } else {
                return false
            }
        }
        return !previousWasDot
    }

    static func isAtext(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-/=?^_`{|}~".utf8).contains(byte)
        }
    }

    /// A hostname of LDH labels (a single label such as `localhost` is allowed for
    /// development), or an address literal such as `[127.0.0.1]` or `[IPv6:::1]`.
    static func isDomain(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard !bytes.isEmpty, bytes.count <= 253 else { return false }
        if bytes.first == UInt8(ascii: "[") {
            guard bytes.last == UInt8(ascii: "]"), bytes.count > 2 else { return false }
            return bytes.dropFirst().dropLast().allSatisfy { byte in
                isAlphanumeric(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
            }
        }
        for label in bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.count <= 63,
                  label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-"),
                  label.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") })
            else { return false }
        }
        return true
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

extension StringProtocol {
    func trimmingASCIISpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
