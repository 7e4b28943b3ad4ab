import Foundation
import Testing
import TillCrypto

@Suite("AES key wrap (RFC 3394)")
struct KeyWrapTests {
    static let kek = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    static let keyData = "00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f"
    static let wrapped = "28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21"

    @Test("RFC 3394 section 4.6: 256-bit key data with a 256-bit KEK")
    func rfc3394() throws {
        let kek = try SymmetricKey(bytes: hex(Self.kek))
        let key = try SymmetricKey(bytes: hex(Self.keyData))
        #expect(Hex.encode(try KeyWrap.wrap(key, using: kek)) == Self.wrapped)
        #expect(try KeyWrap.unwrap(hex(Self.wrapped), using: kek) == key)
    }

    @Test("a wrong KEK fails cleanly")
    func wrongKEK() throws {
        var kekBytes = hex(Self.kek)
        kekBytes[31] = 0x00
        let wrongKEK = try SymmetricKey(bytes: kekBytes)
        #expect(throws: CryptoError.authenticationFailure) { try KeyWrap.unwrap(hex(Self.wrapped), using: wrongKEK) }
        #expect(throws: CryptoError.authenticationFailure) {
            try KeyWrap.unwrap(hex(Self.wrapped), using: SymmetricKey.generate())
        }
    }

    @Test("a tampered wrapped key fails cleanly", arguments: [0, 7, 8, 20, 39])
    func tampered(index: Int) throws {
        let kek = try SymmetricKey(bytes: hex(Self.kek))
        #expect(throws: CryptoError.authenticationFailure) {
            try KeyWrap.unwrap(flipping(hex(Self.wrapped), byte: index), using: kek)
        }
    }

    @Test("a wrapped key of the wrong length is refused")
    func wrongLength() throws {
        let kek = try SymmetricKey(bytes: hex(Self.kek))
        for length in [0, 24, 32, 39, 41, 48] {
            let error = #expect(throws: CryptoError.self) {
                try KeyWrap.unwrap(hex(Self.wrapped + Self.wrapped).prefix(length), using: kek)
            }
            #expect(error?.code == .invalidInputLength)
        }
    }

    @Test("random keys round-trip")
    func roundTrip() throws {
        let kek = try SymmetricKey.generate()
        for _ in 0..<20 {
            let key = try SymmetricKey.generate()
            let wrapped = try KeyWrap.wrap(key, using: kek)
            #expect(wrapped.count == KeyWrap.wrappedByteCount)
            #expect(try KeyWrap.unwrap(Data(wrapped), using: kek) == key)
        }
    }
}
