import Foundation
import SandboxSupport
import TillHTTP

/// The admin API of a running sandbox (`/_sandbox/…`), over real HTTP.
public struct SandboxAdmin: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let baseURL: String
    private let client: HTTPClient

    public init(baseURL: String, client: HTTPClient) {
        self.baseURL = baseURL
        self.client = client
    }

    /// Adds a fault rule (see ``FaultRule``).
    public func inject(_ rule: FaultRule) async throws {
        let encoder = JSONEncoder()
        _ = try await call(.POST, "/_sandbox/faults", body: Array(try encoder.encode(rule)), expect: 201)
    }

    public func clearFaults() async throws {
        _ = try await call(.DELETE, "/_sandbox/faults", expect: 200)
    }

    /// The sandbox's own record of money movements.
    public func ledger() async throws -> [LedgerEntry] {
        struct List: Decodable { var data: [LedgerEntry] }
        let body = try await call(.GET, "/_sandbox/ledger", expect: 200)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(List.self, from: Data(body)).data
    }

    /// Opens a dispute on a captured payment; returns the dispute's JSON object.
    public func openDispute(payment: String, reason: String = "fraudulent", stage: String = "chargeback") async throws
        -> [String: Any]
    {
        let body = try JSONSerialization.data(withJSONObject: ["payment": payment, "reason": reason, "stage": stage])
        let response = try await call(.POST, "/_sandbox/disputes", body: Array(body), expect: nil)
        return (try JSONSerialization.jsonObject(with: Data(response)) as? [String: Any]) ?? [:]
    }

    public func advanceClock(seconds: Double) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["seconds": seconds])
        _ = try await call(.POST, "/_sandbox/clock/advance", body: Array(body), expect: 200)
    }

    /// Sends the sandbox's webhooks to `url` too.
    public func addWebhookEndpoint(_ url: String) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["url": url])
        _ = try await call(.POST, "/_sandbox/webhook-endpoints", body: Array(body), expect: 201)
    }

    public func reset() async throws {
        _ = try await call(.POST, "/_sandbox/reset", expect: 200)
    }

    private func call(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, expect: Int?) async throws -> [UInt8] {
        let response = try await client.execute(
            HTTPRequest(
                method: method, url: baseURL + path,
                headers: body == nil ? [:] : ["Content-Type": "application/json"], body: body))
        if let expect, response.status != expect {
            throw Failure(
                description: "\(method) \(path): HTTP \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        if expect == nil, !(200..<300).contains(response.status) {
            throw Failure(
                description: "\(method) \(path): HTTP \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        return response.body
    }
}
