import Foundation
import Hummingbird

/// JSON bodies for admin answers and errors.
public enum SandboxJSON {
    /// Encodes `value` as a JSON response with `status`.
    public static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// An admin-API error: `{"error": {"message": …}}`.
    public static func error(_ message: String, status: HTTPResponse.Status = .badRequest) -> Response {
        response(["error": ["message": message]], status: status)
    }
}

private struct ListBody<Element: Encodable>: Encodable {
    var data: [Element]
}

private struct AdvanceBody: Decodable {
    var seconds: Double
}

private struct EndpointBody: Decodable {
    var url: String
}

extension Router where Context == SandboxContext {
    /// Adds the admin API every sandbox shares under `/_sandbox`:
    ///
    /// - `GET /_sandbox/ledger`: every money movement, oldest first.
    /// - `GET|POST|DELETE /_sandbox/faults`: list, add (a ``FaultRule`` as JSON), clear.
    /// - `POST /_sandbox/clock/advance` `{"seconds": N}`: move the clock forward.
    /// - `GET /_sandbox/webhooks`: deliveries; `POST /_sandbox/webhook-endpoints` `{"url"}`.
    /// - `POST /_sandbox/reset`: forget all state (`resetGateway` clears the gateway's own).
    public func addSandboxAdminRoutes(
        environment: SandboxEnvironment, resetGateway: @escaping @Sendable () -> Void
    ) {
        let admin = group("_sandbox")
        admin.get("ledger") { _, _ in
            SandboxJSON.response(ListBody(data: environment.ledger.all))
        }
        admin.get("faults") { _, _ in
            SandboxJSON.response(ListBody(data: environment.faults.active))
        }
        admin.post("faults") { request, context in
            let rule: FaultRule
            do {
                rule = try await Self.decode(FaultRule.self, from: request, context: context)
            } catch {
                return SandboxJSON.error("invalid fault rule: \(error)")
            }
            if let problem = rule.validationError { return SandboxJSON.error(problem) }
            environment.faults.add(rule)
            return SandboxJSON.response(ListBody(data: environment.faults.active), status: .created)
        }
        admin.delete("faults") { _, _ in
            environment.faults.clear()
            return SandboxJSON.response(ListBody(data: [FaultRule]()))
        }
        admin.post("clock/advance") { request, context in
            guard let body = try? await Self.decode(AdvanceBody.self, from: request, context: context),
                body.seconds > 0, body.seconds.isFinite
            else {
                return SandboxJSON.error("expected {\"seconds\": N} with N > 0")
            }
            environment.clock.advance(by: body.seconds)
            return SandboxJSON.response(["now": environment.clock.now.timeIntervalSince1970])
        }
        admin.get("webhooks") { _, _ in
            SandboxJSON.response(ListBody(data: environment.webhooks.deliveries))
        }
        admin.post("webhook-endpoints") { request, context in
            guard let body = try? await Self.decode(EndpointBody.self, from: request, context: context),
                body.url.hasPrefix("http://") || body.url.hasPrefix("https://")
            else {
                return SandboxJSON.error("expected {\"url\": \"http(s)://…\"}")
            }
            environment.webhooks.addEndpoint(body.url)
            return SandboxJSON.response(ListBody(data: environment.webhooks.endpoints), status: .created)
        }
        admin.post("reset") { _, _ in
            resetGateway()
            environment.reset()
            return SandboxJSON.response(["reset": true])
        }
    }

    private static func decode<T: Decodable>(
        _ type: T.Type, from request: Request, context: SandboxContext
    ) async throws -> T {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
    }
}
