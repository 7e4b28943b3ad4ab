import ArgumentParser
import Foundation
import TillServer

/// The `server` section of `till serve --config FILE`: where merchant webhooks may go and
/// the HTTP server's limits. Unknown keys are refused, so a misspelt limit is not ignored.
///
/// ```json
/// "server": {
///   "allow_webhook_hosts": ["10.0.0.7:8443"],
///   "idle_timeout_seconds": 60, "header_timeout_seconds": 10, "body_timeout_seconds": 30,
///   "max_connections": 10000
/// }
/// ```
struct ServerSettings: Decodable, Sendable, Equatable {
    var allowWebhookHosts: [String] = []
    var idleTimeoutSeconds: Double?
    var headerTimeoutSeconds: Double?
    var bodyTimeoutSeconds: Double?
    var maxConnections: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case allowWebhookHosts = "allow_webhook_hosts"
        case idleTimeoutSeconds = "idle_timeout_seconds"
        case headerTimeoutSeconds = "header_timeout_seconds"
        case bodyTimeoutSeconds = "body_timeout_seconds"
        case maxConnections = "max_connections"
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init() {}

    init(from decoder: any Decoder) throws {
        let keys = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
        if let unknown = keys.first(where: { CodingKeys(rawValue: $0) == nil }) {
            throw ServeError(
                "server.\(unknown) is not a setting; known: \(CodingKeys.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        allowWebhookHosts = try c.decodeIfPresent([String].self, forKey: .allowWebhookHosts) ?? []
        idleTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .idleTimeoutSeconds)
        headerTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .headerTimeoutSeconds)
        bodyTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .bodyTimeoutSeconds)
        maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections)
    }

    /// The `server` section of a configuration file; absent means defaults.
    static func decode(file data: Data, name: String) throws -> ServerSettings {
        struct Wrapper: Decodable { var server: ServerSettings? }
        do {
            return try JSONDecoder().decode(Wrapper.self, from: data).server ?? ServerSettings()
        } catch let error as ServeError {
            throw ServeError("\(name): \(error.description)")
        } catch {
            throw ServeError("\(name): the server section is malformed: \(error)")
        }
    }
}

extension ServeCommand {
    /// Applies the flags over `file` (flags win) to `configuration`; `sandbox` allows plain http.
    func applyServerSettings(_ file: ServerSettings, sandbox: Bool, to configuration: inout DaemonConfiguration) throws {
        var allowed = Set<SocketEndpoint>()
        for entry in file.allowWebhookHosts + allowWebhookHost {
            guard let endpoint = SocketEndpoint(entry) else {
                throw ServeError(
                    "allow-webhook-host \"\(entry)\" must be an IP address and port, such as 127.0.0.1:9000 or [::1]:9000")
            }
            allowed.insert(endpoint)
        }
        configuration.webhookPolicy = WebhookURLPolicy(allowsPlainHTTP: sandbox, allowed: allowed)
        var limits = ServerLimits()
        func seconds(_ value: Double?, _ name: String) throws -> Duration? {
            guard let value else { return nil }
            guard value.isFinite, value > 0, value <= 86_400 else {
                throw ServeError("\(name) must be between 0 and 86400 seconds, got \(value)")
            }
            return .milliseconds(Int64((value * 1000).rounded(.up)))
        }
        if let value = try seconds(idleTimeout ?? file.idleTimeoutSeconds, "the idle timeout") { limits.idleTimeout = value }
        if let value = try seconds(headerTimeout ?? file.headerTimeoutSeconds, "the header timeout") {
            limits.headerTimeout = value
        }
        if let value = try seconds(bodyTimeout ?? file.bodyTimeoutSeconds, "the body timeout") { limits.bodyTimeout = value }
        if let value = maxConnections ?? file.maxConnections {
            guard value > 0 else { throw ServeError("the connection limit must be positive, got \(value)") }
            limits.maxConnections = value
        }
        configuration.serverLimits = limits
        configuration.mail = try mailSettings()
    }
}
