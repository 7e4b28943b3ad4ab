import Foundation

/// Who a document is from: the merchant's name, legal details, logo and colour, as the
/// merchant set them. Every field is bounded in bytes; the logo must be a PNG.
public struct DocumentBranding: Sendable, Equatable {
    public static let maxTextBytes = 200
    public static let maxAddressLines = 6
    public static let maxLogoBytes = 256 * 1024

    public var displayName: String
    public var legalName: String?
    public var addressLines: [String]
    public var taxID: String?
    public var email: String?
    /// PNG bytes, drawn at most 160 × 56 points in the PDF and inlined as a data URI in HTML.
    public var logoPNG: Data?
    /// `#RRGGBB`, the titles' and rules' colour.
    public var accentColor: String

    public static let defaultAccent = "#1F4E79"

    public init(
        displayName: String, legalName: String? = nil, addressLines: [String] = [], taxID: String? = nil,
        email: String?, logoPNG: Data? = nil, accentColor: String? = nil
    ) throws(DocumentError) {
        self.displayName = try Self.text(displayName, "display_name") ?? "Till"
        self.legalName = try Self.text(legalName, "legal_name")
        guard addressLines.count <= Self.maxAddressLines else {
            throw .invalid("address", "at most \(Self.maxAddressLines) address lines")
        }
        var lines: [String] = []
        for line in addressLines { if let line = try Self.text(line, "address") { lines.append(line) } }
        self.addressLines = lines
        self.taxID = try Self.text(taxID, "tax_id")
        self.email = try Self.text(email, "email")
        if let logoPNG {
            guard logoPNG.count <= Self.maxLogoBytes else {
                throw .invalid("logo", "a logo is at most \(Self.maxLogoBytes) bytes")
            }
            guard logoPNG.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
                throw .invalid("logo", "a logo must be a PNG image")
            }
        }
        self.logoPNG = logoPNG
        let accent = accentColor ?? Self.defaultAccent
        guard Self.rgb(accent) != nil else { throw .invalid("accent_color", "a colour is #RRGGBB") }
        self.accentColor = accent.uppercased()
    }

    /// The accent as 0…1 components.
    var accent: (Double, Double, Double) { Self.rgb(accentColor) ?? (0.12, 0.31, 0.47) }

    static func rgb(_ hex: String) -> (Double, Double, Double)? {
        let digits = Array(hex.utf8)
        guard digits.count == 7, digits[0] == UInt8(ascii: "#"), let value = UInt32(hex.dropFirst(), radix: 16) else {
            return nil
        }
        return (Double((value >> 16) & 0xFF) / 255, Double((value >> 8) & 0xFF) / 255, Double(value & 0xFF) / 255)
    }

    /// Trimmed, non-empty, bounded in bytes, and free of control characters that would let
    /// merchant text forge lines in a document or a header.
    static func text(_ value: String?, _ field: String) throws(DocumentError) -> String? {
        guard let trimmed = value?.trimmingCharacters(in: .whitespacesAndNewlines), !trimmed.isEmpty else { return nil }
        guard trimmed.utf8.count <= maxTextBytes else { throw .invalid(field, "at most \(maxTextBytes) bytes") }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalid(field, "control characters are not allowed")
        }
        return trimmed
    }
}
