import Foundation
import Testing
import TillCrypto

/// FIPS 180-2 appendix B examples (also in NIST's SHA examples document).
@Suite("SHA-256")
struct SHA256Tests {
    static let vectors: [(message: [UInt8], digest: String)] = [
        ([], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (bytes("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ]

    @Test("FIPS 180 examples, one-shot", arguments: vectors)
    func oneShot(message: [UInt8], digest: String) {
        #expect(SHA256.hash(data: message).hexString == digest)
        #expect(SHA256.hash(data: Data(message)).hexString == digest)
    }

    @Test("FIPS 180 examples, from a buffer pointer (the non-generic entry point)", arguments: vectors)
    func bufferPointer(message: [UInt8], digest: String) {
        #expect(message.withUnsafeBytes { SHA256.hash(bufferPointer: $0) }.hexString == digest)
        // A slice that does not start at the buffer's beginning.
        let padded = [UInt8(0xFF)] + message + [0xFF]
        let hashed = padded.withUnsafeBytes { SHA256.hash(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[1..<(padded.count - 1)])) }
        #expect(hashed.hexString == digest)
    }

    @Test("one million 'a' from a buffer pointer, and an empty buffer without a base address")
    func bufferPointerMillionA() {
        let message = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        let digest = message.withUnsafeBytes { SHA256.hash(bufferPointer: $0) }
        #expect(digest.hexString == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        #expect(SHA256.hash(bufferPointer: UnsafeRawBufferPointer(start: nil, count: 0)).hexString == SHA256Tests.vectors[0].digest)
    }

    @Test("FIPS 180 examples, byte by byte", arguments: vectors)
    func incremental(message: [UInt8], digest: String) {
        var hasher = SHA256()
        for byte in message {
            hasher.update(data: [byte])
        }
        #expect(hasher.finalize().hexString == digest)
    }

    @Test("one million 'a', in uneven pieces")
    func millionA() {
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        let message = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA256.hash(data: message).hexString == expected)

        var hasher = SHA256()
        var offset = 0
        var piece = 1
        while offset < message.count {
            let end = min(offset + piece, message.count)
            hasher.update(data: message[offset..<end])
            offset = end
            piece = piece * 3 + 1
        }
        #expect(hasher.finalize().hexString == expected)
    }

    @Test("a copied hasher continues independently")
    func copyOnWrite() {
        var first = SHA256()
        first.update(data: bytes("ab"))
        var second = first
        first.update(data: bytes("c"))
        second.update(data: bytes("x"))
        #expect(first.finalize() == SHA256.hash(data: bytes("abc")))
        #expect(second.finalize() == SHA256.hash(data: bytes("abx")))
        // Finalizing one copy leaves the other usable.
        var third = SHA256()
        third.update(data: bytes("a"))
        let snapshot = third
        _ = snapshot.finalize()
        third.update(data: bytes("bc"))
        #expect(third.finalize() == SHA256.hash(data: bytes("abc")))
    }

    @Test("non-contiguous DataProtocol input")
    func dispatchData() {
        var data = DispatchData.empty
        for part in ["ab", "", "c"] {
            Array(part.utf8).withUnsafeBytes { data.append(DispatchData(bytes: $0)) }
        }
        #expect(SHA256.hash(data: data).hexString == SHA256Tests.vectors[1].digest)
    }

    @Test("digest round-trips through hex and bytes; wrong lengths are refused")
    func digestParsing() throws {
        let digest = SHA256.hash(data: bytes("abc"))
        #expect(try SHA256Digest(hexString: digest.hexString) == digest)
        #expect(try SHA256Digest(bytes: digest.bytes) == digest)
        #expect(digest.bytes.count == 32)
        #expect(throws: CryptoError.invalidInputLength("SHA-256 digest", expected: "32 bytes", actual: 31)) {
            try SHA256Digest(bytes: digest.bytes.dropLast())
        }
        #expect(throws: CryptoError.self) { try SHA256Digest(hexString: "zz") }
    }

    @Test("hashing from many threads at once agrees")
    func concurrent() async {
        let expected = SHA256Tests.vectors[2].digest
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    (0..<500).allSatisfy { _ in
                        SHA256.hash(data: SHA256Tests.vectors[2].message).hexString == expected
                    }
                }
            }
            for await ok in group {
                #expect(ok)
            }
        }
    }
}
