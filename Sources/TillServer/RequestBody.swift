import Foundation
import HTTPTypes
import TillCore
import TillPayments

/// A request body parsed and checked field by field.
///
/// Every JSON request body of the API is read here, so what the API accepts is decided in
/// one place: strict JSON (``StrictJSON``), no card number in any text but the one field
/// made for it, only known fields, and every string bounded in UTF-8 bytes (what storage,
/// logs and gateways pay for; grapheme clusters can hide kilobytes in one "character").
public struct RequestBody: Sendable {
    public let fields: JSONObject

    /// Strings not given a bound of their own: ids, codes, names.
    public static let defaultMaxBytes = 255

    /// Parses `bytes` as a JSON object whose keys are all in `allowed`. `cardNumberFields`
    /// names the dotted paths that may hold a card number (only `card.number` of
    /// `POST /v1/tokens`); a PAN-like key or string anywhere else is refused with
    /// `card_number_in_text`, before it can be stored, logged or sent on in a webhook, and
    /// without echoing it.
    public init(_ bytes: [UInt8], allowed: Set<String>, cardNumberFields: Set<String> = []) throws(APIError) {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            fields = [:]
            return
        }
        guard case .object(let object) = try StrictJSON.parse(bytes) else {
            throw APIError(.badRequest, .invalidRequest, code: "invalid_json", "the request body must be a JSON object")
        }
        // Before the unknown-field check, so a card number sent as an unknown field (or as
        // a key) is named for what it is and never echoed in "unknown field …".
        try Self.screen(.object(object), path: "", allowing: cardNumberFields)
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError(.badRequest, .invalidRequest, code: "parameter_unknown", "unknown field \(unknown)", param: unknown)
        }
        fields = object
    }

    /// A nested object checked the same way; errors name `prefix.field`.
    public init(fields: JSONObject, allowed: Set<String>, prefix: String) throws(APIError) {
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError(
                .badRequest, .invalidRequest, code: "parameter_unknown",
                "unknown field \(prefix.isEmpty ? "" : prefix + ".")\(unknown)", param: (prefix.isEmpty ? "" : prefix + ".") + unknown)
        }
        self.fields = fields
        self.prefix = prefix.isEmpty ? "" : prefix + "."
    }

    private var prefix = ""

    /// Refuses (415) a body whose `Content-Type` is not `application/json`, optionally with
    /// `charset=utf-8` (RFC 8259 §8.1 allows no other charset; any other parameter means the
    /// sender meant something else).
    public static func checkMediaType(_ values: [String]) throws(APIError) {
        let refusal = APIError(
            .unsupportedMediaType, .invalidRequest, code: "unsupported_media_type",
            "send the request body as Content-Type: application/json (charset=utf-8 if any)", param: "Content-Type")
        guard values.count == 1, let value = values.first else { throw refusal }
        let parts = value.split(separator: ";", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard parts.first == "application/json" else { throw refusal }
        for parameter in parts.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0] == "charset", pair[1] == "utf-8" || pair[1] == "\"utf-8\"" else { throw refusal }
        }
    }

    /// Refuses a PAN-like key or string anywhere in `value` but at the `allowing` paths.
    static func screen(_ value: JSONValue, path: String, allowing: Set<String>) throws(APIError) {
        switch value {
        case .object(let object):
            for key in object.keys.sorted() {
                let keyPath = path.isEmpty ? key : "\(path).\(key)"
                if PANScreen.containsCardNumber(key) { throw cardNumberInText(keyPath) }
                if let child = object[key] { try screen(child, path: keyPath, allowing: allowing) }
            }
        case .array(let values):
            for (index, child) in values.enumerated() { try screen(child, path: "\(path)[\(index)]", allowing: allowing) }
        case .string(let text):
            if !allowing.contains(path), PANScreen.containsCardNumber(text) { throw cardNumberInText(path) }
        case .null, .bool, .int, .double:
            break
        }
    }

    static func cardNumberInText(_ path: String) -> APIError {
        // The error mapping masks the param too, for a path whose key is the number.
        APIError(
            .badRequest, .invalidRequest, code: "card_number_in_text",
            "\(PANScreen.mask(path)) looks like it holds a card number; card numbers go only in card.number of POST /v1/tokens",
            param: PANScreen.mask(path))
    }

    static func tooLong(_ param: String, _ maxBytes: Int) -> APIError {
        APIError.invalid("\(param) is longer than \(maxBytes) bytes of UTF-8", param: param, code: "parameter_too_long")
    }

    /// A string of at most `maxBytes` UTF-8 bytes.
    public func string(_ name: String, maxBytes: Int = RequestBody.defaultMaxBytes) throws(APIError) -> String? {
        switch fields[name] {
        case nil, .null?: return nil
        case .string(let value)?:
            guard value.utf8.count <= maxBytes else { throw Self.tooLong(prefix + name, maxBytes) }
            return value
        default: throw APIError.invalid("\(prefix)\(name) must be a string", param: prefix + name)
        }
    }

    public func requiredString(_ name: String, maxBytes: Int = RequestBody.defaultMaxBytes) throws(APIError) -> String {
        guard let value = try string(name, maxBytes: maxBytes), !value.isEmpty else { throw APIError.missing(prefix + name) }
        return value
    }

    public func integer(_ name: String) throws(APIError) -> Int64? {
        switch fields[name] {
        case nil, .null?: return nil
        case .int(let value)?: return value
        default: throw APIError.invalid("\(prefix)\(name) must be an integer", param: prefix + name)
        }
    }

    public func bool(_ name: String) throws(APIError) -> Bool? {
        switch fields[name] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        default: throw APIError.invalid("\(prefix)\(name) must be true or false", param: prefix + name)
        }
    }

    /// Metadata: a flat object of strings, within the limits of ``MetadataLimits``.
    public func metadata(_ name: String = "metadata") throws(APIError) -> [String: String] {
        switch fields[name] {
        case nil, .null?: return [:]
        case .object(let object)?:
            guard object.count <= MetadataLimits.maxKeys else {
                throw APIError.invalid(
                    "\(name) has more than \(MetadataLimits.maxKeys) keys (gateways allow \(MetadataLimits.gatewayMaxKeys), "
                        + "and Till keeps \(MetadataLimits.reservedKeys.count) for its own references)",
                    param: name, code: "metadata_too_many_keys")
            }
            var map: [String: String] = [:]
            for key in object.keys.sorted() {
                let param = "\(name).\(key)"
                guard !key.isEmpty, key.utf8.count <= MetadataLimits.maxKeyBytes else {
                    throw APIError.invalid(
                        "\(name) keys must be 1 to \(MetadataLimits.maxKeyBytes) bytes of UTF-8", param: param,
                        code: "parameter_too_long")
                }
                // Gateways spell metadata as `metadata[key]` in forms: a bracket in a key
                // would write another field.
                guard !key.contains("[") && !key.contains("]") else {
                    throw APIError.invalid("\(name) keys must not contain [ or ]", param: param)
                }
                guard !key.hasPrefix(MetadataLimits.reservedPrefix) else {
                    throw APIError.invalid(
                        "\(name) keys starting with \(MetadataLimits.reservedPrefix) are reserved for Till's own references",
                        param: param, code: "metadata_key_reserved")
                }
                guard case .string(let text)? = object[key] else {
                    throw APIError.invalid("\(name) values must be strings", param: param)
                }
                guard text.utf8.count <= MetadataLimits.maxValueBytes else { throw Self.tooLong(param, MetadataLimits.maxValueBytes) }
                map[key] = text
            }
            return map
        default: throw APIError.invalid("\(name) must be an object of strings", param: name)
        }
    }

    public func object(_ name: String) throws(APIError) -> JSONObject? {
        switch fields[name] {
        case nil, .null?: return nil
        case .object(let value)?: return value
        default: throw APIError.invalid("\(prefix)\(name) must be an object", param: prefix + name)
        }
    }
}
