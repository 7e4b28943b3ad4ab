import ServiceLifecycle

extension TillServer {
    /// Delivers merchant webhooks from the outbox.
    func outboxWorkers() -> [any Service] { [] }
}
