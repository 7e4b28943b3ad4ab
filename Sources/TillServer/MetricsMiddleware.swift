import Hummingbird
import Logging

/// Counts and times every request by its route template and final status, and writes one
/// structured log line per request. It sits outside ``ErrorMiddleware`` so it sees the
/// status the caller gets, errors included.
///
/// The log line carries the method, the route template (never the query string), the
/// status and the duration: bodies, headers and keys are never logged.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = TillRequestContext
    let metrics: TillMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let status: Int
        do {
            let response = try await next(request, context)
            status = response.status.code
            record(request, context, status: status, since: started)
            return response
        } catch {
            status = (error as? any HTTPResponseError)?.status.code ?? 500
            record(request, context, status: status, since: started)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, status: Int, since started: ContinuousClock.Instant) {
        let duration = ContinuousClock.now - started
        // Hummingbird names unmatched paths "NotFound"; either way no raw path becomes a label.
        let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
        metrics.recordRequest(method: request.method.rawValue, route: route, status: status, duration: duration)
        // Probes and scrapes arrive every few seconds; keep them out of the info log.
        let level: Logger.Level = route.hasPrefix("/v1") ? .info : .debug
        context.logger.log(
            level: level, "request",
            metadata: [
                "method": .string(request.method.rawValue), "route": .string(route), "status": .stringConvertible(status),
                "duration_ms": .stringConvertible(Double(duration.nanoseconds) / 1_000_000),
            ])
    }
}
