import Foundation
import Synchronization
import TillCore
import TillGateway

/// A gateway whose authorize outcomes are scripted, for the router's unit tests (the real
/// failover runs against the sandboxes in the contract kit).
final class ScriptedGateway: PaymentGateway {
    let name: String
    let plugin = "scripted"
    let capabilities: GatewayCapabilities
    private let script: Mutex<[GatewayOutcome<AuthorizationResult>]>
    private let calls = Mutex(0)

    init(name: String, capabilities: GatewayCapabilities = .init(), outcomes: [GatewayOutcome<AuthorizationResult>]) {
        self.name = name
        self.capabilities = capabilities
        self.script = Mutex(outcomes)
    }

    var callCount: Int { calls.withLock { $0 } }

    static func approved(_ amount: Money) -> GatewayOutcome<AuthorizationResult> {
        .succeeded(AuthorizationResult(gatewayPaymentReference: "gp_1", state: .authorized, amount: amount))
    }

    func authorize(_ request: AuthorizeRequest) async -> GatewayOutcome<AuthorizationResult> {
        calls.withLock { $0 += 1 }
        return script.withLock { $0.isEmpty ? .unknown(GatewayFailure(message: "script exhausted")) : $0.removeFirst() }
    }

    func capture(_ request: CaptureRequest) async -> GatewayOutcome<CaptureResult> { .unknown(.init(message: "unused")) }
    func void(_ request: VoidRequest) async -> GatewayOutcome<VoidResult> { .unknown(.init(message: "unused")) }
    func refund(_ request: RefundRequest) async -> GatewayOutcome<RefundResult> { .unknown(.init(message: "unused")) }
    func status(_ lookup: StatusLookup) async -> GatewayOutcome<StatusReport> { .unknown(.init(message: "unused")) }
    func submitDisputeEvidence(_ request: DisputeEvidenceRequest) async -> GatewayOutcome<DisputeResult> {
        .unknown(.init(message: "unused"))
    }
    func acceptDispute(_ request: DisputeAcceptRequest) async -> GatewayOutcome<DisputeResult> {
        .unknown(.init(message: "unused"))
    }
    func parseWebhook(_ request: WebhookRequest) async throws(WebhookError) -> GatewayEvent {
        guard request.header("x-test-signature") == "ok" else { throw WebhookError(.signatureMismatch, "bad") }
        let id = String(decoding: request.body, as: UTF8.self)
        return GatewayEvent(id: id, type: "test", payment: .init(), kind: .ignored(type: "test"), occurredAt: request.receivedAt)
    }

    func confirm(_ event: GatewayEvent) async -> WebhookConfirmation { .confirmed(event) }
}
