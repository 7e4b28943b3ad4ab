import Foundation
import TillCore
import Testing

@Suite("Card validation")
struct CardValidationTests {
    static let now = utc(2025, 3, 15, 12)

    static let brandPrefixes: [(CardBrand, [String])] = [
        (.visa, ["4"]),
        (.mastercard, ["51", "55", "2221", "2720", "2500"]),
        (.amex, ["34", "37"]),
        (.discover, ["6011", "644", "649", "65"]),
        (.jcb, ["3528", "3589"]),
        (.diners, ["300", "305", "3095", "36", "38", "39"]),
        (.unionpay, ["62"]),
    ]

    @Test("every brand is detected at every allowed length and refused at the others")
    func brandsAndLengths() throws {
        for (brand, prefixes) in Self.brandPrefixes {
            for prefix in prefixes {
                for length in 12...19 {
                    let number = luhnNumber(prefix: prefix, length: length)
                    if brand.allowedLengths.contains(length) {
                        let summary = try CardValidation.checkNumber(number)
                        #expect(summary.brand == brand, "\(prefix) length \(length)")
                        #expect(summary.length == length)
                        #expect(summary.bin == String(number.prefix(6)))
                        #expect(summary.last4 == String(number.suffix(4)))
                    } else {
                        let error = #expect(throws: CardValidationError.self) { try CardValidation.checkNumber(number) }
                        #expect(error?.code == .incorrectLength, "\(brand) \(prefix) length \(length)")
                    }
                }
            }
        }
    }

    @Test("well-known test numbers", arguments: [
        ("4242424242424242", CardBrand.visa), ("4222222222222", .visa), ("5555555555554444", .mastercard),
        ("2223003122003222", .mastercard), ("378282246310005", .amex), ("371449635398431", .amex),
        ("6011111111111117", .discover), ("6011000990139424", .discover), ("3566002020360505", .jcb),
        ("36227206271667", .diners), ("3056930009020004", .diners), ("6200000000000005", .unionpay),
        ("6205500000000000004", .unionpay),
    ])
    func knownNumbers(number: String, brand: CardBrand) throws {
        #expect(try CardValidation.checkNumber(number).brand == brand)
        #expect(CardBrand(number: number) == brand)
    }

    @Test("Mastercard's 2-series ends exactly at 2221 and 2720")
    func mastercardTwoSeriesEdges() {
        #expect(CardBrand(number: "2221000000000009") == .mastercard)
        #expect(CardBrand(number: "2720990000000007") == .mastercard)
        #expect(CardBrand(number: "2220990000000000") == nil)
        #expect(CardBrand(number: "2721000000000000") == nil)
        #expect(CardBrand(number: "50") == nil)
        #expect(CardBrand(number: "56") == nil)
    }

    @Test("spaces and dashes are stripped; anything else is invalid_number")
    func separators() throws {
        #expect(try CardValidation.checkNumber("4242 4242 4242 4242").brand == .visa)
        #expect(try CardValidation.checkNumber("4242-4242-4242-4242").last4 == "4242")
        #expect(try CardValidation.checkNumber(" 3782-822463-10005 ").brand == .amex)
        for bad in ["4242.4242.4242.4242", "4242424242424242\n", "42424242x4242424", "", " - ", "４２４２４２４２４２４２４２４２", "+4242424242424242"] {
            let error = #expect(throws: CardValidationError.self) { try CardValidation.checkNumber(bad) }
            #expect(error?.code == .invalidNumber, "\(bad.debugDescription)")
            #expect(error?.param == "number")
        }
    }

    @Test("Luhn: a changed digit fails, for every brand")
    func luhn() {
        for (brand, prefixes) in Self.brandPrefixes {
            let number = luhnNumber(prefix: prefixes[0], length: brand.allowedLengths[0])
            let error = #expect(throws: CardValidationError.self) { try CardValidation.checkNumber(breakingLuhn(number)) }
            #expect(error?.code == .failedLuhn)
        }
        #expect(CardValidation.passesLuhn(Array("79927398713".utf8)))
        #expect(!CardValidation.passesLuhn(Array("79927398710".utf8)))
        #expect(!CardValidation.passesLuhn(Array("".utf8)))
        #expect(!CardValidation.passesLuhn(Array("7992739871a".utf8)))
    }

