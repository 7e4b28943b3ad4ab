import Foundation
import Hummingbird
import Logging
import TillCore
import TillGateway
import TillStore
import TillVault

/// The checkout daemon: its HTTP API and the workers beside it.
public final class TillServer: Sendable {
    public let store: Store
    public let vault: Vault
    public let engine: PaymentEngine
    public let gateways: [String: any PaymentGateway]
    /// Request, gateway and outbox metrics, served at `/metrics`.
    public let metrics: TillMetrics
    let idempotency: IdempotencyGuard
    let logger: Logger
    let now: @Sendable () -> Date

    public init(
        store: Store, vault: Vault, gateways: [String: any PaymentGateway], router: GatewayRouter, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }, metrics: TillMetrics = TillMetrics()
    ) {
        self.metrics = metrics
        self.store = store
        self.vault = vault
        self.gateways = gateways
        self.engine = PaymentEngine(
            store: store, cards: VaultCardSource(vault: vault), gateways: gateways, router: router, now: now, logger: logger)
        self.idempotency = IdempotencyGuard(store: store, now: now) { bytes in try await vault.requestDigest(bytes) }
        self.logger = logger
        self.now = now
    }

    /// The API's routes: `/v1/…` behind API-key authentication, every answer in the one
    /// error shape with a `Request-Id`.
    public func makeRouter() -> Router<TillRequestContext> {
        let router = Router(context: TillRequestContext.self)
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ErrorMiddleware())
        addOperationsRoutes(to: router)
        // Gateways authenticate their webhooks with signatures, not API keys.
        addGatewayWebhookRoutes(to: router.group("v1/gateways"))
        let v1 = router.group("v1")
            .add(middleware: AuthenticationMiddleware(store: store) { [logger] reason, request in
                logger.notice("authentication failed", metadata: ["reason": "\(reason)", "path": "\(request.uri.path)"])
            })
        addTokenRoutes(to: v1)
        addPaymentRoutes(to: v1)
        addDisputeRoutes(to: v1)
        addEventRoutes(to: v1)
        addWebhookEndpointRoutes(to: v1)
        return router
    }
}
