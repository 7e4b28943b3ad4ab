import Logging

/// What every sandbox gateway keeps beside its own objects: the ledger of money movements,
/// fault rules, idempotency records, its clock, and its webhook dispatcher.
public final class SandboxEnvironment: Sendable {
    public let ledger = Ledger()
    public let faults = FaultInjector()
    public let idempotency = IdempotencyStore()
    public let clock = SandboxClock()
    public let webhooks: WebhookDispatcher
    public let logger: Logger

    public init(
        webhookEndpoints: [String] = [], webhookRetry: WebhookDispatcher.RetryPolicy = .init(), logger: Logger
    ) throws {
        self.webhooks = try WebhookDispatcher(endpoints: webhookEndpoints, retryPolicy: webhookRetry, logger: logger)
        self.logger = logger
    }

    /// Forgets everything but the webhook endpoints.
    public func reset() {
        ledger.reset()
        faults.clear()
        idempotency.reset()
        clock.reset()
        webhooks.reset()
    }
}
