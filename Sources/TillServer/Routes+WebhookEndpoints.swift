import Hummingbird

extension TillServer {
    /// `/v1/webhook_endpoints`.
    func addWebhookEndpointRoutes(to v1: RouterGroup<TillRequestContext>) {}
}
