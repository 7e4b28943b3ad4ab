import Foundation
import TillPayments
import Hummingbird
import Logging
import TillCore
import TillAudit
import TillBillingEngine
import TillGateway
import TillMail
import TillStore
import TillVault

/// The checkout daemon: its HTTP API and the workers beside it.
public final class TillServer: Sendable {
    public let store: Store
    public let vault: Vault
    public let engine: PaymentEngine
    /// Billing: catalog, subscriptions, invoices, credit notes, on top of ``engine``.
    public let billing: BillingEngine
    public let gateways: [String: any PaymentGateway]
    /// Request, gateway and outbox metrics, served at `/metrics`.
    public let metrics: TillMetrics
    public let audit: AuditTrail
    /// Where merchant webhooks may go; registration and every delivery ask it.
    public let webhookDestinations: WebhookDestinations
    let idempotency: IdempotencyGuard
    let authThrottle: AuthenticationThrottle
    /// The largest payment amount per currency.
    public let amountLimits: AmountLimits
    let logger: Logger
    let now: @Sendable () -> Date
    /// The sandbox's in-memory mailbox, whose messages the API shows; `nil` when mail goes
    /// out through SMTP (or nowhere).
    public let mailbox: MailboxTransport?

    public init(
        store: Store, vault: Vault, gateways: [String: any PaymentGateway], router: GatewayRouter, logger: Logger,
        audit: AuditTrail? = nil,
        now: @escaping @Sendable () -> Date = { Date() }, metrics: TillMetrics = TillMetrics(),
        authFailureLimit: AuthenticationThrottle.Limit = .standard,
        webhookPolicy: WebhookURLPolicy = WebhookURLPolicy(),
        amountLimits: AmountLimits = AmountLimits(), testClocks: Bool = false,
        mail: (transport: any MailTransport, from: EmailAddress)? = nil
    ) {
        self.mailbox = mail?.transport as? MailboxTransport
        self.authThrottle = AuthenticationThrottle(limit: authFailureLimit)
        self.webhookDestinations = WebhookDestinations(webhookPolicy)
        self.amountLimits = amountLimits
        self.metrics = metrics
        self.store = store
        self.vault = vault
        self.gateways = gateways
        let audit = audit ?? AuditTrail(log: nil, logger: logger)
        self.audit = audit
        self.engine = PaymentEngine(
            store: store, cards: VaultCardSource(vault: vault), gateways: gateways, router: router, audit: audit, now: now,
            logger: logger)
        self.billing = BillingEngine(
            store: store, payments: engine, audit: audit, now: now, logger: logger, testClocksEnabled: testClocks,
            mailer: mail.map { mail in
                DaemonMailer(transport: mail.transport, from: mail.from, merchants: store, compose: { try BillingMessages.compose($0, invoice: $1, creditNote: $2, customer: $3, merchantName: $4) }, now: now)
            })
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
            .add(middleware: AuthenticationMiddleware(store: store, throttle: authThrottle) { [audit] reason, request, context in
                // The path is the caller's text: the audit trail masks anything in it that
                // looks like a card number or a key (decoded first, so `%20` separators do not
                // hide one), and the service log gets only the reason.
                context.logger.notice(
                    "authentication failed", metadata: ["reason": "\(reason.rawValue)", "peer": "\(context.peer)"])
                await audit.record(
                    actor: context.caller.map { "merchant:\($0.merchantID)" } ?? "anonymous", action: .authenticationFailure,
                    subject: request.uri.path.removingPercentEncoding ?? request.uri.path, result: .denied, origin: "api",
                    details: ["reason": reason.rawValue, "method": request.method.rawValue, "peer": context.peer])
            })
        addTokenRoutes(to: v1)
        addPaymentRoutes(to: v1)
        addDisputeRoutes(to: v1)
        addEventRoutes(to: v1)
        addWebhookEndpointRoutes(to: v1)
        addBillingRoutes(to: v1)
        return router
    }
}
