import Hummingbird

extension TillServer {
    /// `/v1/disputes`.
    func addDisputeRoutes(to v1: RouterGroup<TillRequestContext>) {}
}
