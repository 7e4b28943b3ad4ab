import Foundation
import TillCrypto

/// Stripe's webhook signature: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256>` over
/// `"<t>.<body>"`, keyed by the whole `whsec_…` secret taken as bytes (as Stripe's own
/// libraries verify it).
public enum StripeWebhookSignature {
    /// The header value for `payload` signed at `timestamp`.
    public static func header(payload: [UInt8], secret: String, timestamp: Date) -> String {
        let seconds = Int64(timestamp.timeIntervalSince1970)
        return "t=\(seconds),v1=" + signature(payload: payload, secret: secret, timestamp: seconds)
    }

    /// The hex `v1` signature of `payload` at `timestamp` (Unix seconds).
    public static func signature(payload: [UInt8], secret: String, timestamp: Int64) -> String {
        var message = Array("\(timestamp).".utf8)
        message.append(contentsOf: payload)
        return HMACSHA256.authenticationCode(for: message, key: Array(secret.utf8)).hexString
    }

    /// Whether `header` carries a valid `v1` signature of `payload` made within `tolerance`
    /// seconds of `now`. Fails closed on anything malformed.
    public static func isValid(
        header: String, payload: [UInt8], secret: String, now: Date = Date(), tolerance: TimeInterval = 300
    ) -> Bool {
        var timestamp: Int64?
        var signatures: [[UInt8]] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int64(pair[1]) }
            if pair[0] == "v1", let bytes = try? Hex.decode(pair[1]) { signatures.append(bytes) }
        }
        guard let timestamp, !signatures.isEmpty, abs(now.timeIntervalSince1970 - Double(timestamp)) <= tolerance else {
            return false
        }
        var message = Array("\(timestamp).".utf8)
        message.append(contentsOf: payload)
        return signatures.contains {
            HMACSHA256.isValidAuthenticationCode($0, for: message, key: Array(secret.utf8))
        }
    }
}
