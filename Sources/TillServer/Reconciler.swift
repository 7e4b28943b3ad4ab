import Logging
import ServiceLifecycle

/// Resolves `pending` and `unknown` transactions through the gateways' status lookups: once
/// at start-up (a crash may have left some behind) and then every `interval`.
struct Reconciler: Service {
    let engine: PaymentEngine
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let summary = await engine.reconcileInFlight()
                if summary.examined > 0 {
                    logger.info(
                        "reconciliation round",
                        metadata: [
                            "examined": "\(summary.examined)", "resolved": "\(summary.resolved)",
                            "deferred": "\(summary.deferred)",
                        ])
                }
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
            }
        }
    }
}

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
