import Foundation
import SandboxSupport
import StripeGateway
import Testing
import TillCore
import TillGateway
import TillTesting

@Suite("StripeGateway stored-credential flags")
struct StripeInitiatorTests {
    static let threeDS = TestCards.number(for: .requiresAuthentication)

    @Test(
        "each initiator reaches Stripe as its flags (the sandbox records what it was told)",
        arguments: ChargeInitiator.allCases)
    func flags(initiator: ChargeInitiator) async throws {
        try await StripeGatewayHarness.with { h in
            var request = Fixtures.authorize()
            request.initiator = initiator
            let result = try #require(await h.gateway.authorize(request).value)
            #expect(result.state == .authorized)
            #expect(h.ledger.map(\.initiator) == [initiator.rawValue])
        }
    }

    @Test("a merchant-initiated charge on a card that needs 3-D Secure declines with authentication_required")
    func offSessionChallenge() async throws {
        try await StripeGatewayHarness.with { h in
            var saving = Fixtures.authorize(Self.threeDS)
            saving.initiator = .customerSavingCard
            guard case .requiresAction? = await h.gateway.authorize(saving).value?.state else {
                Issue.record("a customer-present charge should be challenged")
                return
            }
            var renewal = Fixtures.authorize(Self.threeDS)
            renewal.initiator = .merchant
            guard case .declined(let decline) = await h.gateway.authorize(renewal) else {
                Issue.record("expected a decline")
                return
            }
            #expect(decline.code == .authenticationRequired)
            #expect(decline.gatewayCode == "authentication_required")
            #expect(decline.gatewayDeclineCode == "authentication_required")
            #expect(h.ledger.isEmpty)
        }
    }
}
