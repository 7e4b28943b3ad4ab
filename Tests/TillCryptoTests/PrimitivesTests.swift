import Foundation
import Testing
@testable import TillCrypto

@Suite("Random, comparison, keys and secure buffers")
struct PrimitivesTests {
    @Test("SecureRandom gives the requested count and varies")
    func random() throws {
        #expect(try SecureRandom.bytes(count: 0).isEmpty)
        let a = try SecureRandom.bytes(count: 32)
        let b = try SecureRandom.bytes(count: 32)
        #expect(a.count == 32)
        #expect(a != b)
        #expect(throws: CryptoError.self) { try SecureRandom.bytes(count: -1) }
        var generator = SecureRandomNumberGenerator()
        let draws = Set((0..<100).map { _ in generator.next() })
        #expect(draws.count == 100)
        #expect((0..<100).allSatisfy { _ in (1...6).contains(Int.random(in: 1...6, using: &generator)) })
    }

    @Test("constant-time comparison semantics")
    func constantTime() {
        #expect(constantTimeEquals([UInt8](), [UInt8]()))
        #expect(constantTimeEquals(bytes("same"), Data(bytes("same"))))
        #expect(!constantTimeEquals(bytes("same"), bytes("sane")))
        #expect(!constantTimeEquals(bytes("abc"), bytes("abcd")))
        #expect(!constantTimeEquals(bytes("abcd"), bytes("abc")))
        #expect(!constantTimeEquals([UInt8](), [0]))
        #expect(!constantTimeEquals(flipping([UInt8](repeating: 0, count: 64), byte: 63, bit: 7), [UInt8](repeating: 0, count: 64)))
        var split = DispatchData.empty
        for part in ["sa", "me"] {
            Array(part.utf8).withUnsafeBytes { split.append(DispatchData(bytes: $0)) }
        }
        #expect(constantTimeEquals(split, bytes("same")))
    }

    @Test("SymmetricKey validates its length and hides its bytes")
    func symmetricKey() throws {
        for length in [0, 16, 31, 33, 64] {
            #expect(throws: CryptoError.invalidKeySize(expected: 32, actual: length)) {
                try SymmetricKey(bytes: [UInt8](repeating: 1, count: length))
            }
        }
        let raw = [UInt8](repeating: 0xab, count: 32)
        let key = try SymmetricKey(bytes: raw)
        #expect(key.withUnsafeBytes { Array($0) } == raw)
        #expect(try SymmetricKey(bytes: Data(raw)) == key)
        #expect(try SymmetricKey.generate() != key)
        #expect(!String(describing: key).contains("ab"))
        #expect(!String(reflecting: key).contains("abab"))
    }

    @Test("a SymmetricKey's bytes are wiped when its last copy goes away")
    func symmetricKeyZeroing() throws {
        let wipedToZero = Observed<Bool?>(nil)
        do {
            let key = try SymmetricKey(bytes: [UInt8](repeating: 0x5a, count: 32))
            key.secureBytes.storage.wipeObserver = { buffer in
                wipedToZero.value = buffer.count == 32 && buffer.allSatisfy { $0 == 0 }
            }
            var copy: SymmetricKey? = key
            #expect(key.withUnsafeBytes { $0.allSatisfy { $0 == 0x5a } })
            copy = nil
            _ = copy
            // The original still holds the storage, so nothing has been wiped yet.
            #expect(wipedToZero.value == nil)
            withExtendedLifetime(key) {}
        }
        #expect(wipedToZero.value == true)
    }

    @Test("SecureBytes: copy on write, constant-time equality, wiping, no contents in descriptions")
    func secureBytes() throws {
        let wiped = Observed<[Bool]>([])
        do {
            var a = SecureBytes(bytes("411"))
            a.storage.wipeObserver = { buffer in
                wiped.value.append(buffer.allSatisfy { $0 == 0 })
            }
            var b = a
            #expect(a == b)
            b.withUnsafeMutableBytes { $0[0] = UInt8(ascii: "9") }
            // b copied before writing: a is untouched and its buffer not yet freed.
            #expect(a.withUnsafeBytes { Array($0) } == bytes("411"))
            #expect(b.withUnsafeBytes { Array($0) } == bytes("911"))
            #expect(a != b)
            #expect(wiped.value.isEmpty)
            #expect(String(describing: a) == "SecureBytes(3 bytes)")
            a.withUnsafeMutableBytes { $0[2] = 0 }
        }
        #expect(wiped.value == [true])

        let random = try SecureBytes.random(count: 16)
        #expect(random.count == 16)
        #expect(SecureBytes(zeroedCount: 4).withUnsafeBytes { Array($0) } == [0, 0, 0, 0])
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try SecureBytes(count: 8) { (buffer: UnsafeMutableRawBufferPointer) throws(Boom) in
                buffer[0] = 1
                throw Boom()
            }
        }
    }

    @Test("hex encodes and decodes, and names what is wrong")
    func hexCoding() throws {
        #expect(Hex.encode([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
        #expect(try Hex.decode("000FA0ff") == [0x00, 0x0f, 0xa0, 0xff])
        #expect(try Hex.decode("").isEmpty)
        #expect(throws: CryptoError.invalidEncoding("hex string has an odd number of characters (3)")) {
            try Hex.decode("abc")
        }
        #expect(throws: CryptoError.invalidEncoding("not a hex digit at offset 3")) { try Hex.decode("abcg") }
    }

    @Test("errors read clearly")
    func errorDescriptions() {
        #expect(CryptoError.invalidKeySize(expected: 32, actual: 16).description == "invalidKeySize: key must be 32 bytes, got 16")
        #expect(CryptoError.authenticationFailure.code == .authenticationFailure)
        #expect(CryptoError.opensslFailure(function: "EVP_X", reason: "r").message == "EVP_X failed: r")
    }
}
