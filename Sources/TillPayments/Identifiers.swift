import TillCrypto

/// Random, prefixed ids (`pay_…`, `txn_…`): 128 bits in base62 after the prefix.
public enum Identifiers {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    public static func make(_ prefix: String, bytes: Int = 16) -> String {
        var generator = SecureRandomNumberGenerator()
        // 22 base62 digits carry just over 128 bits.
        let length = (bytes * 8 * 1000 + 5953) / 5954
        var text = prefix + "_"
        for _ in 0..<length {
            text.unicodeScalars.append(Unicode.Scalar(alphabet[Int.random(in: 0..<62, using: &generator)]))
        }
        return text
    }
}
