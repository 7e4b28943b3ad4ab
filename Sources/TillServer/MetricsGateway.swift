import TillCore
import TillGateway

/// A gateway that counts and times every call of the one it wraps, by operation and
/// outcome class, and otherwise changes nothing.
struct MeteredGateway: PaymentGateway {
    let base: any PaymentGateway
    let metrics: TillMetrics

    var name: String { base.name }
    var plugin: String { base.plugin }
    var capabilities: GatewayCapabilities { base.capabilities }

    func authorize(_ request: AuthorizeRequest) async -> GatewayOutcome<AuthorizationResult> {
        await measure("authorize") { await base.authorize(request) }
    }

    func capture(_ request: CaptureRequest) async -> GatewayOutcome<CaptureResult> {
        await measure("capture") { await base.capture(request) }
    }

    func void(_ request: VoidRequest) async -> GatewayOutcome<VoidResult> {
        await measure("void") { await base.void(request) }
    }

    func refund(_ request: RefundRequest) async -> GatewayOutcome<RefundResult> {
        await measure("refund") { await base.refund(request) }
    }

    func status(_ lookup: StatusLookup) async -> GatewayOutcome<StatusReport> {
        await measure("status") { await base.status(lookup) }
    }

    func submitDisputeEvidence(_ request: DisputeEvidenceRequest) async -> GatewayOutcome<DisputeResult> {
        await measure("dispute_evidence") { await base.submitDisputeEvidence(request) }
    }

    func acceptDispute(_ request: DisputeAcceptRequest) async -> GatewayOutcome<DisputeResult> {
        await measure("dispute_accept") { await base.acceptDispute(request) }
    }

    func parseWebhook(_ request: WebhookRequest) async throws(WebhookError) -> GatewayEvent {
        try await base.parseWebhook(request)
    }

    func confirm(_ event: GatewayEvent) async -> WebhookConfirmation {
        let started = ContinuousClock.now
        let confirmation = await base.confirm(event)
        let outcomeClass =
            switch confirmation {
            case .confirmed: "confirmed"
            case .refuted: "refuted"
            case .unavailable: "unavailable"
            }
        metrics.recordGatewayCall(
            gateway: base.name, operation: "webhook_confirm", outcome: outcomeClass, duration: ContinuousClock.now - started)
        return confirmation
    }

    private func measure<T: Sendable>(
        _ operation: String, _ call: () async -> GatewayOutcome<T>
    ) async -> GatewayOutcome<T> {
        let started = ContinuousClock.now
        let outcome = await call()
        let outcomeClass =
            switch outcome {
            case .succeeded: "succeeded"
            case .declined: "declined"
            case .notProcessed: "not_processed"
            case .unknown: "unknown"
            }
        metrics.recordGatewayCall(
            gateway: base.name, operation: operation, outcome: outcomeClass, duration: ContinuousClock.now - started)
        return outcome
    }
}

extension TillMetrics {
    /// Wraps each gateway so its calls are counted; names and capabilities stay the same.
    public func instrument(_ gateways: [String: any PaymentGateway]) -> [String: any PaymentGateway] {
        gateways.mapValues { MeteredGateway(base: $0, metrics: self) }
    }
}
