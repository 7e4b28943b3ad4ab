import SandboxSupport

/// Stripe's objects are written with the shared ordered encoder.
typealias JSONValue = OrderedJSON

extension OrderedJSON {
    static func optional(_ value: String?) -> OrderedJSON { value.map(OrderedJSON.string) ?? .null }
    static func optional(_ value: Int64?) -> OrderedJSON { value.map(OrderedJSON.int) ?? .null }
    static func int(_ value: Int) -> OrderedJSON { .int(Int64(value)) }

    /// A string-to-string map in key order, as Stripe renders `metadata`.
    static func metadata(_ map: [String: String]) -> OrderedJSON {
        .object(map.keys.sorted().map { ($0, .string(map[$0] ?? "")) })
    }
}
