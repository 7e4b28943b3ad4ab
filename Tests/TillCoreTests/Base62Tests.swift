import Foundation
import Testing
import TillCore

@Suite("Base62 ids")
struct Base62Tests {
    /// SplitMix64: a fixed sequence, so the uniformity check below cannot flake.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    struct SourceFailed: Error, Equatable {}

    @Test("the alphabet is digits, upper case, lower case: 62 distinct characters")
    func alphabet() {
        #expect(String(decoding: Base62.alphabet, as: UTF8.self) == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        #expect(Set(Base62.alphabet).count == 62)
    }

    @Test("length(bits:) never gives too few characters, and at most one more than needed")
    func length() {
        #expect(Base62.length(bits: 128) == 22)
        #expect(Base62.length(bits: 192) == 33)
        #expect(Base62.length(bits: 256) == 43)
        let perCharacter = log2(62.0)
        for bits in 1...2048 {
            let length = Base62.length(bits: bits)
            #expect(Double(length) * perCharacter >= Double(bits), "\(bits) bits")
            #expect(Double(length - 2) * perCharacter < Double(bits), "\(bits) bits")
        }
    }

    @Test("a byte below 248 picks alphabet[byte % 62]; 248 and above are rejected")
    func rejection() {
        var script: [UInt8] = [0, 255, 61, 62, 248, 123, 247, 249, 186, 1]
        var requests: [Int] = []
        let text = Base62.random(count: 6) { (count: Int) -> [UInt8] in
            requests.append(count)
            defer { script.removeFirst(min(count, script.count)) }
            return Array(script.prefix(count))
        }
        // 0 → "0", 61 → "z", 62 → "0", 123 → "z", 247 → "z", 186 → "0"
        #expect(text == "0z0zz0")
        #expect(!requests.isEmpty && requests.allSatisfy { $0 > 0 })
    }

    @Test("the source's failure is thrown, typed")
    func failure() {
        #expect(throws: SourceFailed()) {
            _ = try Base62.random(count: 4) { (_: Int) throws(SourceFailed) -> [UInt8] in throw SourceFailed() }
        }
    }

    @Test("counts from 0 to 100, only alphabet characters")
    func counts() {
        var generator = SplitMix(state: 1)
        for count in 0...100 {
            let text = Base62.random(count: count, using: &generator)
            #expect(text.utf8.count == count)
            #expect(text.utf8.allSatisfy { Base62.alphabet.contains($0) })
        }
    }

    @Test("every character is about equally likely")
    func uniform() {
        var generator = SplitMix(state: 62)
        var counts: [UInt8: Int] = [:]
        for byte in Base62.random(count: 62 * 2000, using: &generator).utf8 { counts[byte, default: 0] += 1 }
        #expect(counts.count == 62)
        // Expected 2000 each, standard deviation about 44; `byte % 62` without rejection
        // would give the first eight characters about 2,400.
        #expect(counts.values.allSatisfy { (1780...2220).contains($0) }, "\(counts.values.sorted())")
    }
}
