import Foundation
import Testing
import TillCrypto

/// RFC 4231 section 4 test cases for HMAC-SHA-256.
@Suite("HMAC-SHA256")
struct HMACSHA256Tests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let key: [UInt8]
        let data: [UInt8]
        let mac: String
        var testDescription: String { name }
    }

    static let vectors: [Vector] = [
        Vector(
            name: "RFC 4231 test case 1",
            key: [UInt8](repeating: 0x0b, count: 20),
            data: bytes("Hi There"),
            mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        ),
        Vector(
            name: "RFC 4231 test case 2",
            key: bytes("Jefe"),
            data: bytes("what do ya want for nothing?"),
            mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        ),
        Vector(
            name: "RFC 4231 test case 3",
            key: [UInt8](repeating: 0xaa, count: 20),
            data: [UInt8](repeating: 0xdd, count: 50),
            mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
        ),
        Vector(
            name: "RFC 4231 test case 4",
            key: Array(1...25),
            data: [UInt8](repeating: 0xcd, count: 50),
            mac: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
        ),
        Vector(
            name: "RFC 4231 test case 6",
            key: [UInt8](repeating: 0xaa, count: 131),
            data: bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
            mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        ),
        Vector(
            name: "RFC 4231 test case 7",
            key: [UInt8](repeating: 0xaa, count: 131),
            data: bytes(
                "This is a test using a larger than block-size key and a larger than block-size data. "
                    + "The key needs to be hashed before being used by the HMAC algorithm."
            ),
            mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        ),
    ]

    @Test("RFC 4231", arguments: vectors)
    func rfc4231(vector: Vector) {
        let code = HMACSHA256.authenticationCode(for: vector.data, key: vector.key)
        #expect(code.hexString == vector.mac)
        #expect(HMACSHA256.isValidAuthenticationCode(hex(vector.mac), for: vector.data, key: vector.key))
        #expect(HMACSHA256.authenticationCode(for: Data(vector.data), key: Data(vector.key)).hexString == vector.mac)
    }

    @Test("RFC 4231 test case 5, truncated to 128 bits")
    func truncated() {
        let code = HMACSHA256.authenticationCode(
            for: bytes("Test With Truncation"),
            key: [UInt8](repeating: 0x0c, count: 20)
        )
        #expect(Hex.encode(code.bytes.prefix(16)) == "a3b6167473100ee06e0c796c2955552b")
        // A truncated code is never accepted as the full one.
        #expect(
            !HMACSHA256.isValidAuthenticationCode(
                code.bytes.prefix(16), for: bytes("Test With Truncation"), key: [UInt8](repeating: 0x0c, count: 20)
            )
        )
    }

    @Test("incremental updates match one-shot, and copies are independent", arguments: vectors)
    func incremental(vector: Vector) {
        var mac = HMACSHA256(key: vector.key)
        for byte in vector.data {
            mac.update(data: [byte])
        }
        let copy = mac
        mac.update(data: bytes("extra"))
        #expect(copy.finalize().hexString == vector.mac)
        #expect(mac.finalize() == HMACSHA256.authenticationCode(for: vector.data + bytes("extra"), key: vector.key))
    }

    @Test("an empty key works (RFC 2104 allows it) and does not trap")
    func emptyKey() {
        let code = HMACSHA256.authenticationCode(for: [UInt8](), key: [UInt8]())
        #expect(code.hexString == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    @Test("a SymmetricKey keys HMAC")
    func symmetricKey() throws {
        let raw = [UInt8](repeating: 0x42, count: 32)
        let key = try SymmetricKey(bytes: raw)
        #expect(
            HMACSHA256.authenticationCode(for: bytes("m"), key: key)
                == HMACSHA256.authenticationCode(for: bytes("m"), key: raw)
        )
    }

    @Test("tampered message, key or code is rejected")
    func tampered() {
        let vector = Self.vectors[1]
        let mac = hex(vector.mac)
        #expect(HMACSHA256.isValidAuthenticationCode(mac, for: vector.data, key: vector.key))
        #expect(!HMACSHA256.isValidAuthenticationCode(mac, for: flipping(vector.data, byte: 0), key: vector.key))
        #expect(!HMACSHA256.isValidAuthenticationCode(mac, for: vector.data, key: flipping(vector.key, byte: 3)))
        #expect(!HMACSHA256.isValidAuthenticationCode(flipping(mac, byte: 31, bit: 7), for: vector.data, key: vector.key))
        #expect(!HMACSHA256.isValidAuthenticationCode(mac + [0], for: vector.data, key: vector.key))
        #expect(!HMACSHA256.isValidAuthenticationCode([UInt8](), for: vector.data, key: vector.key))
    }
}
