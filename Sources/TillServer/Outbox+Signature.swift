import Foundation
import TillCrypto

/// The `Till-Signature` header on every webhook Till sends to a merchant.
///
/// ## The scheme
///
/// ```
/// Till-Signature: t=1767225600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
/// ```
///
/// - `t` is the time of sending, in whole seconds since the Unix epoch.
/// - `v1` is the lowercase hex HMAC-SHA256 of the bytes `"<t>.<body>"` (the decimal `t`, a
///   full stop, then the request body exactly as received), keyed by the endpoint's whole
///   secret as UTF-8, `whsec_` prefix included.
///
/// Each attempt is signed afresh, so a retry carries a newer `t`. After
/// `POST /v1/webhook_endpoints/{id}/rotate_secret` the next deliveries are signed with the
/// new secret only. Receivers should skip unknown `key=value` pairs so that later schemes
/// (`v2=`) can be added beside `v1`.
///
/// ## Verifying it
///
/// 1. Split the header on `,` and each part on the first `=`; take `t` and every `v1`.
/// 2. Refuse the request if `t` is further than your tolerance (5 minutes is usual) from
///    your clock: this stops an old delivery from being replayed.
/// 3. Compute HMAC-SHA256 over `"<t>.<raw body>"` with your `whsec_…` secret, hex-encode it,
///    and compare it with each `v1` in constant time. Verify the raw bytes, before any JSON
///    parsing re-formats them.
/// 4. Deliveries are at least once: deduplicate on the event's `id`.
///
/// In Python:
///
/// ```python
/// import hashlib, hmac, time
///
/// def verify(header: str, body: bytes, secret: str, tolerance: int = 300) -> bool:
///     parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
///     t = next((v for k, v in parts if k == "t"), None)
///     if t is None or not t.isdigit() or abs(time.time() - int(t)) > tolerance:
///         return False
///     expected = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
///     return any(hmac.compare_digest(expected, v) for k, v in parts if k == "v1")
/// ```
///
/// In Swift, ``verify(header:body:secret:now:tolerance:)`` does the same.
public enum WebhookSignature {
    /// `Till-Signature`.
    public static let headerName = "Till-Signature"

    /// The header value for `body` sent at `timestamp` (Unix seconds).
    public static func header(body: some Collection<UInt8>, secret: String, timestamp: Int64) -> String {
        "t=\(timestamp),v1=\(code(body: body, secret: secret, timestamp: timestamp).hexString)"
    }

    /// Whether `header` carries a `v1` signature of `body` under `secret` with a timestamp
    /// within `tolerance` of `now`.
    public static func verify(
        header: String, body: some Collection<UInt8>, secret: String, now: Date = Date(), tolerance: TimeInterval = 300
    ) -> Bool {
        var timestamp: Int64?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            guard let equals = part.firstIndex(of: "=") else { continue }
            let key = part[..<equals].trimmingCharacters(in: .whitespaces)
            let value = part[part.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            switch key {
            case "t": timestamp = Int64(value)
            case "v1": signatures.append(value)
            default: continue
            }
        }
        guard let timestamp, abs(now.timeIntervalSince1970 - Double(timestamp)) <= tolerance else { return false }
        let expected = code(body: body, secret: secret, timestamp: timestamp)
        return signatures.contains { signature in
            guard let given = try? Hex.decode(signature) else { return false }
            return constantTimeEquals(expected.bytes, given)
        }
    }

    private static func code(body: some Collection<UInt8>, secret: String, timestamp: Int64) -> HMACSHA256.AuthenticationCode {
        var mac = HMACSHA256(key: Array(secret.utf8))
        mac.update(data: Array("\(timestamp).".utf8))
        mac.update(data: Array(body))
        return mac.finalize()
    }
}
