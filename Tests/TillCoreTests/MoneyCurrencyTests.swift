import Foundation
import Testing

@testable import TillCore

@Suite("Currency and the ISO 4217 table")
struct MoneyCurrencyTests {
    @Test("the table has about 180 rows, no duplicate codes or numbers, in alphabetical order")
    func tableShape() {
        let codes = ISO4217.entries.map(\.code)
        #expect((170...190).contains(codes.count))
        #expect(Set(codes).count == codes.count)
        #expect(Set(ISO4217.entries.map(\.numericCode)).count == codes.count)
        #expect(codes == codes.sorted())
        for entry in ISO4217.entries {
            #expect(entry.code.utf8.count == 3 && entry.code == entry.code.uppercased())
            #expect((1...999).contains(entry.numericCode))
            #expect(!entry.name.isEmpty)
        }
        #expect((150...185).contains(Currency.all.count))
        #expect(Currency.all.map(\.code) == Currency.all.map(\.code).sorted())
    }

    @Test(
        "known minor-unit exponents",
        arguments: [
            ("USD", 2), ("EUR", 2), ("GBP", 2), ("JPY", 0), ("KRW", 0), ("ISK", 0), ("CLP", 0),
            ("VND", 0), ("XOF", 0), ("BHD", 3), ("IQD", 3), ("JOD", 3), ("KWD", 3), ("LYD", 3),
            ("OMR", 3), ("TND", 3), ("CLF", 4), ("UYW", 4), ("UYI", 0),
        ])
    func knownExponents(code: String, exponent: Int) throws {
        let currency = try #require(Currency(code: code))
        #expect(currency.minorUnitExponent == exponent)
        #expect(currency.code == code)
    }

    @Test(
        "current codes are present, with fund codes marked",
        arguments: ["ZWG", "VED", "VES", "SLE", "XCG", "XAD", "BOV", "CHE", "CHW", "COU", "MXV", "USN", "UYI"])
    func currentCodesPresent(code: String) throws {
        let currency = try #require(Currency(code: code))
        let funds: Set = ["XAD", "BOV", "CHE", "CHW", "COU", "MXV", "USN", "UYI"]
        #expect(currency.isFund == funds.contains(code))
    }

    @Test(
        "withdrawn codes are refused as unknown",
        arguments: ["HRK", "SLL", "ANG", "ZWL", "CUC", "BGN", "DEM", "VEF"])
    func withdrawnCodes(code: String) {
        #expect(Currency(code: code) == nil)
        #expect(throws: CurrencyError.unknownCode(code)) { try Currency(validatingCode: code) }
    }

    @Test(
        "codes without a minor unit cannot hold money",
        arguments: ["XAU", "XAG", "XPD", "XPT", "XDR", "XUA", "XSU", "XBA", "XBB", "XBC", "XBD", "XTS", "XXX"])
    func codesWithoutMinorUnit(code: String) {
        #expect(ISO4217.entries.contains { $0.code == code && $0.minorUnit == .notApplicable })
        #expect(Currency(code: code) == nil)
        #expect(Currency(code: code.lowercased()) == nil)
        #expect(throws: CurrencyError.noMinorUnit(code)) { try Currency(validatingCode: code) }
        #expect(!Currency.all.contains { $0.code == code })
    }

    @Test("lookup ignores ASCII letter case only")
    func caseInsensitiveLookup() {
        #expect(Currency(code: "usd") == .usd)
        #expect(Currency(code: "uSd")?.code == "USD")
        #expect(Currency(code: "Kwd") == .kwd)
        for bad in ["", "US", "USDD", " USD", "USD ", "U$D", "uſd", "ＵＳＤ", "US\u{0}", "123"] {
            #expect(Currency(code: bad) == nil, "accepted \(bad.debugDescription)")
        }
    }

    @Test("every usable row is reachable by code and by number")
    func lookups() throws {
        for currency in Currency.all {
            #expect(Currency(code: currency.code) == currency)
            #expect(Currency(code: currency.code.lowercased()) == currency)
            let byNumber = try #require(Currency(numericCode: currency.numericCode))
            #expect(byNumber == currency)
        }
        #expect(Currency(numericCode: 840) == .usd)
        #expect(Currency(numericCode: 532)?.code == "XCG")
        #expect(Currency(numericCode: 959) == nil)  // XAU
        #expect(Currency(numericCode: 0) == nil)
    }

    @Test("built-in constants match the table")
    func constants() {
        let expected: [(Currency, String, Int, Int)] = [
            (.usd, "USD", 840, 2), (.eur, "EUR", 978, 2), (.gbp, "GBP", 826, 2),
            (.jpy, "JPY", 392, 0), (.kwd, "KWD", 414, 3), (.clf, "CLF", 990, 4),
        ]
        for (currency, code, number, exponent) in expected {
            #expect(currency.code == code)
            #expect(currency.numericCode == number)
            #expect(currency.minorUnitExponent == exponent)
            #expect(Currency(code: code) == currency)
        }
        #expect(Currency.usd.name == "US Dollar")
    }

    @Test("Codable as the upper-case code")
    func codable() throws {
        let encoded = try JSONEncoder().encode([Currency.usd, .jpy])
        #expect(String(decoding: encoded, as: UTF8.self) == #"["USD","JPY"]"#)
        let decoded = try JSONDecoder().decode([Currency].self, from: Data(#"["usd","KWD"]"#.utf8))
        #expect(decoded == [.usd, .kwd])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Currency.self, from: Data(#""XAU""#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Currency.self, from: Data(#""HRK""#.utf8))
        }
    }

    @Test("errors say what was wrong")
    func errorDescriptions() {
        #expect(CurrencyError.unknownCode("HRK").description.contains("HRK"))
        #expect(CurrencyError.noMinorUnit("XAU").description.contains("no minor unit"))
    }
}
