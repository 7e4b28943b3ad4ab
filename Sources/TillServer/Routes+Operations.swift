import TillCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

extension TillServer {
    /// `/healthz`, `/readyz`, `/metrics`, `/openapi.json`: unauthenticated, for load
    /// balancers, orchestrators, Prometheus and API tooling. None of them reveals merchant
    /// data or secrets.
    func addOperationsRoutes(to router: Router<TillRequestContext>) {
        // The process is up and serving HTTP; says nothing about its dependencies.
        router.get("healthz") { _, _ in
            JSONValue.object(["status": .string("ok")]).response(status: .ok)
        }
        // Ready to take traffic: the database answers and every configured gateway was
        // built. Gateways are not called here: a probe every few seconds must not turn
        // into traffic on a payment provider, and a provider's blip should not take the
        // daemon out of rotation (failover and reconciliation deal with that).
        router.get("readyz") { _, context in
            var checks: JSONObject = [:]
            var ready = true
            do {
                try await self.metrics.refresh(from: self.store)
                checks["database"] = .string("ok")
            } catch {
                context.logger.warning("readiness: the database did not answer", metadata: ["error": "\(type(of: error))"])
                checks["database"] = .string("unavailable")
                ready = false
            }
            if self.gateways.isEmpty { ready = false }
            checks["gateways"] = .object(self.gateways.mapValues { _ in .string("configured") })
            return JSONValue.object(["status": .string(ready ? "ready" : "not_ready"), "checks": .object(checks)])
                .response(status: ready ? .ok : .serviceUnavailable)
        }
        router.get("metrics") { _, context in
            do {
                try await self.metrics.refresh(from: self.store)
            } catch {
                // Serve the counters anyway; the stale gauges are the smaller loss.
                context.logger.warning("metrics: could not refresh gauges", metadata: ["error": "\(type(of: error))"])
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: self.metrics.render())))
        }
        let document = OpenAPIDocument.bytes
        router.get("openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: document)))
        }
    }
}

/// The OpenAPI 3.1 document describing the `/v1` API (`Sources/TillServer/openapi.json`),
/// embedded in the binary at build time, so a copied `till` cannot lose it.
public enum OpenAPIDocument {
    /// The document's bytes.
    public static let bytes: [UInt8] = PackageResources.openapi_json
}

extension TillServer {
    /// Every route the API's router serves, as `METHOD /path/{param}`, for checking the
    /// OpenAPI document against the code.
    public func routeList() -> [String] {
        makeRouter().routes.map { "\($0.method.rawValue) \($0.path)" }.sorted()
    }
}
