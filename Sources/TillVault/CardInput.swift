public import Foundation
public import TillCore
public import TillCrypto

/// A card as it arrives to be tokenized. The number and CVC live in ``SecureBytes`` so they
/// are wiped when the last copy goes away; `description` never shows them.
public struct CardInput: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The number as typed (ASCII digits; spaces and dashes are allowed and dropped).
    public var number: SecureBytes
    /// 1 to 12.
    public var expMonth: Int
    /// Four digits, or two meaning 20YY.
    public var expYear: Int
    /// The card verification code (ASCII digits), if the customer gave one.
    public var cvc: SecureBytes?
    /// The name on the card.
    public var holderName: String?

    public init(number: SecureBytes, expMonth: Int, expYear: Int, cvc: SecureBytes? = nil, holderName: String? = nil) {
        self.number = number
        self.expMonth = expMonth
        self.expYear = expYear
        self.cvc = cvc
        self.holderName = holderName
    }

    /// A card from strings, as a decoded request body holds it. The strings themselves
    /// cannot be wiped; the vault keeps only the secure copies.
    public init(number: String, expMonth: Int, expYear: Int, cvc: String? = nil, holderName: String? = nil) {
        self.init(
            number: SecureBytes(Array(number.utf8)), expMonth: expMonth, expYear: expYear,
            cvc: cvc.map { SecureBytes(Array($0.utf8)) }, holderName: holderName)
    }

    public var description: String {
        "CardInput(number: <redacted>, exp: \(expMonth)/\(expYear), cvc: \(cvc == nil ? "none" : "<redacted>"))"
    }

    public var debugDescription: String { description }
}

/// A token and what may be shown about its card: brand, BIN, last four, expiry and
/// fingerprint. Never more of the number than the first six and last four digits.
public struct CardToken: Sendable, Hashable, Codable {
    /// `tok_` followed by 22 base62 characters (131 random bits).
    public let id: String
    /// The merchant the token belongs to; it is not found under any other.
    public let merchant: String
    public let brand: CardBrand
    /// The first six digits.
    public let bin: String
    /// The last four digits.
    public let last4: String
    public let expiry: CardExpiry
    /// `fp_…`: the same for the same card number within one merchant, different across
    /// merchants (HMAC-SHA256 under the vault's fingerprint key).
    public let fingerprint: String
    /// When the card was tokenized.
    public let created: Date

    public init(
        id: String, merchant: String, brand: CardBrand, bin: String, last4: String, expiry: CardExpiry,
        fingerprint: String, created: Date
    ) {
        self.id = id
        self.merchant = merchant
        self.brand = brand
        self.bin = bin
        self.last4 = last4
        self.expiry = expiry
        self.fingerprint = fingerprint
        self.created = created
    }

    /// The number as it may be displayed: `424242…4242`.
    public var maskedNumber: String { bin + "…" + last4 }
}

/// A card turned back into its number, for the gateway request being built. Drop it as
/// soon as the request is sent: the number and CVC are wiped with their last copy.
public struct DetokenizedCard: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let token: String
    public let brand: CardBrand
    /// ASCII digits, no spaces.
    public let number: SecureBytes
    public let expiry: CardExpiry
    public let holderName: String?
    /// The CVC, when the purpose takes it and the vault still held it.
    public let cvc: SecureBytes?

    public var description: String {
        "DetokenizedCard(token: \(token), brand: \(brand.rawValue), number: <redacted>, cvc: "
            + "\(cvc == nil ? "none" : "<redacted>"))"
    }

    public var debugDescription: String { description }
}
