import Foundation
import TillCrypto

/// Bytes from a hex literal in a test vector; a malformed literal is a bug in the test.
func hex(_ string: String) -> [UInt8] {
    do {
        return try Hex.decode(string.filter { !$0.isWhitespace })
    } catch {
        preconditionFailure("bad hex literal in test: \(error)")
    }
}

func bytes(_ string: String) -> [UInt8] {
    Array(string.utf8)
}

/// A copy of `bytes` with bit `bit` of byte `index` flipped.
func flipping(_ bytes: [UInt8], byte index: Int, bit: Int = 0) -> [UInt8] {
    var copy = bytes
    copy[index] ^= UInt8(1 << bit)
    return copy
}

/// A lock-protected value for observations made from `@Sendable` hooks.
final class Observed<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) {
        stored = value
    }

    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
