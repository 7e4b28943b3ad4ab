import Foundation
import Synchronization
import TillCore
import TillCrypto
import TillGateway
import Testing

/// Counts calls that reach the gateway; every operation succeeds.
private final class CountingGateway: PaymentGateway {
    let name = "counting"
    let plugin = "counting"
    let capabilities: GatewayCapabilities
    let calls = Mutex(0)

    init(capabilities: GatewayCapabilities) { self.capabilities = capabilities }

    private func count() { calls.withLock { $0 += 1 } }

    func authorize(_ request: AuthorizeRequest) async -> GatewayOutcome<AuthorizationResult> {
        count()
        return .succeeded(.init(gatewayPaymentReference: "gp", state: .authorized, amount: request.amount))
    }
    func capture(_ request: CaptureRequest) async -> GatewayOutcome<CaptureResult> {
        count()
        return .succeeded(.init(captureReference: "cap", amount: request.amount))
    }
    func void(_ request: VoidRequest) async -> GatewayOutcome<VoidResult> {
        count()
        return .succeeded(.init(gatewayReference: "v"))
    }
    func refund(_ request: RefundRequest) async -> GatewayOutcome<RefundResult> {
        count()
        return .succeeded(.init(refundReference: "re", amount: request.amount, state: .succeeded))
    }
    func status(_ lookup: StatusLookup) async -> GatewayOutcome<StatusReport> { .succeeded(.notFound) }
    func submitDisputeEvidence(_ request: DisputeEvidenceRequest) async -> GatewayOutcome<DisputeResult> {
        count()
        return .succeeded(.init(disputeReference: request.disputeReference, status: .underReview))
    }
    func acceptDispute(_ request: DisputeAcceptRequest) async -> GatewayOutcome<DisputeResult> {
        count()
        return .succeeded(.init(disputeReference: request.disputeReference, status: .accepted))
    }
    func parseWebhook(_ request: WebhookRequest) async throws(WebhookError) -> GatewayEvent {
        throw WebhookError(.noSecretConfigured, "none")
    }

    func confirm(_ event: GatewayEvent) async -> WebhookConfirmation { .unavailable("not a gateway") }
}

private let at = Date(timeIntervalSince1970: 1_800_000_000)

private func reference(_ transaction: String) -> TransactionReference {
    TransactionReference(paymentID: "pay_1", transactionID: transaction, idempotencyKey: "pay_1-\(transaction)")
}

/// A payment of USD 10.00, authorized, with a pending capture of `captureAmount` written
/// before the call.
private func authorizedPayment(pendingCapture captureAmount: Int64) throws -> (Payment, Transaction) {
    var payment = try Payment(id: "pay_1", amount: Money(minorUnits: 1_000, currency: .usd), authorizationID: "txn_a", at: at)
    _ = try payment.resolve(transaction: "txn_a", outcome: .succeeded(gatewayReference: "gp"), at: at)
    let capture = try payment.beginCapture(
        transactionID: "txn_c1", amount: Money(minorUnits: captureAmount, currency: .usd), at: at)
    return (payment, capture)
}

@Suite("Operations a gateway cannot do are refused before any call")
struct CheckedOperationsTests {
    @Test("a partial capture on a gateway without partial capture makes no call")
    func partialCapture() async throws {
        let gateway = CountingGateway(capabilities: .init(partialCapture: false))
        let (payment, capture) = try authorizedPayment(pendingCapture: 600)
        let outcome = await gateway.checkedCapture(
            CaptureRequest(reference: reference(capture.id), gatewayPaymentReference: "gp", amount: capture.amount), of: payment)
        guard case .declined(let decline) = outcome else {
            Issue.record("expected a refusal, got \(outcome)")
            return
        }
        #expect(decline.code == .unsupported)
        #expect(gateway.calls.withLock { $0 } == 0)
    }

    @Test("the pending capture being made is not counted as an earlier one")
    func firstCaptureGoesThrough() async throws {
        let gateway = CountingGateway(capabilities: .init(multipleCaptures: false))
        let (payment, capture) = try authorizedPayment(pendingCapture: 1_000)
        let outcome = await gateway.checkedCapture(
            CaptureRequest(reference: reference(capture.id), gatewayPaymentReference: "gp", amount: capture.amount), of: payment)
        guard case .succeeded = outcome else {
            Issue.record("expected the call, got \(outcome)")
            return
        }
        #expect(gateway.calls.withLock { $0 } == 1)
    }

    @Test("void, disputes and currencies follow the capabilities")
    func others() async throws {
        let gateway = CountingGateway(capabilities: .init(void: false, disputes: false, currencies: [.eur]))
        guard case .declined = await gateway.checkedVoid(VoidRequest(reference: reference("txn_v"), gatewayPaymentReference: "gp")),
            case .declined = await gateway.checkedAcceptDispute(DisputeAcceptRequest(disputeReference: "dp", idempotencyKey: "k")),
            case .declined = await gateway.checkedSubmitDisputeEvidence(
                DisputeEvidenceRequest(disputeReference: "dp", evidence: .init(), idempotencyKey: "k")),
            case .declined = await gateway.checkedAuthorize(
                AuthorizeRequest(
                    reference: reference("txn_a"), amount: Money(minorUnits: 100, currency: .usd),
                    card: CardDetails(number: SecureBytes(Array("4242424242424242".utf8)), expiryMonth: 1, expiryYear: 2040)))
        else {
            Issue.record("every unsupported operation should be refused")
            return
        }
        #expect(gateway.calls.withLock { $0 } == 0)
    }
}
