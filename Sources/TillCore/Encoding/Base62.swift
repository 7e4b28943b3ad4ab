/// Random base62 text (`0-9A-Za-z`) for identifiers: the daemon's `pay_…` and `whsec_…`,
/// the vault's `tok_…`, the Stripe sandbox's `pi_…`.
///
/// One generator, so that every id is drawn the same way: uniformly, by rejection rather
/// than `byte % 62` (which would make the first eight characters likelier), from whatever
/// source of randomness the caller trusts. TillCore has no CSPRNG of its own; callers pass
/// TillCrypto's.
public enum Base62 {
    /// The 62 characters, digits first, then upper case, then lower case.
    public static let alphabet: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// How many characters carry at least `bits` random bits, counting 5.954 bits a
    /// character (just under log2(62)), so the answer is never short; 22 for 128 bits.
    public static func length(bits: Int) -> Int {
        (bits * 1000 + 5953) / 5954
    }

    /// `count` characters drawn uniformly from the bytes `randomBytes(n)` returns, `n` at a
    /// time. A byte of 248 (4 × 62) or more is rejected, so every character is equally
    /// likely; the source's failure is the caller's to see.
    public static func random<Failure: Error>(
        count: Int, randomBytes: (Int) throws(Failure) -> [UInt8]
    ) throws(Failure) -> String {
        var characters: [UInt8] = []
        characters.reserveCapacity(count)
        while characters.count < count {
            // A third more than needed: about one byte in thirty is rejected.
            for byte in try randomBytes(max(count - characters.count, 8) * 4 / 3)
            where byte < 248 && characters.count < count {
                characters.append(alphabet[Int(byte % 62)])
            }
        }
        return String(decoding: characters, as: UTF8.self)
    }

    /// `count` characters drawn uniformly with `generator`.
    public static func random(count: Int, using generator: inout some RandomNumberGenerator) -> String {
        random(count: count) { (needed: Int) -> [UInt8] in
            (0..<needed).map { _ in generator.next() }
        }
    }
}
