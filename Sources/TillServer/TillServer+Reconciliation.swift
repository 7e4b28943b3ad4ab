import Logging
import TillCore
import ServiceLifecycle
import TillPayments

extension TillServer {
    /// Resolves pending and unknown transactions through the gateways.
    func reconciliationWorkers(interval: Duration) -> [any Service] {
        var logger = logger
        logger[metadataKey: "component"] = "reconciler"
        return [Reconciler(engine: engine, interval: interval, logger: logger)]
    }

    /// Runs one reconciliation round now (tests, and operators through the library).
    public func reconcileNow() async -> PaymentEngine.ReconciliationSummary {
        await engine.reconcileInFlight()
    }
}