    @Test("lengths outside 12 to 19 and unknown networks")
    func lengthsAndUnknownBrands() {
        let short = #expect(throws: CardValidationError.self) { try CardValidation.checkNumber("42424242") }
        #expect(short?.code == .incorrectLength)
        let long = #expect(throws: CardValidationError.self) { try CardValidation.checkNumber(luhnNumber(prefix: "4", length: 20)) }
        #expect(long?.code == .incorrectLength)
        let unknown = #expect(throws: CardValidationError.self) { try CardValidation.checkNumber("9999999999999995") }
        #expect(unknown?.code == .unsupportedBrand)
        let amex16 = #expect(throws: CardValidationError.self) { try CardValidation.checkNumber(luhnNumber(prefix: "37", length: 16)) }
        #expect(amex16?.code == .incorrectLength)
        #expect(amex16?.message.contains("15") == true)
    }

    @Test("a card is valid through the last second of its expiry month (UTC)")
    func expiryEdge() throws {
        let lastSecond = utc(2025, 3, 31, 23, 59, 59)
        #expect(try CardExpiry(month: 3, year: 2025, now: lastSecond) == CardExpiry(uncheckedMonth: 3, year: 2025))
        let firstOfApril = utc(2025, 4, 1)
        let expired = #expect(throws: CardValidationError.self) { try CardExpiry(month: 3, year: 2025, now: firstOfApril) }
        #expect(expired?.code == .expiredCard)
        #expect(expired?.message.contains("03/2025") == true)
        // February in a leap year: valid on the 29th.
        #expect(throws: Never.self) { try CardExpiry(month: 2, year: 2028, now: utc(2028, 2, 29, 23, 59, 59)) }
        let lastYear = #expect(throws: CardValidationError.self) { try CardExpiry(month: 12, year: 2024, now: Self.now) }
        #expect(lastYear?.code == .expiredCard)
    }

    @Test("expiry month and year ranges; two-digit years mean 20YY")
    func expiryRanges() throws {
        for month in [0, 13, -1, 100] {
            let error = #expect(throws: CardValidationError.self) { try CardExpiry(month: month, year: 2030, now: Self.now) }
            #expect(error?.code == .invalidExpiryMonth)
            #expect(error?.param == "exp_month")
        }
        for year in [-1, 100, 999, 10000, 2076] {
            let error = #expect(throws: CardValidationError.self) { try CardExpiry(month: 1, year: year, now: Self.now) }
            #expect(error?.code == .invalidExpiryYear, "\(year)")
            #expect(error?.param == "exp_year")
        }
        #expect(try CardExpiry(month: 1, year: 30, now: Self.now).year == 2030)
        #expect(try CardExpiry(month: 1, year: 2075, now: Self.now).year == 2075)
    }

    @Test("CVC length per brand: four digits for Amex, three for the rest")
    func cvc() throws {
        for brand in CardBrand.allCases {
            let right = String(repeating: "7", count: brand.cvcLength)
            #expect(throws: Never.self) { try CardValidation.checkCVC(Array(right.utf8), brand: brand) }
            for wrong in [String(repeating: "7", count: brand.cvcLength + 1), String(repeating: "7", count: brand.cvcLength - 1), "", "12a4".prefix(brand.cvcLength).description] {
                let error = #expect(throws: CardValidationError.self) { try CardValidation.checkCVC(Array(wrong.utf8), brand: brand) }
                #expect(error?.code == .invalidCVC, "\(brand) \(wrong)")
                #expect(error?.param == "cvc")
            }
        }
        #expect(CardBrand.amex.cvcLength == 4)
    }

    @Test("each failure has its own code, and no message contains the number")
    func distinctCodesWithoutCardData() {
        let number = "4242424242424242"
        let failures: [() throws -> Void] = [
            { _ = try CardValidation.checkNumber("4242x424242424242") },
            { _ = try CardValidation.checkNumber("424242424242") },
            { _ = try CardValidation.checkNumber(breakingLuhn(number)) },
            { _ = try CardValidation.checkNumber("9999999999999995") },
            { _ = try CardExpiry(month: 13, year: 2030, now: Self.now) },
            { _ = try CardExpiry(month: 1, year: 123, now: Self.now) },
            { _ = try CardExpiry(month: 1, year: 2020, now: Self.now) },
            { try CardValidation.checkCVC(Array("12".utf8), brand: .visa) },
        ]
        var codes: [CardValidationError.Code] = []
        for failure in failures {
            do {
                try failure()
                Issue.record("expected a failure")
            } catch let error as CardValidationError {
                codes.append(error.code)
                for text in [error.message, error.description] {
                    #expect(!text.contains("424242"))
                    #expect(!text.contains("9999999999"))
                }
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        #expect(codes.map(\.rawValue) == [
            "invalid_number", "incorrect_length", "failed_luhn", "unsupported_brand", "invalid_expiry_month",
            "invalid_expiry_year", "expired_card", "invalid_cvc",
        ])
    }
}
