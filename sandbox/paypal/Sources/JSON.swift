import Foundation
import SandboxSupport

/// A request body as parsed JSON, keeping the distinction between booleans, numbers and
/// strings that validation needs to name the field a caller got wrong.
enum JSONValue: Decodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Parses `bytes`; `nil` when they are not JSON.
    static func parse(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    /// The value serialized with object members in key order, so that two bodies meaning the
    /// same thing compare equal however their keys were ordered.
    var canonical: JSON {
        switch self {
        case .null: .null
        case .bool(let value): .bool(value)
        case .number(let value): .string("#\(value)")
        case .string(let value): .string(value)
        case .array(let values): .array(values.map(\.canonical))
        case .object(let members): .object(members.sorted { $0.key < $1.key }.map { ($0.key, $0.value.canonical) })
        }
    }

    /// The JSON type's name, for error descriptions.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }
}

/// A JSON document to send: the shared ordered encoder.
typealias JSON = OrderedJSON
