import Foundation
import Testing
@testable import TillCrypto

@Suite("AES-256-GCM")
struct AES256GCMTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let key: String
        let nonce: String
        let aad: String
        let plaintext: String
        let ciphertext: String
        let tag: String
        var testDescription: String { name }
    }

    static let gcmSpecKey = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
    static let gcmSpecPlaintext =
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
    static let gcmSpecCiphertext =
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"

    /// McGrew and Viega, "The Galois/Counter Mode of Operation", test cases 13 to 16 (the
    /// AES-256 ones with 96-bit IVs), and NIST CAVP gcmEncryptExtIV256.rsp, Count = 0 of
    /// three sections.
    static let vectors: [Vector] = [
        Vector(
            name: "GCM spec test case 13 (empty plaintext, no AAD)",
            key: String(repeating: "00", count: 32), nonce: String(repeating: "00", count: 12),
            aad: "", plaintext: "", ciphertext: "", tag: "530f8afbc74536b9a963b4f1c4cb738b"
        ),
        Vector(
            name: "GCM spec test case 14 (one zero block)",
            key: String(repeating: "00", count: 32), nonce: String(repeating: "00", count: 12),
            aad: "", plaintext: String(repeating: "00", count: 16),
            ciphertext: "cea7403d4d606b6e074ec5d3baf39d18", tag: "d0d1c8a799996bf0265b98b5d48ab919"
        ),
        Vector(
            name: "GCM spec test case 15 (64 bytes, no AAD)",
            key: gcmSpecKey, nonce: "cafebabefacedbaddecaf888", aad: "",
            plaintext: gcmSpecPlaintext, ciphertext: gcmSpecCiphertext,
            tag: "b094dac5d93471bdec1a502270e3cc6c"
        ),
        Vector(
            name: "GCM spec test case 16 (60 bytes with 20 bytes of AAD)",
            key: gcmSpecKey, nonce: "cafebabefacedbaddecaf888",
            aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            plaintext: String(gcmSpecPlaintext.dropLast(8)),
            ciphertext: String(gcmSpecCiphertext.dropLast(8)),
            tag: "76fc6ece0f4e1768cddf8853bb2d551b"
        ),
        Vector(
            name: "CAVP gcmEncryptExtIV256 PTlen=0 AADlen=0 Count=0",
            key: "b52c505a37d78eda5dd34f20c22540ea1b58963cf8e5bf8ffa85f9f2492505b4",
            nonce: "516c33929df5a3284ff463d7", aad: "", plaintext: "", ciphertext: "",
            tag: "bdc1ac884d332457a1d2664f168c76f0"
        ),
        Vector(
            name: "CAVP gcmEncryptExtIV256 PTlen=128 AADlen=0 Count=0",
            key: "31bdadd96698c204aa9ce1448ea94ae1fb4a9a0b3c9d773b51bb1822666b8f22",
            nonce: "0d18e06c7c725ac9e362e1ce", aad: "",
            plaintext: "2db5168e932556f8089a0622981d017d",
            ciphertext: "fa4362189661d163fcd6a56d8bf0405a", tag: "d636ac1bbedd5cc3ee727dc2ab4a9489"
        ),
        Vector(
            name: "CAVP gcmEncryptExtIV256 PTlen=128 AADlen=128 Count=0",
            key: "92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b",
            nonce: "ac93a1a6145299bde902f21a", aad: "1e0889016f67601c8ebea4943bc23ad6",
            plaintext: "2d71bcfa914e4ac045b2aa60955fad24",
            ciphertext: "8995ae2e6df3dbf96fac7b7137bae67f", tag: "eca5aa77d51d4a0a14d9c51e1da474ab"
        ),
    ]

    @Test("published vectors seal and open", arguments: vectors)
    func publishedVectors(vector: Vector) throws {
        let key = try SymmetricKey(bytes: hex(vector.key))
        let nonce = try AES256GCM.Nonce(bytes: hex(vector.nonce))
        let box = try AES256GCM.seal(hex(vector.plaintext), using: key, nonce: nonce, authenticating: hex(vector.aad))
        #expect(Hex.encode(box.ciphertext) == vector.ciphertext)
        #expect(Hex.encode(box.tag) == vector.tag)
        #expect(Hex.encode(box.combined) == vector.nonce + vector.ciphertext + vector.tag)

        let parsed = try AES256GCM.SealedBox(combined: hex(vector.nonce + vector.ciphertext + vector.tag))
        #expect(parsed == box)
        #expect(try AES256GCM.open(parsed, using: key, authenticating: hex(vector.aad)) == hex(vector.plaintext))
    }

    /// A sealed box for the tampering tests: GCM spec test case 16.
    static func case16() throws -> (SymmetricKey, AES256GCM.SealedBox, [UInt8]) {
        let vector = vectors[3]
        let key = try SymmetricKey(bytes: hex(vector.key))
        let box = try AES256GCM.SealedBox(combined: hex(vector.nonce + vector.ciphertext + vector.tag))
        return (key, box, hex(vector.aad))
    }

    @Test("a flipped bit anywhere in the ciphertext fails authentication", arguments: [0, 17, 59])
    func tamperedCiphertext(index: Int) throws {
        let (key, box, aad) = try Self.case16()
        let bad = try AES256GCM.SealedBox(nonce: box.nonce, ciphertext: flipping(box.ciphertext, byte: index), tag: box.tag)
        #expect(throws: CryptoError.authenticationFailure) {
            try AES256GCM.open(bad, using: key, authenticating: aad)
        }
    }

    @Test("a flipped bit in the tag, nonce or AAD fails authentication")
    func tamperedParts() throws {
        let (key, box, aad) = try Self.case16()
        let badTag = try AES256GCM.SealedBox(nonce: box.nonce, ciphertext: box.ciphertext, tag: flipping(box.tag, byte: 15, bit: 7))
        #expect(throws: CryptoError.authenticationFailure) { try AES256GCM.open(badTag, using: key, authenticating: aad) }

        let badNonce = try AES256GCM.SealedBox(
            nonce: AES256GCM.Nonce(bytes: flipping(box.nonce.bytes, byte: 0)), ciphertext: box.ciphertext, tag: box.tag
        )
        #expect(throws: CryptoError.authenticationFailure) { try AES256GCM.open(badNonce, using: key, authenticating: aad) }

        #expect(throws: CryptoError.authenticationFailure) {
            try AES256GCM.open(box, using: key, authenticating: flipping(aad, byte: 19, bit: 3))
        }
        #expect(throws: CryptoError.authenticationFailure) { try AES256GCM.open(box, using: key) }
        #expect(throws: CryptoError.authenticationFailure) {
            try AES256GCM.open(box, using: key, authenticating: aad + [0])
        }
    }

    @Test("the wrong key fails authentication")
    func wrongKey() throws {
        let (_, box, aad) = try Self.case16()
        let other = try SymmetricKey.generate()
        #expect(throws: CryptoError.authenticationFailure) { try AES256GCM.open(box, using: other, authenticating: aad) }
        #expect(throws: CryptoError.authenticationFailure) { try AES256GCM.openSecret(box, using: other, authenticating: aad) }
    }

    @Test("a truncated or malformed combined box is refused before decryption")
    func truncated() throws {
        let (key, box, aad) = try Self.case16()
        let combined = box.combined
        let error = #expect(throws: CryptoError.self) { _ = try AES256GCM.SealedBox(combined: combined.prefix(27)) }
        #expect(error?.code == .invalidInputLength)
        #expect(throws: CryptoError.self) { _ = try AES256GCM.SealedBox(combined: [UInt8]()) }
        // Dropping the last byte still parses (the box is long enough) but cannot authenticate.
        let shortened = try AES256GCM.SealedBox(combined: combined.dropLast())
        #expect(throws: CryptoError.authenticationFailure) { try AES256GCM.open(shortened, using: key, authenticating: aad) }
        #expect(throws: CryptoError.invalidTagSize(expected: 16, actual: 12)) {
            try AES256GCM.SealedBox(nonce: box.nonce, ciphertext: box.ciphertext, tag: box.tag.prefix(12))
        }
        #expect(throws: CryptoError.invalidNonceSize(expected: 12, actual: 16)) {
            try AES256GCM.Nonce(bytes: [UInt8](repeating: 0, count: 16))
        }
    }

    @Test("round trip with random nonce, AAD, SecureBytes in and out")
    func roundTrip() throws {
        let key = try SymmetricKey.generate()
        let message = bytes("4242424242424242")
        let aad = bytes("tok_123|key_7")
        let box = try AES256GCM.seal(message, using: key, authenticating: aad)
        #expect(box.ciphertext.count == message.count)
        #expect(box.ciphertext != message)
        #expect(try AES256GCM.open(box, using: key, authenticating: aad) == message)

        let secret = SecureBytes(message)
        let secretBox = try AES256GCM.seal(secret, using: key, authenticating: aad)
        #expect(try AES256GCM.openSecret(secretBox, using: key, authenticating: aad) == secret)

        let large = [UInt8](repeating: 7, count: 1 << 20)
        let largeBox = try AES256GCM.seal(Data(large), using: key)
        #expect(try AES256GCM.open(largeBox, using: key) == large)
    }

    @Test("10,000 seals with random nonces never repeat a nonce")
    func nonceUniqueness() throws {
        let key = try SymmetricKey.generate()
        var seen = Set<AES256GCM.Nonce>()
        for _ in 0..<10_000 {
            let box = try AES256GCM.seal([UInt8](), using: key)
            seen.insert(box.nonce)
        }
        #expect(seen.count == 10_000)
    }
}
