import TillCore
import TillCrypto

/// Random, prefixed ids (`pay_…`, `txn_…`): 128 bits in base62 after the prefix.
public enum Identifiers {
    public static func make(_ prefix: String, bytes: Int = 16) -> String {
        var generator = SecureRandomNumberGenerator()
        // 22 base62 digits carry just over 128 bits.
        return prefix + "_" + Base62.random(count: Base62.length(bits: bytes * 8), using: &generator)
    }
}
