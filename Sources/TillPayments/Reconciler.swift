public import Logging
public import ServiceLifecycle

/// Resolves `pending` and `unknown` transactions through the gateways' status lookups: once
/// at start-up (a crash may have left some behind) and then every `interval`.
public struct Reconciler: Service {
    let engine: PaymentEngine
    let interval: Duration
    let logger: Logger

    public init(engine: PaymentEngine, interval: Duration, logger: Logger) {
        self.engine = engine
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
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
