import Foundation
import HTTPTypes
import Hummingbird
import TillCore
import TillCrypto
import TillVault

extension TillServer {
    /// `POST /v1/tokens`: a card becomes a token. Publishable keys may call it (browsers and
    /// apps send cards straight here, so the merchant's servers never see a number).
    func addTokenRoutes(to v1: RouterGroup<TillRequestContext>) {
        v1.post("tokens") { request, context in
            let caller = try context.requireCaller()
            let bytes = try await Self.body(request, context)
            return try await self.idempotency.run(request: request, body: bytes, caller: caller) {
                let body = try RequestBody(bytes, allowed: ["card"], cardNumberFields: ["card.number"])
                guard let fields = try body.object("card") else { throw APIError.missing("card") }
                let card = try RequestBody(fields: fields, allowed: ["number", "exp_month", "exp_year", "cvc", "name"], prefix: "card")
                guard let month = try card.integer("exp_month") else { throw APIError.missing("card.exp_month") }
                guard let year = try card.integer("exp_year") else { throw APIError.missing("card.exp_year") }
                guard let monthValue = Int(exactly: month), let yearValue = Int(exactly: year) else {
                    throw APIError.invalid("card.exp_month and card.exp_year must be small integers", param: "card.exp_year")
                }
                let input = CardInput(
                    number: SecureBytes(Array(try card.requiredString("number").utf8)), expMonth: monthValue, expYear: yearValue,
                    cvc: try card.string("cvc").map { SecureBytes(Array($0.utf8)) }, holderName: try card.string("name"))
                let token: CardToken
                do {
                    token = try await self.vault.tokenize(input, merchant: caller.merchantID)
                } catch let error as VaultError {
                    throw APIError.vault(error)
                }
                return APIResponse(.created, Self.tokenJSON(token))
            }
        }
    }

    static func tokenJSON(_ token: CardToken) -> JSONValue {
        .object([
            "id": .string(token.id),
            "object": .string("token"),
            "card": .object([
                "brand": .string(token.brand.rawValue),
                "last4": .string(token.last4),
                "exp_month": .int(Int64(token.expiry.month)),
                "exp_year": .int(Int64(token.expiry.year)),
                "fingerprint": .string(token.fingerprint),
            ]),
            "created_at": .date(token.created),
        ])
    }
}

extension APIError {
    /// The vault's refusals: bad card data is the caller's to fix (400, naming the field);
    /// anything else is ours (500, without details).
    static func vault(_ error: VaultError) -> APIError {
        if let validation = error.validation {
            return APIError(
                .badRequest, .invalidRequest, code: validation.code.rawValue, validation.message,
                param: "card.\(validation.param)")
        }
        switch error.code {
        case .invalidHolderName:
            return APIError.invalid(error.message, param: "card.name")
        case .tokenNotFound:
            return APIError(.badRequest, .invalidRequest, code: "token_invalid", "no such token", param: "token")
        default:
            return APIError(.internalServerError, .api, code: "vault_unavailable", "the card vault could not complete the request")
        }
    }
}
