import Hummingbird

extension TillServer {
    /// `GET /v1/events[/{id}]`.
    func addEventRoutes(to v1: RouterGroup<TillRequestContext>) {}
}
