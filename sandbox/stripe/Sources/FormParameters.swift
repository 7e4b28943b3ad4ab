/// A request's parameters, decoded from Stripe's form encoding (`a[b][c]=d`, `expand[0]=x`,
/// `expand[]=x`, `+` for space, percent escapes), the same for bodies and query strings.
indirect enum FormValue: Sendable, Hashable {
    case string(String)
    case map([String: FormValue])

    /// The elements of an indexed list (`x[0]`, `x[1]` or `x[]`), in index order.
    var list: [FormValue]? {
        switch self {
        case .string: return nil
        case .map(let map):
            var indexed: [(Int, FormValue)] = []
            for (key, value) in map {
                guard let index = Int(key), index >= 0 else { return nil }
                indexed.append((index, value))
            }
            return indexed.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// A canonical text of the value, for idempotency fingerprints.
    var canonical: String {
        switch self {
        case .string(let value): return "\"" + value + "\""
        case .map(let map):
            return "{" + map.keys.sorted().map { "\($0)=\(map[$0]?.canonical ?? "")" }.joined(separator: ",") + "}"
        }
    }
}

/// The parameters of one request, with the checks every endpoint makes on them.
struct FormParameters: Sendable {
    var values: [String: FormValue]

    init(values: [String: FormValue] = [:]) { self.values = values }

    /// Decodes `application/x-www-form-urlencoded` bytes.
    init(decoding bytes: some Sequence<UInt8>) throws(StripeError) {
        var values: [String: FormValue] = [:]
        var pair: [UInt8] = []
        func flush() throws(StripeError) {
            defer { pair.removeAll(keepingCapacity: true) }
            guard !pair.isEmpty else { return }
            let equals = pair.firstIndex(of: UInt8(ascii: "=")) ?? pair.endIndex
            let key = try Self.percentDecode(pair[..<equals])
            let value = equals < pair.endIndex ? try Self.percentDecode(pair[(equals + 1)...]) : ""
            try Self.insert(value: value, path: Self.keyPath(key), into: &values)
        }
        for byte in bytes {
            if byte == UInt8(ascii: "&") { try flush() } else { pair.append(byte) }
        }
        try flush()
        self.values = values
    }

    /// Merges parameters, as for a query string and a body together.
    mutating func merge(_ other: FormParameters) {
        values.merge(other.values) { _, new in new }
    }

    var canonical: String { FormValue.map(values).canonical }

    private static func percentDecode(_ bytes: ArraySlice<UInt8>) throws(StripeError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex,
                    let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
                else {
                    throw malformed("a malformed percent escape")
                }
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw malformed("text that is not UTF-8") }
        return text
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func malformed(_ what: String) -> StripeError {
        .invalidRequest("Invalid request body: it contains \(what). Send form-encoded parameters (a[b]=c).")
    }

    /// `a[b][c]` → `["a", "b", "c"]`; an empty `[]` stands for "the next index".
    private static func keyPath(_ key: String) throws(StripeError) -> [String] {
        guard let open = key.firstIndex(of: "[") else {
            guard !key.isEmpty, !key.contains("]") else { throw malformed("the invalid key '\(key)'") }
            return [key]
        }
        var path = [String(key[..<open])]
        guard !path[0].isEmpty else { throw malformed("the invalid key '\(key)'") }
        var rest = key[open...]
        while !rest.isEmpty {
            guard rest.first == "[", let close = rest.firstIndex(of: "]") else {
                throw malformed("the invalid key '\(key)'")
            }
            let inner = rest[rest.index(after: rest.startIndex)..<close]
            guard !inner.contains("[") else { throw malformed("the invalid key '\(key)'") }
            path.append(String(inner))
            rest = rest[rest.index(after: close)...]
        }
        guard path.count <= 8 else { throw malformed("a key nested too deeply") }
        return path
    }

    private static func insert(
        value: String, path: [String], into map: inout [String: FormValue]
    ) throws(StripeError) {
        var key = path[0]
        if key.isEmpty { key = String(map.count) }
        if path.count == 1 {
            guard map[key] == nil || { if case .string = map[key] { return true } else { return false } }() else {
                throw malformed("a parameter given both as a value and as a hash ('\(key)')")
            }
            map[key] = .string(value)
            return
        }
        var inner: [String: FormValue]
        switch map[key] {
        case nil: inner = [:]
        case .map(let existing): inner = existing
        case .string: throw malformed("a parameter given both as a value and as a hash ('\(key)')")
        }
        map[key] = nil
        try insert(value: value, path: Array(path.dropFirst()), into: &inner)
        map[key] = .map(inner)
    }

    // MARK: Reading

    /// Refuses any top-level parameter not in `allowed` (Stripe's `parameter_unknown`).
    func allowOnly(_ allowed: Set<String>) throws(StripeError) {
        for key in values.keys where !allowed.contains(key) { throw .unknownParameter(key) }
    }

    func string(_ key: String) throws(StripeError) -> String? {
        switch values[key] {
        case nil: return nil
        case .string(let value): return value.isEmpty ? nil : value
        case .map: throw .invalidRequest("Invalid string: \(key) must be a string, not a hash.", code: "parameter_invalid_string", param: key)
        }
    }

    func integer(_ key: String, param: String? = nil) throws(StripeError) -> Int64? {
        guard let text = try string(key) else { return nil }
        guard let value = Int64(text) else {
            throw .invalidRequest(
                "Invalid integer: \(text)", code: "parameter_invalid_integer", param: param ?? key)
        }
        return value
    }

    func boolean(_ key: String) throws(StripeError) -> Bool? {
        guard let text = try string(key) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default:
            throw .invalidRequest("Invalid boolean: \(text)", code: "parameter_invalid_boolean", param: key)
        }
    }

    /// A nested hash such as `card[…]`, whose keys are checked against `allowed` when given.
    func hash(_ key: String, allowed: Set<String>? = nil) throws(StripeError) -> FormParameters? {
        switch values[key] {
        case nil: return nil
        case .string(let value) where value.isEmpty: return nil
        case .string: throw .invalidRequest("Invalid hash: \(key) must be a hash.", code: "parameter_invalid_string", param: key)
        case .map(let map):
            if let allowed {
                for inner in map.keys where !allowed.contains(inner) { throw .unknownParameter("\(key)[\(inner)]") }
            }
            return FormParameters(values: map)
        }
    }

    /// `metadata[k]=v`: string values only, as Stripe stores them.
    func metadata(_ key: String = "metadata") throws(StripeError) -> [String: String]? {
        switch values[key] {
        case nil: return nil
        case .string(let value) where value.isEmpty: return [:]
        case .string: throw .invalidRequest("Invalid hash: metadata must be a hash.", param: key)
        case .map(let map):
            guard map.count <= 50 else { throw .invalidRequest("Metadata can have at most 50 keys.", param: key) }
            var result: [String: String] = [:]
            for (name, value) in map {
                guard case .string(let text) = value, name.count <= 40, text.count <= 500 else {
                    throw .invalidRequest(
                        "Invalid metadata: keys are at most 40 characters, values strings of at most 500.",
                        param: "\(key)[\(name)]")
                }
                result[name] = text
            }
            return result
        }
    }

    /// `expand[0]=x` / `expand[]=x`.
    func strings(_ key: String) throws(StripeError) -> [String] {
        switch values[key] {
        case nil: return []
        case .string(let value): return value.isEmpty ? [] : [value]
        case .map(let map):
            guard let items = FormValue.map(map).list else {
                throw .invalidRequest("Invalid array: \(key) must be an array.", param: key)
            }
            var result: [String] = []
            for item in items {
                guard case .string(let text) = item else {
                    throw .invalidRequest("Invalid array: \(key) must be an array of strings.", param: key)
                }
                result.append(text)
            }
            return result
        }
    }
}
