import Foundation
import TillServer
import TillTesting
import Testing

@Suite("OpenAPI document")
struct OpenAPITests {
    /// Routes documented from the other daemon helpers' briefs while their branches are
    /// being written; the lead empties this after merging them.
    static func document() throws -> [String: Any] {
        let bytes = OpenAPIDocument.bytes
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    /// `METHOD /path` for every operation in the document.
    static func documentedRoutes() throws -> Set<String> {
        let paths = try #require(try document()["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]
        var routes = Set<String>()
        for (path, item) in paths {
            for method in item.keys where methods.contains(method) {
                routes.insert("\(method.uppercased()) \(path)")
            }
        }
        return routes
    }

    @Test("the document is OpenAPI 3.1 with the auth schemes, the idempotency header and the error shape")
    func shape() throws {
        let document = try Self.document()
        #expect(document["openapi"] as? String == "3.1.0")
        let components = try #require(document["components"] as? [String: Any])
        let schemes = try #require(components["securitySchemes"] as? [String: Any])
        #expect(Set(schemes.keys) == ["secretKey", "publishableKey"])
        let parameters = try #require(components["parameters"] as? [String: [String: Any]])
        #expect(parameters["IdempotencyKey"]?["name"] as? String == "Idempotency-Key")
        let schemas = try #require(components["schemas"] as? [String: Any])
        for name in ["Error", "Token", "Payment", "Transaction", "Refund", "Dispute", "Event", "WebhookEndpoint"] {
            #expect(schemas[name] != nil, "missing schema \(name)")
        }
    }

    @Test("every route the router serves is documented, and every documented route is served")
    func coverage() async throws {
        try await DaemonHarness.with { harness in
            let served = Set(harness.daemon.server.routeList())
            let documented = try Self.documentedRoutes()
            #expect(served.subtracting(documented).isEmpty, "served but not documented: \(served.subtracting(documented).sorted())")
            let missing = documented.subtracting(served)
            #expect(missing.isEmpty, "documented but not served: \(missing.sorted())")
            // The payment routes this branch can see must all be there.
            #expect(served.contains("POST /v1/payments/{id}/capture"))
            #expect(served.contains("GET /openapi.json"))
        }
    }

    @Test("every mutating /v1 operation takes Idempotency-Key, except gateway webhooks, usage events and deletes")
    func idempotencyEverywhere() throws {
        let paths = try #require(try Self.document()["paths"] as? [String: [String: Any]])
        // Usage events are idempotent on their own ids (a resend is counted once), which
        // holds across batches and clients where a request key could not.
        for (path, item) in paths where path.hasPrefix("/v1/") && !path.hasPrefix("/v1/gateways/") && path != "/v1/usage_events" {
            guard let post = item["post"] as? [String: Any] else { continue }
            let parameters = (post["parameters"] as? [[String: Any]]) ?? []
            let refs = parameters.compactMap { $0["$ref"] as? String }
            #expect(refs.contains("#/components/parameters/IdempotencyKey"), "POST \(path) lacks Idempotency-Key")
        }
    }
}
