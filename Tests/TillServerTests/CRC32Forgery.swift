/// Builds a second body with the CRC32 of a genuine one: the forgery PayPal's transmission
/// signature (which covers crc32(body), not the body) allows. Tests use it to show that a
/// genuine webhook's signed headers carry a forged event only as far as confirmation lets them.
enum CRC32Forgery {
    static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }

    /// `prefix + padding + suffix` with `checksum == target`, where `padding` is `count`
    /// letters each `a` or `b`: put it inside a JSON string and the body stays valid JSON and
    /// UTF-8. For a fixed length the CRC is affine over GF(2), so flipping position i between
    /// `a` and `b` XORs a fixed 32-bit vector into it; solving for the flips that turn the
    /// all-`a` checksum into `target` is Gaussian elimination on 32 bits. `nil` if the
    /// vectors do not span (never seen with 64 positions).
    static func forge(prefix: [UInt8], suffix: [UInt8], target: UInt32, count: Int = 64) -> [UInt8]? {
        let base = prefix + [UInt8](repeating: UInt8(ascii: "a"), count: count) + suffix
        let baseCRC = checksum(base)
        // Each row: the delta vector, and which positions it is the XOR of (as bits of a mask).
        var rows: [(vector: UInt32, positions: [Bool])] = (0..<count).map { position in
            var flipped = base
            flipped[prefix.count + position] = UInt8(ascii: "b")
            var positions = [Bool](repeating: false, count: count)
            positions[position] = true
            return (checksum(flipped) ^ baseCRC, positions)
        }
        // Reduce to one pivot row per bit.
        var pivots: [Int: (vector: UInt32, positions: [Bool])] = [:]
        for var row in rows {
            for bit in (0..<32).reversed() where row.vector >> UInt32(bit) & 1 == 1 {
                if let pivot = pivots[bit] {
                    row.vector ^= pivot.vector
                    for index in 0..<count where pivot.positions[index] { row.positions[index].toggle() }
                } else {
                    pivots[bit] = row
                    break
                }
            }
        }
        rows = []
        var want = baseCRC ^ target
        var flips = [Bool](repeating: false, count: count)
        for bit in (0..<32).reversed() where want >> UInt32(bit) & 1 == 1 {
            guard let pivot = pivots[bit] else { return nil }
            want ^= pivot.vector
            for index in 0..<count where pivot.positions[index] { flips[index].toggle() }
        }
        guard want == 0 else { return nil }
        var forged = base
        for index in 0..<count where flips[index] { forged[prefix.count + index] = UInt8(ascii: "b") }
        return forged
    }
}
