/// Lowercase hexadecimal, for test vectors, logs and stored digests.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// The lowercase hex form of `bytes`, two characters a byte.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes a hex string spells; upper and lower case are both accepted.
    ///
    /// - Throws: ``CryptoError/Code/invalidEncoding`` for an odd length or a character that
    ///   is not a hex digit, naming its offset.
    public static func decode(_ string: some StringProtocol) throws(CryptoError) -> [UInt8] {
        let utf8 = Array(string.utf8)
        guard utf8.count % 2 == 0 else {
            throw .invalidEncoding("hex string has an odd number of characters (\(utf8.count))")
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]) else {
                throw .invalidEncoding("not a hex digit at offset \(index)")
            }
            guard let low = nibble(utf8[index + 1]) else {
                throw .invalidEncoding("not a hex digit at offset \(index + 1)")
            }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
