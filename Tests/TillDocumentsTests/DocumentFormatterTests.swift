import Foundation
import TillCore
import Testing
@testable import TillDocuments

@Suite("Document formatting: amounts, dates and percentages per locale")
struct DocumentFormatterTests {
    static func format(_ locale: DocumentLocale, zone: String = "UTC") throws -> DocumentFormatter {
        try DocumentFormatter(locale: locale, timeZoneIdentifier: zone)
    }

    @Test("amounts follow CLDR for each locale; JPY has no decimals, KWD three")
    func amounts() throws {
        let m = DocumentFixtures.money
        let expected: [(DocumentLocale, Money, String)] = [
            (.en, m(123_456_789, "USD"), "$1,234,567.89"),
            (.en, m(-1_250, "EUR"), "-€12.50"),
            (.en, m(1_234_567, "KWD"), "KWD\u{A0}1,234.567"),
            (.de, m(123_456, "EUR"), "1.234,56\u{A0}€"),
            (.de, m(1_235, "JPY"), "1.235\u{A0}¥"),
            (.fr, m(123_456_789, "EUR"), "1\u{202F}234\u{202F}567,89\u{A0}€"),
            (.fr, m(1_234_567, "KWD"), "1\u{202F}234,567\u{A0}KWD"),
            (.es, m(123_456, "EUR"), "1234,56\u{A0}€"),
            (.es, m(1_234_567, "EUR"), "12.345,67\u{A0}€"),
            (.ja, m(41_250, "JPY"), "¥41,250"),
            (.ja, m(5, "JPY"), "¥5"),
            (.ja, m(450_000, "USD"), "$4,500.00"),
        ]
        for (locale, amount, text) in expected {
            #expect(try Self.format(locale).money(amount) == text, "\(locale) \(amount)")
        }
    }

    @Test("every minor unit survives formatting, even at the top of Int64")
    func exact() throws {
        let format = try Self.format(.en)
        #expect(format.money(DocumentFixtures.money(Int64.max, "USD")) == "$92,233,720,368,547,758.07")
        #expect(format.money(DocumentFixtures.money(1, "KWD")) == "KWD\u{A0}0.001")
    }

    @Test("dates are the customer's local date: 2024-01-31T20:00Z is 1 February in Tokyo")
    func dates() throws {
        let instant = DocumentFixtures.issued
        #expect(try Self.format(.en, zone: "America/New_York").date(instant) == "January 31, 2024")
        #expect(try Self.format(.ja, zone: "Asia/Tokyo").date(instant) == "2024年2月1日")
        #expect(try Self.format(.de, zone: "Europe/Berlin").date(instant) == "31. Januar 2024")
        #expect(try Self.format(.fr, zone: "Asia/Tokyo").date(instant) == "1 février 2024")
        #expect(try Self.format(.es, zone: "Asia/Tokyo").date(instant) == "1 de febrero de 2024")
    }

    @Test("a period shows its last covered day, since periods are half-open")
    func period() throws {
        let start = Date(timeIntervalSince1970: 1_706_742_000)  // 2024-02-01T00:00+01:00
        let end = Date(timeIntervalSince1970: 1_709_247_600)  // 2024-03-01T00:00+01:00
        #expect(try Self.format(.de, zone: "Europe/Berlin").period(start: start, end: end) == "1. Februar 2024 – 29. Februar 2024")
    }

    @Test("percentages and quantities in the locale's digits")
    func percentages() throws {
        #expect(try Self.format(.en).percent("8.875") == "8.875%")
        #expect(try Self.format(.de).percent("19") == "19\u{A0}%")
        #expect(try Self.format(.fr).percent("5.5") == "5,5\u{A0}%")
        #expect(try Self.format(.de).number(12_345) == "12.345")
        #expect(try Self.format(.fr).decimal("1234.5") == "1\u{202F}234,5")
    }

    @Test("a locale tag picks its language; anything else is English; an unknown timezone is refused")
    func tags() {
        #expect(DocumentLocale(tag: "de-AT") == .de)
        #expect(DocumentLocale(tag: "fr_CA") == .fr)
        #expect(DocumentLocale(tag: "JA") == .ja)
        #expect(DocumentLocale(tag: "pt-BR") == .en)
        #expect(DocumentLocale(tag: "") == .en)
        #expect(throws: DocumentError.self) { try DocumentFormatter(locale: .en, timeZoneIdentifier: "Mars/Olympus") }
    }
}
