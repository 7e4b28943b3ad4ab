import Foundation
import TillPayments
import Hummingbird
import Logging
import Synchronization
import TillCrypto
import TillStore

/// Why a request was not let in, as the audit log and the service log name it. Fixed
/// codes, never the offending value: a path or header from outside can hold a key.
enum AuthenticationFailure: String, Sendable {
    /// No `Authorization` header at all.
    case missingCredentials = "missing_credentials"
    /// An `Authorization` header that is not `Bearer <key>`.
    case malformedAuthorization = "malformed_authorization"
    /// A bearer key Till does not know, or one that was revoked.
    case unknownKey = "unknown_or_revoked_key"
    /// A publishable key on a route that needs a secret key (a 403, not a 401).
    case secretKeyRequired = "secret_key_required"
    /// Too many failures from this address: refused before the key is looked at.
    case rateLimited = "rate_limited"
}

/// Turns `Authorization: Bearer sk_…|pk_…` into the caller's merchant, or refuses with 401.
/// Keys are looked up by their SHA-256 hash; the key itself is never stored.
///
/// Every refusal is reported to `onFailure` (which audits it): a missing or malformed
/// header, an unknown key, a publishable key where a secret one is needed (the routes throw
/// that 403; it passes back through here), and a 429 from `throttle`. While an address is
/// throttled, even a valid key from it is refused, so the throttle cannot be used to tell
/// valid keys from invalid ones.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = TillRequestContext
    let store: Store
    let throttle: AuthenticationThrottle
    let onFailure: @Sendable (_ reason: AuthenticationFailure, _ request: Request, _ context: Context) async -> Void

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let peer = context.peer
        if let retryAfter = throttle.retryAfter(for: peer) {
            await onFailure(.rateLimited, request, context)
            var response = APIError(
                .tooManyRequests, .authentication, code: "rate_limited",
                "too many failed authentications from this address; retry after \(retryAfter) s"
            ).response()
            response.headers[.retryAfter] = String(retryAfter)
            return response
        }
        guard let header = request.headers[.authorization] else {
            return try await refuse(.missingCredentials, request, context)
        }
        guard header.hasPrefix("Bearer ") else { return try await refuse(.malformedAuthorization, request, context) }
        let key = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        guard key.hasPrefix("sk_") || key.hasPrefix("pk_"),
            let record = try await store.apiKey(hash: APIKeys.hash(key))
        else {
            return try await refuse(.unknownKey, request, context)
        }
        var context = context
        context.caller = Caller(merchantID: record.merchantId, keyKind: record.kind)
        context.logger[metadataKey: "merchant"] = .string(record.merchantId)
        do {
            return try await next(request, context)
        } catch let error as APIError where error.code == AuthenticationFailure.secretKeyRequired.rawValue {
            throttle.recordFailure(for: peer)
            await onFailure(.secretKeyRequired, request, context)
            throw error
        }
    }

    private func refuse(_ reason: AuthenticationFailure, _ request: Request, _ context: Context) async throws -> Response {
        throttle.recordFailure(for: context.peer)
        await onFailure(reason, request, context)
        throw APIError.unauthorized
    }
}

/// Slows down guessing: each address has a bucket of `burst` failed authentications that
/// refills at `refillPerMinute`; an address with an empty bucket gets 429 with
/// `Retry-After` until a failure's worth has refilled. Successes cost nothing.
///
/// Memory is bounded: at most `maxTrackedAddresses` buckets are kept; when full, buckets that
/// have refilled completely are dropped first, then the oldest.
public final class AuthenticationThrottle: Sendable {
    /// How many failures an address may have in a burst, and how fast it earns them back.
    public struct Limit: Sendable, Hashable {
        public var burst: Int
        public var refillPerMinute: Double
        public var maxTrackedAddresses: Int

        /// 20 failures at once, then one every 6 seconds: no merchant with a working key
        /// gets near it, and a scanner is slowed to 10 guesses a minute per address.
        public static let standard = Limit(burst: 20, refillPerMinute: 10)
        /// No throttling (tests that send many bad requests on purpose).
        public static let unlimited = Limit(burst: Int.max, refillPerMinute: 0)

        public init(burst: Int, refillPerMinute: Double, maxTrackedAddresses: Int = 10_000) {
            self.burst = burst
            self.refillPerMinute = refillPerMinute
            self.maxTrackedAddresses = maxTrackedAddresses
        }
    }

    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let limit: Limit
    private let clock = ContinuousClock()
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(limit: Limit) { self.limit = limit }

    /// Seconds to wait (at least 1) when `peer` may not try now; nil when it may.
    func retryAfter(for peer: String) -> Int? {
        guard limit.burst != Int.max else { return nil }
        let now = clock.now
        return buckets.withLock { buckets -> Int? in
            guard var bucket = buckets[peer] else { return nil }
            refill(&bucket, now: now)
            buckets[peer] = bucket
            guard bucket.tokens < 1 else { return nil }
            guard limit.refillPerMinute > 0 else { return 3600 }
            let seconds = (1 - bucket.tokens) * 60 / limit.refillPerMinute
            return max(1, Int(seconds.rounded(.up)))
        }
    }

    func recordFailure(for peer: String) {
        guard limit.burst != Int.max else { return }
        let now = clock.now
        buckets.withLock { buckets in
            var bucket = buckets[peer] ?? Bucket(tokens: Double(limit.burst), updated: now)
            refill(&bucket, now: now)
            bucket.tokens = max(0, bucket.tokens - 1)
            if buckets[peer] == nil, buckets.count >= limit.maxTrackedAddresses { evict(&buckets, now: now) }
            buckets[peer] = bucket
        }
    }

    private func refill(_ bucket: inout Bucket, now: ContinuousClock.Instant) {
        let elapsed = bucket.updated.duration(to: now)
        let minutes = Double(elapsed.components.seconds) / 60 + Double(elapsed.components.attoseconds) / 6e19
        bucket.tokens = min(Double(limit.burst), bucket.tokens + minutes * limit.refillPerMinute)
        bucket.updated = now
    }

    private func evict(_ buckets: inout [String: Bucket], now: ContinuousClock.Instant) {
        for (peer, var bucket) in buckets {
            refill(&bucket, now: now)
            if bucket.tokens >= Double(limit.burst) { buckets[peer] = nil }
        }
        if buckets.count >= limit.maxTrackedAddresses,
            let oldest = buckets.min(by: { $0.value.updated < $1.value.updated })?.key
        {
            buckets[oldest] = nil
        }
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
