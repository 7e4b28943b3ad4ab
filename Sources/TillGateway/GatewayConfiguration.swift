import Foundation

/// A configuration problem, naming the field at fault (`gateways[1].base_url`).
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// Where a secret comes from. Production configuration names an environment variable or a
/// file; an inline value is accepted only where the loader allows it (the sandbox setup).
public enum SecretSource: Sendable, Hashable, Decodable {
    case environment(String)
    case file(String)
    case inline(String)

    private enum CodingKeys: String, CodingKey {
        case env, file, value
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let present = [CodingKeys.env, .file, .value].filter(container.contains)
        guard present.count == 1, let key = present.first else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "give exactly one of env, file or value"))
        }
        let text = try container.decode(String.self, forKey: key)
        switch key {
        case .env: self = .environment(text)
        case .file: self = .file(text)
        case .value: self = .inline(text)
        }
    }

    /// The secret's value.
    ///
    /// - Parameters:
    ///   - field: the field's path, for errors.
    ///   - allowInline: whether an inline `value` is acceptable here.
    ///   - environment: the process environment (injectable for tests).
    public func resolve(
        field: String, allowInline: Bool, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> String {
        let value: String
        switch self {
        case .environment(let name):
            guard let found = environment[name], !found.isEmpty else {
                throw ConfigurationError(field: field, "environment variable \(name) is not set")
            }
            value = found
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigurationError(field: field, "cannot read secret file \(path)")
            }
            value = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        case .inline(let text):
            guard allowInline else {
                throw ConfigurationError(
                    field: field, "inline secret values are not allowed here; use {\"env\": NAME} or {\"file\": PATH}")
            }
            value = text
        }
        guard !value.isEmpty else { throw ConfigurationError(field: field, "the secret is empty") }
        return value
    }
}

/// One configured gateway instance.
public struct GatewaySettings: Sendable, Hashable, Decodable {
    /// The instance's name, unique in the configuration; routing rules refer to it.
    public var name: String
    /// The plugin that implements it, as registered (`stripe`, `paypal`).
    public var plugin: String
    /// The gateway's API base URL (`https://api.stripe.com`, or a sandbox).
    public var baseURL: String
    /// Plugin-specific credentials by name (`secret_key`; `client_id`, `client_secret`).
    public var credentials: [String: SecretSource]
    public var webhookSecret: SecretSource?
    /// Plugin-specific plain options (PayPal's `webhook_id`).
    public var options: [String: String]
    public var connectTimeoutMilliseconds: Int
    public var requestTimeoutMilliseconds: Int

    public init(
        name: String, plugin: String, baseURL: String, credentials: [String: SecretSource] = [:],
        webhookSecret: SecretSource? = nil, options: [String: String] = [:], connectTimeoutMilliseconds: Int = 5_000,
        requestTimeoutMilliseconds: Int = 30_000
    ) {
        self.name = name
        self.plugin = plugin
        self.baseURL = baseURL
        self.credentials = credentials
        self.webhookSecret = webhookSecret
        self.options = options
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
    }

    private enum CodingKeys: String, CodingKey {
        case name, plugin, credentials, options
        case baseURL = "base_url"
        case webhookSecret = "webhook_secret"
        case connectTimeoutMilliseconds = "connect_timeout_ms"
        case requestTimeoutMilliseconds = "request_timeout_ms"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        plugin = try c.decode(String.self, forKey: .plugin)
        baseURL = try c.decode(String.self, forKey: .baseURL)
        credentials = try c.decodeIfPresent([String: SecretSource].self, forKey: .credentials) ?? [:]
        webhookSecret = try c.decodeIfPresent(SecretSource.self, forKey: .webhookSecret)
        options = try c.decodeIfPresent([String: String].self, forKey: .options) ?? [:]
        connectTimeoutMilliseconds = try c.decodeIfPresent(Int.self, forKey: .connectTimeoutMilliseconds) ?? 5_000
        requestTimeoutMilliseconds = try c.decodeIfPresent(Int.self, forKey: .requestTimeoutMilliseconds) ?? 30_000
    }

