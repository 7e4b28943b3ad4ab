import Foundation
import Hummingbird
import Logging
import TillCore
import TillGateway
import TillStore

/// The checkout daemon: its HTTP API and the workers beside it.
public final class TillServer: Sendable {
    public let store: Store
    public let engine: PaymentEngine
    let idempotency: IdempotencyGuard
    let logger: Logger
    let now: @Sendable () -> Date

    public init(
        store: Store, cards: any CardSource, gateways: [String: any PaymentGateway], router: GatewayRouter,
        logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.engine = PaymentEngine(store: store, cards: cards, gateways: gateways, router: router, now: now, logger: logger)
        self.idempotency = IdempotencyGuard(store: store, now: now)
        self.logger = logger
        self.now = now
    }

    /// The API's routes: `/v1/…` behind API-key authentication, every answer in the one
    /// error shape with a `Request-Id`.
    public func makeRouter() -> Router<TillRequestContext> {
        let router = Router(context: TillRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        let v1 = router.group("v1")
            .add(middleware: AuthenticationMiddleware(store: store) { [logger] reason, request in
                logger.notice("authentication failed", metadata: ["reason": "\(reason)", "path": "\(request.uri.path)"])
            })
        addPaymentRoutes(to: v1)
        return router
    }
}
