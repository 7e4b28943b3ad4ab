import Foundation
import PayPalGateway
import PayPalSandbox
import SandboxSupport
import TillCore
import TillGateway
import TillTesting
import Testing

@Suite("PayPal gateway stored-credential flags")
struct PayPalInitiatorTests {
    @Test(
        "each initiator reaches PayPal as stored_credential (the sandbox records what it was told)",
        arguments: ChargeInitiator.allCases)
    func flags(initiator: ChargeInitiator) async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        var request = Harness.authorizeRequest()
        request.initiator = initiator
        let result = try #require(await harness.gateway.authorize(request).value)
        #expect(result.state == .authorized)
        let entries = harness.sandbox.environment.ledger.all.filter { $0.payment == result.gatewayPaymentReference }
        #expect(entries.map(\.initiator) == [initiator.rawValue])
    }

    @Test("a merchant-initiated charge on a card that needs 3-D Secure is declined, not sent to a challenge")
    func merchantInitiatedChallenge() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let threeDS = TestCards.number(for: .requiresAuthentication)
        var present = Harness.authorizeRequest(card: threeDS)
        present.initiator = .customerSavingCard
        guard case .requiresAction? = await harness.gateway.authorize(present).value?.state else {
            Issue.record("a customer-present charge should be challenged")
            return
        }
        var renewal = Harness.authorizeRequest(card: threeDS)
        renewal.initiator = .merchant
        guard case .declined(let decline) = await harness.gateway.authorize(renewal) else {
            Issue.record("expected a decline")
            return
        }
        #expect(decline.code == .authenticationRequired)
        #expect(decline.gatewayDeclineCode == "5650")
    }
}
