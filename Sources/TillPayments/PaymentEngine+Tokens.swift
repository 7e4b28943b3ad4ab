import TillCore
import TillGateway

extension PaymentEngine {
    /// Whether `token` is a card of `merchantID`'s vault: billing saves tokens for later
    /// charges and must refuse one that would only fail months later.
    public func hasCard(token: String, merchantID: String) async throws(PaymentError) -> Bool {
        try await typed { try await cards.brand(token: token, merchantID: merchantID) != nil }
    }
}

extension PaymentEngine.NewPayment {
    /// A payment captured as soon as it is authorized, routed by the engine: what billing
    /// makes to collect an invoice, without having to know gateways' capture modes.
    public static func immediateCharge(
        amount: Money, token: String, description: String?, metadata: [String: String], initiator: ChargeInitiator,
        idempotencyKey: String
    ) -> Self {
        Self(
            amount: amount, token: token, captureMode: .automatic, description: description, metadata: metadata,
            initiator: initiator, idempotencyKey: idempotencyKey)
    }
}
