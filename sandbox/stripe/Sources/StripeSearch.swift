/// Stripe's search query language, as far as the sandbox needs it: clauses
/// `field:'value'` joined by `AND` or by `OR` (never both, as Stripe requires), each
/// optionally negated with a leading `-`. Fields: `metadata['key']`, `status`, `currency`,
/// `amount`, `capture_method`. Values are quoted with `'` or `"` (a backslash escapes the
/// quote) or are bare numbers.
struct SearchQuery: Sendable {
    struct Clause: Sendable {
        var field: String
        /// The metadata key for `metadata['key']`.
        var metadataKey: String?
        var value: String
        var negated: Bool
    }

    enum Joiner: Sendable { case and, or }

    static let fields: Set<String> = ["metadata", "status", "currency", "amount", "capture_method"]

    var clauses: [Clause]
    var joiner: Joiner

    init(_ text: String) throws(StripeError) {
        var scanner = Scanner(Array(text.unicodeScalars))
        var clauses: [Clause] = []
        var joiner: Joiner?
        scanner.skipSpaces()
        while !scanner.atEnd {
            if !clauses.isEmpty {
                let word = scanner.word()
                let next: Joiner
                switch word {
                case "AND": next = .and
                case "OR": next = .or
                default: throw Self.invalid("expected AND or OR between clauses, found '\(word)'")
                }
                if let joiner, joiner != next { throw Self.invalid("AND and OR cannot be mixed in one query") }
                joiner = next
                scanner.skipSpaces()
            }
            clauses.append(try Self.clause(&scanner))
            scanner.skipSpaces()
        }
        guard !clauses.isEmpty else { throw Self.invalid("the query is empty") }
        self.clauses = clauses
        self.joiner = joiner ?? .and
    }

    private static func clause(_ scanner: inout Scanner) throws(StripeError) -> Clause {
        let negated = scanner.take("-")
        let field = scanner.identifier()
        guard fields.contains(field) else {
            throw invalid("'\(field)' is not a supported search field; use one of \(fields.sorted().joined(separator: ", "))")
        }
        var key: String?
        if field == "metadata" {
            guard scanner.take("[") else { throw invalid("metadata needs a key: metadata['key']") }
            key = try quoted(&scanner)
            guard scanner.take("]") else { throw invalid("expected ] after the metadata key") }
        }
        guard scanner.take(":") else { throw invalid("only the ':' (equals) operator is supported, after '\(field)'") }
        let value: String
        if scanner.peek == "'" || scanner.peek == "\"" {
            value = try quoted(&scanner)
        } else {
            value = scanner.identifier()
            guard !value.isEmpty else { throw invalid("'\(field)' needs a value") }
        }
        return Clause(field: field, metadataKey: key, value: value, negated: negated)
    }

    private static func quoted(_ scanner: inout Scanner) throws(StripeError) -> String {
        guard let quote = scanner.peek, quote == "'" || quote == "\"" else { throw invalid("expected a quoted string") }
        scanner.advance()
        var text = String.UnicodeScalarView()
        while let scalar = scanner.peek {
            scanner.advance()
            if scalar == "\\", let escaped = scanner.peek {
                text.append(escaped)
                scanner.advance()
            } else if scalar == quote {
                return String(text)
            } else {
                text.append(scalar)
            }
        }
        throw invalid("an unterminated string")
    }

    private static func invalid(_ message: String) -> StripeError {
        .invalidRequest("Invalid search query: \(message).", code: "parameter_invalid_string", param: "query")
    }

    /// Whether `intent` satisfies the query.
    func matches(_ intent: PaymentIntentRecord) -> Bool {
        let results = clauses.map { clause -> Bool in
            let actual: String? =
                switch clause.field {
                case "metadata": clause.metadataKey.flatMap { intent.metadata[$0] }
                case "status": intent.status.rawValue
                case "currency": intent.currency
                case "amount": String(intent.amount)
                case "capture_method": intent.captureMethod
                default: nil
                }
            let equal = clause.field == "currency" ? actual == clause.value.lowercased() : actual == clause.value
            return equal != clause.negated
        }
        switch joiner {
        case .and: return results.allSatisfy { $0 }
        case .or: return results.contains(true)
        }
    }

    struct Scanner {
        let scalars: [Unicode.Scalar]
        var index = 0

        init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

        var atEnd: Bool { index >= scalars.count }
        var peek: Unicode.Scalar? { atEnd ? nil : scalars[index] }
        mutating func advance() { index += 1 }

        mutating func take(_ scalar: Unicode.Scalar) -> Bool {
            guard peek == scalar else { return false }
            advance()
            return true
        }

        mutating func skipSpaces() {
            while let scalar = peek, scalar == " " || scalar == "\t" || scalar == "\n" { advance() }
        }

        /// Letters, digits, `_` and `.` (a bare value such as `1000`, or a field name).
        mutating func identifier() -> String {
            var text = String.UnicodeScalarView()
            while let scalar = peek,
                scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "."
            {
                text.append(scalar)
                advance()
            }
            return String(text)
        }

        mutating func word() -> String { identifier() }
    }
}
