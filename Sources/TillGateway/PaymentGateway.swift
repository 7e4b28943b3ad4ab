/// A payment gateway as Till's engine sees it: one protocol, one plugin per gateway.
///
/// Every method returns a ``GatewayOutcome`` instead of throwing, because each of its four
/// classes leads somewhere different (record, decline, fail over, reconcile). Adapters
/// speak HTTP only through TillHTTP, carry ``TransactionReference/idempotencyKey`` on
/// every mutating call, and never guess: when in doubt the outcome is ``GatewayOutcome/unknown(_:)``.
public protocol PaymentGateway: Sendable {
    /// The instance's name from configuration (`stripe`, `stripe-eu`).
    var name: String { get }
    /// The plugin that implements it (`stripe`, `paypal`).
    var plugin: String { get }
    var capabilities: GatewayCapabilities { get }

    func authorize(_ request: AuthorizeRequest) async -> GatewayOutcome<AuthorizationResult>
    func capture(_ request: CaptureRequest) async -> GatewayOutcome<CaptureResult>
    func void(_ request: VoidRequest) async -> GatewayOutcome<VoidResult>
    func refund(_ request: RefundRequest) async -> GatewayOutcome<RefundResult>
    /// Finds one of our transactions by our own reference, for reconciliation.
    func status(_ lookup: StatusLookup) async -> GatewayOutcome<StatusReport>
    func submitDisputeEvidence(_ request: DisputeEvidenceRequest) async -> GatewayOutcome<DisputeResult>
    func acceptDispute(_ request: DisputeAcceptRequest) async -> GatewayOutcome<DisputeResult>

    /// Verifies the webhook's signature with this instance's secret, then maps it to a
    /// domain event. Fails closed. Asynchronous because a verification may need the
    /// network (PayPal's signing certificate is fetched from the URL the webhook names).
    func parseWebhook(_ request: WebhookRequest) async throws(WebhookError) -> GatewayEvent

    /// Reads the object a parsed event is about from the gateway's API and rebuilds the
    /// event from that answer. Required, with no default: a plugin that could not confirm
    /// would let a verified but forged body move money. ``GatewayEvent/Kind/ignored(type:)``
    /// events are never passed here.
    func confirm(_ event: GatewayEvent) async -> WebhookConfirmation
}
