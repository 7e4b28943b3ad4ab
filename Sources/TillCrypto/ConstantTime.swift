internal import CTillOpenSSL
public import Foundation

/// Whether `lhs` and `rhs` hold the same bytes, taking time that depends only on their
/// lengths, never on where they differ (`CRYPTO_memcmp`). Use it for MACs, signatures,
/// tokens and anything else an attacker could probe byte by byte.
///
/// Inputs of different lengths are unequal at once: the length is not treated as secret,
/// but the contents are never read.
public func constantTimeEquals(_ lhs: some DataProtocol, _ rhs: some DataProtocol) -> Bool {
    guard lhs.count == rhs.count else { return false }
    return lhs.withContiguousBytes { left in
        rhs.withContiguousBytes { right in
            constantTimeEquals(left, right)
        }
    }
}

func constantTimeEquals(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
    guard lhs.count == rhs.count else { return false }
    guard lhs.count > 0 else { return true }
    return CRYPTO_memcmp(lhs.bytePointer, rhs.bytePointer, lhs.count) == 0
}
