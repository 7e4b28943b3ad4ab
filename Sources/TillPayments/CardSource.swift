import TillCore
import TillGateway

/// Where the engine gets cards from: the vault. A seam so the engine does not know how
/// cards are stored.
public protocol CardSource: Sendable {
    /// The card's brand for routing (`visa`), or `nil` when `token` is not the merchant's.
    func brand(token: String, merchantID: String) async throws -> String?
    /// The card for one gateway request: detokenized (and audited) only now, with the CVC
    /// if the vault still holds it (it is taken, so used once).
    func card(token: String, merchantID: String, purpose: String) async throws -> CardDetails
}
