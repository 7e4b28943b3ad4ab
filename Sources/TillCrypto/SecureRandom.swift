internal import CTillOpenSSL

/// OpenSSL's CSPRNG (`RAND_bytes`), for keys, nonces and tokens.
public enum SecureRandom {
    /// `count` random bytes.
    ///
    /// - Throws: ``CryptoError/Code/invalidInputLength`` for a negative count, or
    ///   ``CryptoError/Code/opensslFailure`` if the generator cannot produce output (for
    ///   example, it could not be seeded). It never returns weak bytes instead.
    public static func bytes(count: Int) throws(CryptoError) -> [UInt8] {
        guard count >= 0 else {
            throw .invalidInputLength("random byte count", expected: "non-negative", actual: count)
        }
        var out = [UInt8](repeating: 0, count: count)
        let failure: CryptoError? = out.withUnsafeMutableBytes { buffer in
            do throws(CryptoError) {
                try fill(buffer)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
        return out
    }

    /// Fills `buffer` with random bytes.
    ///
    /// - Throws: ``CryptoError/Code/opensslFailure`` if the generator fails.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        var offset = 0
        while offset < buffer.count {
            let length = min(buffer.count - offset, maxChunk)
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + length)])
            guard RAND_bytes(chunk.bytePointer, Int32(length)) == 1 else {
                throw OpenSSL.failure("RAND_bytes")
            }
            offset += length
        }
    }
}

/// A `RandomNumberGenerator` over OpenSSL's CSPRNG, for `Int.random(in:using:)` and
/// `shuffled(using:)` where the result must be unpredictable.
///
/// `next()` cannot throw. Should `RAND_bytes` ever fail, it falls back to
/// `SystemRandomNumberGenerator` (the kernel's CSPRNG) rather than trapping or returning
/// weak output. Use ``SecureRandom/bytes(count:)`` where a failure must be seen.
public struct SecureRandomNumberGenerator: RandomNumberGenerator, Sendable {
    public init() {}

    public mutating func next() -> UInt64 {
        var value: UInt64 = 0
        let ok = withUnsafeMutableBytes(of: &value) { buffer in
            RAND_bytes(buffer.bytePointer, Int32(buffer.count)) == 1
        }
        if ok { return value }
        _ = OpenSSL.drainErrors()
        var system = SystemRandomNumberGenerator()
        return system.next()
    }
}