    /// Checks what does not depend on the plugin; `path` prefixes field names in errors.
    public func validate(path: String) throws(ConfigurationError) {
        let namePattern = name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }
        guard !name.isEmpty, name.count <= 64, namePattern else {
            throw ConfigurationError(field: "\(path).name", "use 1-64 lower-case letters, digits, '-' or '_'")
        }
        guard let url = URL(string: baseURL), let scheme = url.scheme?.lowercased(),
            scheme == "https" || scheme == "http", url.host != nil
        else {
            throw ConfigurationError(field: "\(path).base_url", "must be an absolute http(s) URL, got \"\(baseURL)\"")
        }
        guard (1...120_000).contains(connectTimeoutMilliseconds) else {
            throw ConfigurationError(field: "\(path).connect_timeout_ms", "must be between 1 and 120000")
        }
        guard (1...600_000).contains(requestTimeoutMilliseconds) else {
            throw ConfigurationError(field: "\(path).request_timeout_ms", "must be between 1 and 600000")
        }
    }

    /// A credential's value, or an error naming `<path>.credentials.<key>`.
    public func credential(
        _ key: String, path: String, allowInline: Bool, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> String {
        guard let source = credentials[key] else {
            throw ConfigurationError(field: "\(path).credentials.\(key)", "is required by the \(plugin) plugin")
        }
        return try source.resolve(field: "\(path).credentials.\(key)", allowInline: allowInline, environment: environment)
    }
}

/// The gateways part of Till's configuration file.
public struct GatewaysConfiguration: Sendable, Hashable, Decodable {
    public var gateways: [GatewaySettings]
    public var routing: RoutingTable
    public var circuitBreaker: CircuitBreaker.Settings

    public init(gateways: [GatewaySettings], routing: RoutingTable, circuitBreaker: CircuitBreaker.Settings = .init()) {
        self.gateways = gateways
        self.routing = routing
        self.circuitBreaker = circuitBreaker
    }

    private enum CodingKeys: String, CodingKey {
        case gateways, routing
        case circuitBreaker = "circuit_breaker"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        gateways = try c.decode([GatewaySettings].self, forKey: .gateways)
        routing = try c.decodeIfPresent(RoutingTable.self, forKey: .routing) ?? RoutingTable(rules: [], fallback: [])
        circuitBreaker = try c.decodeIfPresent(CircuitBreaker.Settings.self, forKey: .circuitBreaker) ?? .init()
    }

    /// Decodes JSON, turning decoding failures into errors that name the field.
    public static func decode(json: Data) throws(ConfigurationError) -> GatewaysConfiguration {
        do {
            return try JSONDecoder().decode(GatewaysConfiguration.self, from: json)
        } catch let error as DecodingError {
            throw ConfigurationError(decoding: error)
        } catch {
            throw ConfigurationError(field: "(file)", "\(error)")
        }
    }

    /// Checks names, plugins and routing against `registry`; errors name the field.
    public func validate(registry: GatewayRegistry) throws(ConfigurationError) {
        guard !gateways.isEmpty else { throw ConfigurationError(field: "gateways", "configure at least one gateway") }
        var seen = Set<String>()
        for (index, gateway) in gateways.enumerated() {
            let path = "gateways[\(index)]"
            try gateway.validate(path: path)
            guard seen.insert(gateway.name).inserted else {
                throw ConfigurationError(field: "\(path).name", "\"\(gateway.name)\" is used twice")
            }
            guard registry.plugins.contains(gateway.plugin) else {
                throw ConfigurationError(
                    field: "\(path).plugin",
                    "unknown plugin \"\(gateway.plugin)\"; registered: \(registry.plugins.sorted().joined(separator: ", "))")
            }
        }
        try routing.validate(knownGateways: seen, path: "routing")
        try circuitBreaker.validate(path: "circuit_breaker")
    }
}

extension ConfigurationError {
    init(decoding error: DecodingError) {
        func path(_ context: DecodingError.Context) -> String {
            var text = ""
            for key in context.codingPath {
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return text.isEmpty ? "(root)" : text
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            self.init(field: parent == "(root)" ? key.stringValue : "\(parent).\(key.stringValue)", "is required")
        case .typeMismatch(let type, let context):
            self.init(field: path(context), "expected \(type)")
        case .valueNotFound(let type, let context):
            self.init(field: path(context), "expected \(type), found null")
        case .dataCorrupted(let context):
            self.init(field: path(context), context.debugDescription)
        @unknown default:
            self.init(field: "(file)", "\(error)")
        }
    }
}
