import TillCore

/// Whether a price already contains its tax.
///
/// Exclusive prices (usual in the US and for business customers) get tax added on top;
/// inclusive prices (usual for consumers in the EU, the UK, Australia) already contain it,
/// and the tax is the part of the amount that belongs to the authority.
public enum TaxBehavior: String, Sendable, Hashable, Codable, CaseIterable {
    case exclusive, inclusive
}

/// A tax rate as the merchant configured it, named on every line it applies to.
public struct TaxRate: Hashable, Sendable, Codable {
    /// The merchant's id for the rate (`txr_...`); per-invoice rounding groups by it, so one id
    /// must mean one percentage and behaviour within an invoice.
    public var id: String
    /// What the invoice shows (`"VAT"`, `"NYC sales tax"`).
    public var displayName: String
    public var percentage: Percentage
    public var behavior: TaxBehavior

    public init(id: String, displayName: String, percentage: Percentage, behavior: TaxBehavior) {
        self.id = id
        self.displayName = displayName
        self.percentage = percentage
        self.behavior = behavior
    }
}

/// Where tax is rounded: each line's tax rounded then summed, or the invoice's taxable amount per rate taxed once.
///
/// The two differ by a few minor units on invoices with many small lines (3 × €0.33 at 10 %
/// is €0.09 per line and €0.10 per invoice); jurisdictions and merchants choose, so the
/// choice is named on the document.
public enum TaxRounding: String, Sendable, Hashable, Codable, CaseIterable {
    case line, invoice
}

/// How an invoice rounds: the mode used wherever a fraction of a minor unit appears (tax,
/// percentage discounts) and where tax is rounded. Stored on the document so that a credit
/// note, a re-render or an auditor computes exactly what the invoice did.
///
/// Encodes as `{"mode": "half_even", "tax": "line"}`.
public struct RoundingPolicy: Hashable, Sendable, Codable {
    public var mode: RoundingMode
    public var tax: TaxRounding

    public init(mode: RoundingMode = .halfEven, tax: TaxRounding = .line) {
        self.mode = mode
        self.tax = tax
    }

    /// Half-even, rounded per line: no bias over many roundings, and each line's tax is final
    /// on its own.
    public static let standard = RoundingPolicy()

    /// The stable name of a rounding mode in documents and the API (`"half_even"`).
    public static func name(of mode: RoundingMode) -> String {
        switch mode {
        case .halfEven: "half_even"
        case .halfUp: "half_up"
        case .halfDown: "half_down"
        case .up: "up"
        case .down: "down"
        case .ceiling: "ceiling"
        case .floor: "floor"
        }
    }

    /// The rounding mode a stable name stands for; `nil` for any other text.
    public static func mode(named name: String) -> RoundingMode? {
        RoundingMode.allCases.first { Self.name(of: $0) == name }
    }

    /// The mode named `name`, or an error naming `param` and the names accepted.
    public static func parseMode(_ name: String, param: String = "rounding_mode") throws(BillingError) -> RoundingMode {
        guard let mode = mode(named: name) else {
            let names = RoundingMode.allCases.map { Self.name(of: $0) }.joined(separator: ", ")
            let shown = name.count > 32 ? String(name.prefix(32)) + "…" : name
            throw .invalid(param, "\"\(shown)\" is not a rounding mode; expected one of \(names)")
        }
        return mode
    }

    private enum CodingKeys: String, CodingKey {
        case mode, tax
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .mode)
        guard let mode = Self.mode(named: name) else {
            throw DecodingError.dataCorruptedError(forKey: .mode, in: c, debugDescription: "unknown rounding mode \(name)")
        }
        self.mode = mode
        tax = try c.decode(TaxRounding.self, forKey: .tax)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.name(of: mode), forKey: .mode)
        try c.encode(tax, forKey: .tax)
    }
}
