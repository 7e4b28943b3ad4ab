import Foundation
import StripeGateway
import Testing
import TillCore
import TillGateway

@Suite("StripeGateway webhook confirmation")
struct StripeConfirmationTests {
    static let event = GatewayEvent(
        id: "evt_1", type: "charge.dispute.created", payment: PaymentLocator(gatewayPaymentReference: "pi_1"),
        kind: .disputeOpened(
            DisputeInfo(
                disputeReference: "du_1", stage: .chargeback, status: .needsResponse,
                amount: Money(minorUnits: 5000, currency: .usd), reason: "fraudulent")),
        occurredAt: StripeWebhookTests.now)

    @Test("a gateway that cannot be reached leaves the event unavailable, never confirmed")
    func unreachable() async throws {
        let (gateway, _) = try StripeWebhookTests.gateway()
        guard case .unavailable = await gateway.confirm(Self.event) else {
            Issue.record("expected unavailable")
            return
        }
    }

    @Test("an ignored event needs no confirmation")
    func ignored() async throws {
        let (gateway, _) = try StripeWebhookTests.gateway()
        var event = Self.event
        event.kind = .ignored(type: "customer.created")
        #expect(await gateway.confirm(event) == .confirmed(event))
    }
}
