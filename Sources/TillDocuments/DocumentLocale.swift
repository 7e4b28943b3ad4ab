import Foundation
import TillCore

/// The languages Till's documents and customer emails speak.
public enum DocumentLocale: String, Sendable, Hashable, CaseIterable, Codable {
    case en, de, fr, es, ja

    /// The best match for a BCP 47 tag (`de-AT`, `fr_CA`, `ja`), English when none matches.
    public init(tag: String) {
        let language = tag.lowercased().split(whereSeparator: { $0 == "-" || $0 == "_" }).first.map(String.init) ?? ""
        self = DocumentLocale(rawValue: language) ?? .en
    }

    /// The Foundation locale whose CLDR data formats numbers, money and dates: a region is
    /// needed for grouping and currency placement.
    var foundation: Locale {
        switch self {
        case .en: Locale(identifier: "en_US")
        case .de: Locale(identifier: "de_DE")
        case .fr: Locale(identifier: "fr_FR")
        case .es: Locale(identifier: "es_ES")
        case .ja: Locale(identifier: "ja_JP")
        }
    }
}

/// Formats a document's amounts, dates and percentages for one locale and timezone, from
/// CLDR (Foundation's ICU data): `1.234,56 €` in German, `1 234,56 €` in French (narrow
/// no-break space), `￥1,235`-style yen without decimals, three decimals for the dinar.
public struct DocumentFormatter: Sendable {
    public let locale: DocumentLocale
    public let timeZone: TimeZone

    public init(locale: DocumentLocale, timeZone: TimeZone) {
        self.locale = locale
        self.timeZone = timeZone
    }

    /// `timeZone` is an IANA name; an unknown one is refused rather than silently UTC.
    public init(locale: DocumentLocale, timeZoneIdentifier: String) throws(DocumentError) {
        guard let zone = TimeZone(identifier: timeZoneIdentifier) else {
            throw .invalid("time_zone", "\(timeZoneIdentifier) is not an IANA timezone")
        }
        self.init(locale: locale, timeZone: zone)
    }

    /// Exact: the minor units become a decimal with the currency's exponent, never a Double.
    public func money(_ amount: Money) -> String {
        let exponent = amount.currency.minorUnitExponent
        let value = Decimal(sign: amount.minorUnits < 0 ? .minus : .plus, exponent: -exponent,
                            significand: Decimal(amount.minorUnits.magnitude))
        let style = Decimal.FormatStyle.Currency(code: amount.currency.code, locale: locale.foundation)
            .precision(.fractionLength(exponent))
        return value.formatted(style)
    }

    /// A calendar date in the customer's timezone, in the locale's long form
    /// (`February 1, 2024`, `1. Februar 2024`, `2024年2月1日`).
    public func date(_ date: Date) -> String {
        date.formatted(Date.FormatStyle(date: .long, time: .omitted, locale: locale.foundation, timeZone: timeZone))
    }

    /// A billing period, both ends in the customer's timezone; the end is shown as the last
    /// day covered (periods are half-open).
    public func period(start: Date, end: Date) -> String {
        let last = end > start ? end.addingTimeInterval(-1) : end
        return "\(date(start)) – \(date(last))"
    }

    public func number(_ value: Int64) -> String {
        value.formatted(IntegerFormatStyle<Int64>(locale: locale.foundation))
    }

    /// A decimal quantity as text (usage), formatted without losing digits.
    public func decimal(_ text: String) -> String {
        guard let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else { return text }
        return value.formatted(Decimal.FormatStyle(locale: locale.foundation).precision(.fractionLength(0...12)))
    }

    /// A tax rate's percentage, `20 %` in French and German spacing, `20%` in English.
    public func percent(_ decimalString: String) -> String {
        guard let value = Decimal(string: decimalString, locale: Locale(identifier: "en_US_POSIX")) else {
            return decimalString + "%"
        }
        return (value / 100).formatted(
            Decimal.FormatStyle.Percent(locale: locale.foundation).precision(.fractionLength(0...4)))
    }
}

/// A document could not be built or rendered.
public enum DocumentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A merchant or caller value is unusable: the field and why.
    case invalid(String, String)
    /// The renderer failed (Cairo's status text).
    case rendering(String)

    public var description: String {
        switch self {
        case .invalid(let field, let reason): "\(field): \(reason)"
        case .rendering(let reason): "the document could not be rendered: \(reason)"
        }
    }
}
