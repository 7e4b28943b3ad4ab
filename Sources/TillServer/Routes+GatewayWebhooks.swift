import Hummingbird

extension TillServer {
    /// `POST /v1/gateways/{name}/webhooks`.
    func addGatewayWebhookRoutes(to group: RouterGroup<TillRequestContext>) {}
}
