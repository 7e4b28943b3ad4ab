/// CRC-32 as zlib, PNG and Ethernet compute it (IEEE 802.3, reflected polynomial
/// 0xEDB88320, initial value and final XOR 0xFFFFFFFF).
///
/// PayPal's webhook transmission signature covers the CRC-32 of the event body, written as
/// an unsigned decimal number: the PayPal plugin checks it and the PayPal sandbox signs it,
/// and neither may depend on the other. It is a checksum, not a hash: anyone can make
/// another body with the same CRC-32, which is why a verified webhook is only a hint.
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 {
            value = value & 1 == 1 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1
        }
        return value
    }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { table in
            for byte in bytes {
                crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
