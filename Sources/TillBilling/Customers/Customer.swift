import Foundation
import TillCore

/// A postal address, as the customer gave it (nothing here is validated beyond its size).
public struct PostalAddress: Hashable, Sendable, Codable {
    public var line1: String?
    public var line2: String?
    public var city: String?
    public var postalCode: String?
    public var state: String?
    /// ISO 3166-1 alpha-2, upper case.
    public var country: String?

    public init(
        line1: String? = nil, line2: String? = nil, city: String? = nil, postalCode: String? = nil, state: String? = nil,
        country: String? = nil
    ) {
        self.line1 = line1
        self.line2 = line2
        self.city = city
        self.postalCode = postalCode
        self.state = state
        self.country = country
    }
}

/// A card saved for later charges, as a vault token: the card itself (and never its CVC)
/// stays in the vault.
public struct SavedPaymentMethod: Hashable, Sendable, Codable {
    public var token: String
    public var savedAt: Date
    /// Whether a customer-initiated charge has used the card since it was saved: card
    /// networks want the first charge of a series made with the customer present, and later
    /// ones flagged as merchant-initiated.
    public var customerInitiatedChargeDone: Bool

    public init(token: String, savedAt: Date, customerInitiatedChargeDone: Bool = false) {
        self.token = token
        self.savedAt = savedAt
        self.customerInitiatedChargeDone = customerInitiatedChargeDone
    }
}

/// Someone a merchant bills, with what their documents are computed in: timezone,
/// language and currency.
public struct Customer: Hashable, Sendable, Codable {
    public var id: String
    public var email: String?
    public var name: String?
    public var address: PostalAddress?
    /// BCP 47 (`en-US`, `ja-JP`): documents and emails are written in it.
    public var locale: String
    /// IANA (`Asia/Tokyo`): billing dates, due dates and period boundaries are local to it.
    public var timeZone: String
    /// The one currency the customer is billed in; set by the first subscription or invoice
    /// when not given.
    public var currency: Currency?
    public var paymentMethod: SavedPaymentMethod?
    /// Credit the merchant owes the customer (from credit notes), in `currency`'s minor
    /// units; applied to the next invoices before anything is charged.
    public var creditBalance: Int64
    /// The test clock whose time the customer's billing runs on.
    public var testClockID: String?
    /// Billing stopped by the safety bound: invoices wait as drafts until the merchant
    /// releases the hold.
    public var hold: BillingHold?
    public var metadata: [String: String]
    public var createdAt: Date

    public init(
        id: String, email: String? = nil, name: String? = nil, address: PostalAddress? = nil, locale: String = "en-US",
        timeZone: String = "UTC", currency: Currency? = nil, testClockID: String? = nil, metadata: [String: String] = [:],
        createdAt: Date
    ) throws(BillingError) {
        _ = try BillingCalendar(timeZoneIdentifier: timeZone)
        try Self.check(locale: locale)
        if let email { try Self.check(email: email) }
        self.id = id
        self.email = email
        self.name = name
        self.address = address
        self.locale = locale
        self.timeZone = timeZone
        self.currency = currency
        self.paymentMethod = nil
        self.creditBalance = 0
        self.testClockID = testClockID
        self.hold = nil
        self.metadata = metadata
        self.createdAt = createdAt
    }

    public func calendar() throws(BillingError) -> BillingCalendar {
        try BillingCalendar(timeZoneIdentifier: timeZone)
    }

    /// The customer's credit, as money in their currency (zero when they have none yet).
    public func credit(in currency: Currency) -> Money {
        self.currency == currency ? Money(minorUnits: creditBalance, currency: currency) : .zero(currency)
    }

    /// A customer pays in one currency: a price or invoice in another is refused.
    public mutating func adopt(currency: Currency, param: String) throws(BillingError) {
        if let existing = self.currency, existing != currency {
            throw BillingError(
                .invalidInput, code: "currency_mismatch",
                "customer \(id) is billed in \(existing.code); \(currency.code) cannot be billed to them", param: param)
        }
        self.currency = currency
    }

    public static func check(locale: String) throws(BillingError) {
        // Language, optional script and region, as BCP 47 spells them; enough to choose
        // a document's language without accepting arbitrary text.
        let parts = locale.split(separator: "-", omittingEmptySubsequences: false)
        let valid =
            (1...3).contains(parts.count) && parts[0].count >= 2 && parts[0].count <= 3
            && parts.allSatisfy { part in !part.isEmpty && part.count <= 8 && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
        guard valid else { throw .invalid("preferred_locale", "\"\(locale.prefix(32))\" is not a BCP 47 locale such as en-US or ja-JP") }
    }

    public static func check(email: String) throws(BillingError) {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), email.utf8.count <= 254,
            !email.contains(where: { $0.isWhitespace || $0.isNewline })
        else { throw .invalid("email", "\"\(email.prefix(64))\" is not an email address") }
    }
}

/// Why and since when billing is held for a customer.
public struct BillingHold: Hashable, Sendable, Codable {
    public var reason: String
    public var invoiceID: String
    public var since: Date

    public init(reason: String, invoiceID: String, since: Date) {
        self.reason = reason
        self.invoiceID = invoiceID
        self.since = since
    }
}

/// A clock a developer moves by hand: customers on it, and their subscriptions, live at its
/// time, so months of billing happen in seconds through the same code as real time.
public struct TestClock: Hashable, Sendable, Codable {
    public enum Status: String, Hashable, Sendable, Codable { case ready, advancing }

    public var id: String
    public var name: String?
    public var frozenTime: Date
    public var status: Status
    public var createdAt: Date

    public init(id: String, name: String?, frozenTime: Date, createdAt: Date) {
        self.id = id
        self.name = name
        self.frozenTime = frozenTime
        self.status = .ready
        self.createdAt = createdAt
    }

    /// Moves the clock forward; it never goes back, since what happened at a time cannot be
    /// undone by returning to it.
    public func checkAdvance(to time: Date) throws(BillingError) {
        guard time > frozenTime else {
            throw .invalid("frozen_time", "a test clock only moves forward: \(time) is not after \(frozenTime)")
        }
        // Ten years is more than any test needs and bounds the work one advance can cause.
        guard time.timeIntervalSince(frozenTime) <= 10 * 366 * 86_400 else {
            throw .invalid("frozen_time", "a test clock advances at most ten years at a time")
        }
    }
}
