import ServiceLifecycle

extension TillServer {
    /// Resolves pending and unknown transactions through the gateways.
    func reconciliationWorkers(interval: Duration) -> [any Service] { [] }
}
