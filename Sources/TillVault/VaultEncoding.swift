import Foundation
import TillCore
import TillCrypto

/// The vault's byte layouts. Every one starts with a version and length-prefixes each
/// field, so no two different inputs encode alike and later versions can be told apart.
enum VaultEncoding {
    static let aadLabel = Array("till-vault/card/v1".utf8)
    static let fingerprintLabel = Array("till-vault/fingerprint/v1".utf8)
    static let kekIDLabel = Array("till-vault/kek-id/v1".utf8)
    static let payloadVersion: UInt8 = 1
    /// Names longer than this are refused rather than cut.
    static let maximumHolderNameBytes = 512
    static let maximumMerchantBytes = 255

    /// The associated data for a card's ciphertext: label, 0, then token, merchant and key
    /// id, each with a two-byte big-endian length.
    static func associatedData(token: String, merchant: String, keyID: String) -> [UInt8] {
        var out = aadLabel
        out.append(0)
        for field in [token, merchant, keyID] {
            appendWithLength(Array(field.utf8), to: &out)
        }
        return out
    }

    private static func appendWithLength(_ bytes: [UInt8], to out: inout [UInt8]) {
        let count = UInt16(clamping: bytes.count)
        out.append(UInt8(count >> 8))
        out.append(UInt8(count & 0xff))
        out.append(contentsOf: bytes.prefix(Int(count)))
    }

    /// The sealed plaintext: version (1), digit count (1), digits, expiry month (1),
    /// expiry year (2, big-endian), name length (2, big-endian), name (UTF-8).
    /// Built straight into ``SecureBytes``.
    static func payload(digits: SecureBytes, expiry: CardExpiry, holderName: String?) -> SecureBytes {
        let name = Array((holderName ?? "").utf8)
        let count = 1 + 1 + digits.count + 1 + 2 + 2 + name.count
        return SecureBytes(count: count) { (out: UnsafeMutableRawBufferPointer) in
            var offset = 0
            func put(_ byte: UInt8) {
                out[offset] = byte
                offset += 1
            }
            put(payloadVersion)
            put(UInt8(digits.count))
            digits.withUnsafeBytes { source in
                for byte in source { put(byte) }
            }
            put(UInt8(expiry.month))
            put(UInt8(expiry.year >> 8))
            put(UInt8(expiry.year & 0xff))
            put(UInt8(name.count >> 8))
            put(UInt8(name.count & 0xff))
            for byte in name { put(byte) }
        }
    }

    struct Payload {
        var digits: SecureBytes
        var expiry: CardExpiry
        var holderName: String?
    }

    /// Parses ``payload(digits:expiry:holderName:)``; nil when the layout is wrong (which
    /// authenticated decryption makes impossible short of a bug or a future version).
    static func parsePayload(_ plaintext: SecureBytes) -> Payload? {
        plaintext.withUnsafeBytes { bytes -> Payload? in
            guard bytes.count >= 7, bytes[0] == payloadVersion else { return nil }
            let digitCount = Int(bytes[1])
            let afterDigits = 2 + digitCount
            guard bytes.count >= afterDigits + 5 else { return nil }
            let digits = SecureBytes(UnsafeRawBufferPointer(rebasing: bytes[2..<afterDigits]))
            let month = Int(bytes[afterDigits])
            let year = Int(bytes[afterDigits + 1]) << 8 | Int(bytes[afterDigits + 2])
            let nameCount = Int(bytes[afterDigits + 3]) << 8 | Int(bytes[afterDigits + 4])
            let nameStart = afterDigits + 5
            guard bytes.count == nameStart + nameCount else { return nil }
            let name = nameCount == 0 ? nil : String(decoding: bytes[nameStart...], as: UTF8.self)
            return Payload(
                digits: digits, expiry: CardExpiry(uncheckedMonth: month, year: year), holderName: name)
        }
    }

    /// `fp_` and the first 16 bytes of HMAC-SHA256(fingerprint key, label, 0, merchant,
    /// digits), in hex. Keyed, so the fingerprint cannot be reversed by hashing candidate
    /// numbers; merchant-bound, so merchants cannot correlate their customers' cards.
    static func fingerprint(digits: SecureBytes, merchant: String, key: SymmetricKey) -> String {
        var mac = HMACSHA256(key: key)
        var header = fingerprintLabel
        header.append(0)
        appendWithLength(Array(merchant.utf8), to: &header)
        header.append(UInt8(digits.count))
        mac.update(data: header)
        digits.withUnsafeBytes { mac.update(data: $0) }
        return "fp_" + Hex.encode(mac.finalize().bytes.prefix(16))
    }

    /// A key-encryption key's public name: `kek_` and 8 bytes of HMAC(kek, label). Lets the
    /// vault say "wrong key-encryption key" instead of a bare unwrap failure.
    static func kekIdentifier(_ kek: SymmetricKey) -> String {
        "kek_" + Hex.encode(HMACSHA256.authenticationCode(for: kekIDLabel, key: kek).bytes.prefix(8))
    }

    /// `tok_` and 22 base62 characters drawn uniformly (131 bits). At least one is a
    /// letter, so no token is ever a digit string, let alone a Luhn-valid one.
    static func newToken() throws(CryptoError) -> String {
        while true {
            let characters = try Base62.random(count: 22) { (count: Int) throws(CryptoError) in
                try SecureRandom.bytes(count: count)
            }
            if characters.utf8.contains(where: { $0 > UInt8(ascii: "9") }) {
                return "tok_" + characters
            }
        }
    }

    /// `dk_` (data) or `fk_` (fingerprint) and 16 random hex digits, never with 13 decimal
    /// digits in a row: the audit log refuses anything that could be a card number, and
    /// about one hex id in 4,000 would otherwise look like one (a Luhn-valid run), failing
    /// the audit entry of the key's creation.
    static func newKeyID(prefix: String) throws(CryptoError) -> String {
        while true {
            let hex = Hex.encode(try SecureRandom.bytes(count: 8))
            if longestDigitRun(hex) < 13 { return prefix + hex }
        }
    }

    static func longestDigitRun(_ text: String) -> Int {
        var longest = 0
        var run = 0
        for byte in text.utf8 {
            run = (0x30...0x39).contains(byte) ? run + 1 : 0
            longest = max(longest, run)
        }
        return longest
    }
}
