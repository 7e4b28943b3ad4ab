import TillCore
import TillPayments
import TillCrypto
import TillGateway
import TillVault

/// The vault as the engine's card source.
struct VaultCardSource: CardSource {
    let vault: Vault

    func brand(token: String, merchantID: String) async throws -> String? {
        do {
            return try await vault.card(token: token, merchant: merchantID).brand.rawValue
        } catch where error.code == .tokenNotFound {
            return nil
        }
    }

    func card(token: String, merchantID: String, purpose: String) async throws -> CardDetails {
        let card = try await vault.detokenize(token: token, merchant: merchantID, purpose: .authorization)
        return CardDetails(
            number: card.number, expiryMonth: card.expiry.month, expiryYear: card.expiry.year, cvc: card.cvc,
            holderName: card.holderName)
    }
}
