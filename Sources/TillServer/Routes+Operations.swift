import Hummingbird

extension TillServer {
    /// `/healthz`, `/readyz`, `/metrics`, `/openapi.json`.
    func addOperationsRoutes(to router: Router<TillRequestContext>) {}
}
