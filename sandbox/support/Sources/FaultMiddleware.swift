import Hummingbird

/// Applies the sandbox's fault rules to API calls (never to `/_sandbox` admin calls).
public struct FaultMiddleware: RouterMiddleware {
    public typealias Context = SandboxContext

    let faults: FaultInjector
    let errorResponse: @Sendable (HTTPResponse.Status) -> Response

    /// - Parameter errorResponse: the gateway's own error body for an injected 5xx.
    public init(faults: FaultInjector, errorResponse: @escaping @Sendable (HTTPResponse.Status) -> Response) {
        self.faults = faults
        self.errorResponse = errorResponse
    }

    /// Thrown after the connection was closed on purpose; nothing is sent.
    struct ConnectionDropped: Error {}

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path
        guard !path.hasPrefix("/_sandbox"),
            let rule = faults.take(method: request.method.rawValue, path: path)
        else {
            return try await next(request, context)
        }
        switch rule.kind {
        case .latency:
            try await Task.sleep(for: .milliseconds(rule.latencyMilliseconds ?? 0))
            return try await next(request, context)
        case .error:
            return errorResponse(HTTPResponse.Status(code: rule.status ?? 500))
        case .dropBeforeProcessing:
            try await context.channel.close()
            throw ConnectionDropped()
        case .dropAfterCommit:
            _ = try await next(request, context)
            try await context.channel.close()
            throw ConnectionDropped()
        }
    }
}
