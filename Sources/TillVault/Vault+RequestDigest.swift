import Foundation
import TillCrypto

extension Vault {
    /// A keyed digest of a request that may contain card data, under the fingerprint key
    /// (with its own label, so it never equals a card fingerprint).
    ///
    /// Idempotency records must recognise a repeated request without keeping a plain hash
    /// of it: a SHA-256 of a body holding a card number could be brute-forced back to the
    /// number. Under a key that is only ever stored wrapped, it cannot.
    ///
    /// The fingerprint key is read from the database once and then kept in memory (it never
    /// rotates), so an idempotent request pays for one HMAC, not a database read.
    public func requestDigest(_ bytes: [UInt8]) async throws(VaultError) -> String {
        let key = try await fingerprintKey()
        var mac = HMACSHA256(key: key)
        mac.update(data: Array("till/request-digest/v1".utf8) + [0])
        mac.update(data: bytes)
        return mac.finalize().hexString
    }
}
