import Foundation
import Hummingbird
import Logging
import TillCrypto
import TillStore

/// Turns `Authorization: Bearer sk_…|pk_…` into the caller's merchant, or refuses with 401.
/// Keys are looked up by their SHA-256 hash; the key itself is never stored.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = TillRequestContext
    let store: Store
    let onFailure: @Sendable (_ reason: String, _ request: Request) async -> Void

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            await onFailure("missing bearer token", request)
            throw APIError.unauthorized
        }
        let key = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        guard key.hasPrefix("sk_") || key.hasPrefix("pk_"),
            let record = try await store.apiKey(hash: APIKeys.hash(key))
        else {
            await onFailure("unknown or revoked key", request)
            throw APIError.unauthorized
        }
        var context = context
        context.caller = Caller(merchantID: record.merchantId, keyKind: record.kind)
        context.logger[metadataKey: "merchant"] = .string(record.merchantId)
        return try await next(request, context)
    }
}

/// Making and hashing API keys.
public enum APIKeys {
    /// A new key: `sk_test_…` or `pk_test_…` with 192 random bits.
    public static func generate(_ kind: APIKeyRecord.Kind, live: Bool = false) -> String {
        let prefix = (kind == .secret ? "sk_" : "pk_") + (live ? "live" : "test")
        return Identifiers.make(prefix, bytes: 24)
    }

    public static func hash(_ key: String) -> String {
        SHA256.hash(data: Array(key.utf8)).hexString
    }

    /// What lists show of a key: its first 12 characters.
    public static func displayPrefix(_ key: String) -> String { String(key.prefix(12)) + "…" }
}
