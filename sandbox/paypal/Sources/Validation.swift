import Foundation
import SandboxSupport
import TillCore

/// One JSON object of a request body, with the JSON pointer of where it sits, so every
/// error names the exact field (`/purchase_units/0/amount/value`) as PayPal does.
struct Fields {
    let members: [String: JSONValue]
    let pointer: String

    /// Reads `value` as an object whose members must all be in `allowed`; a missing value
    /// reads as an empty object.
    init(_ value: JSONValue?, pointer: String, allowed: Set<String>) throws(PayPalError) {
        self.pointer = pointer
        switch value {
        case nil, .null?:
            members = [:]
        case .object(let members)?:
            self.members = members
        case let other?:
            throw .invalidRequest(
                "INVALID_PARAMETER_SYNTAX", "Expected an object, got \(other.typeName).",
                field: pointer.isEmpty ? "/" : pointer)
        }
        if let unknown = members.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw .invalidRequest(
                "UNKNOWN_FIELD", "The field is not defined for this request.", field: "\(pointer)/\(unknown)")
        }
    }

    var isEmpty: Bool { members.isEmpty }

    func path(_ key: String) -> String { "\(pointer)/\(key)" }

    func has(_ key: String) -> Bool {
        if case .null? = members[key] { return false }
        return members[key] != nil
    }

    private static func missing(_ field: String) -> PayPalError {
        .invalidRequest("MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing.", field: field)
    }

    func string(_ key: String, required: Bool = false, maxLength: Int = 127) throws(PayPalError) -> String? {
        switch members[key] {
        case nil, .null?:
            if required { throw Self.missing(path(key)) }
            return nil
        case .string(let value)?:
            guard !value.isEmpty || !required else {
                throw .invalidRequest(
                    "INVALID_STRING_LENGTH", "The value of a field is either too short or too long.", field: path(key))
            }
            guard value.count <= maxLength else {
                throw .invalidRequest(
                    "INVALID_STRING_MAX_LENGTH", "The value of a field is too long (at most \(maxLength) characters).",
                    field: path(key))
            }
            return value
        case let other?:
            throw .invalidRequest(
                "INVALID_PARAMETER_SYNTAX", "Expected a string, got \(other.typeName).", field: path(key))
        }
    }

    func bool(_ key: String) throws(PayPalError) -> Bool? {
        switch members[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case let other?:
            throw .invalidRequest("INVALID_PARAMETER_SYNTAX", "Expected a boolean, got \(other.typeName).", field: path(key))
        }
    }

    func object(_ key: String, allowed: Set<String>, required: Bool = false) throws(PayPalError) -> Fields? {
        guard has(key) else {
            if required { throw Self.missing(path(key)) }
            return nil
        }
        return try Fields(members[key], pointer: path(key), allowed: allowed)
    }

    func array(_ key: String, required: Bool = false) throws(PayPalError) -> [JSONValue]? {
        switch members[key] {
        case nil, .null?:
            if required { throw Self.missing(path(key)) }
            return nil
        case .array(let values)?:
            return values
        case let other?:
            throw .invalidRequest("INVALID_PARAMETER_SYNTAX", "Expected an array, got \(other.typeName).", field: path(key))
        }
    }

    /// A PayPal money object `{currency_code, value}`, validated against the currency's
    /// minor unit: too many decimals is `DECIMAL_PRECISION`, never a silent rounding.
    func money(_ key: String, required: Bool = false, extraAllowed: Set<String> = []) throws(PayPalError) -> Money? {
        guard let fields = try object(key, allowed: Set(["currency_code", "value"]).union(extraAllowed), required: required)
        else { return nil }
        let code = try fields.string("currency_code", required: true, maxLength: 3) ?? ""
        let text = try fields.string("value", required: true, maxLength: 32) ?? ""
        guard code.utf8.count == 3, code == code.uppercased(), let currency = Currency(code: code) else {
            throw .unprocessable(
                "INVALID_CURRENCY_CODE",
                "Currency code is invalid or is not currently supported. Please refer https://developer.paypal.com/docs/api/reference/currency-codes/ for list of supported currency codes.",
                field: fields.path("currency_code"), value: code)
        }
        let money: Money
        do throws(MoneyError) {
            money = try Money(decimalString: text, currency: currency)
        } catch {
            switch error {
            case .excessPrecision:
                throw .unprocessable(
                    "DECIMAL_PRECISION",
                    "If the currency supports decimals, only two decimal place precision is supported. \(currency.code) allows \(currency.minorUnitExponent) decimal place(s).",
                    field: fields.path("value"), value: text)
            case .overflow:
                throw .unprocessable(
                    "MAX_VALUE_EXCEEDED", "Should be less than or equal to 999999999999999.99.",
                    field: fields.path("value"), value: text)
            default:
                throw .invalidRequest(
                    "INVALID_PARAMETER_SYNTAX", "The value of a field does not conform to the expected format.",
                    field: fields.path("value"), value: text)
            }
        }
        guard money.minorUnits > 0 else {
            throw .unprocessable(
                "CANNOT_BE_ZERO_OR_NEGATIVE", "Must be greater than zero.", field: fields.path("value"), value: text)
        }
        var limit: Int64 = 1_000_000_000_000_000
        for _ in 0..<currency.minorUnitExponent {
            let (next, overflow) = limit.multipliedReportingOverflow(by: 10)
            if overflow { break }
            limit = next
        }
        guard money.minorUnits < limit else {
            throw .unprocessable(
                "MAX_VALUE_EXCEEDED", "The value supports up to 15 digits preceding the decimal.",
                field: fields.path("value"), value: text)
        }
        return money
    }
}

/// A card given in `payment_source.card`.
struct CardInput {
    var record: CardRecord

    static let allowed: Set<String> = [
        "number", "expiry", "security_code", "name", "billing_address", "attributes", "stored_credential",
        "experience_context", "network_token", "type", "brand", "single_use_token", "vault_id",
    ]

    init(_ fields: Fields, now: Date) throws(PayPalError) {
        let number = try fields.string("number", required: true, maxLength: 19) ?? ""
        guard let behavior = TestCards.behavior(forNumber: number) else {
            throw .unprocessable(
                "INVALID_PARAMETER_VALUE", "The card number is not valid (12 to 19 digits passing the Luhn check).",
                field: fields.path("number"))
        }
        let expiry = try fields.string("expiry", required: true, maxLength: 7) ?? ""
        let parts = expiry.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2, let year = Int(parts[0]),
            let month = Int(parts[1]), (1...12).contains(month)
        else {
            throw .invalidRequest(
                "INVALID_PARAMETER_SYNTAX", "The expiry must be YYYY-MM.", field: fields.path("expiry"), value: expiry)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let today = calendar.dateComponents([.year, .month], from: now)
        if let thisYear = today.year, let thisMonth = today.month, (year, month) < (thisYear, thisMonth) {
            throw .unprocessable("CARD_EXPIRED", "The card is expired.", field: fields.path("expiry"), value: expiry)
        }
        if let code = try fields.string("security_code", maxLength: 8) {
            guard (3...4).contains(code.utf8.count), code.utf8.allSatisfy({ (48...57).contains($0) }) else {
                throw .unprocessable(
                    "INVALID_SECURITY_CODE_LENGTH", "The security code must be 3 or 4 digits.",
                    field: fields.path("security_code"))
            }
        }
        let name = try fields.string("name", maxLength: 300)
        record = CardRecord(
            lastDigits: String(number.suffix(4)), brand: CardBrand(number: number), name: name, expiry: expiry,
            behavior: behavior)
        if let stored = try fields.object(
            "stored_credential",
            allowed: ["payment_initiator", "payment_type", "usage", "previous_network_transaction_reference"])
        {
            record.storedCredential = try Self.storedCredential(stored)
        }
    }

    /// `stored_credential`: the enums as the orders API lists them, and its compatibility
    /// rules (ONE_TIME and FIRST only for CUSTOMER, a previous network reference only for
    /// MERCHANT).
    static func storedCredential(_ fields: Fields) throws(PayPalError) -> StoredCredential {
        func member(_ key: String, of allowed: [String], required: Bool) throws(PayPalError) -> String? {
            guard let value = try fields.string(key, required: required, maxLength: 255) else { return nil }
            guard allowed.contains(value) else {
                throw .invalidRequest(
                    "INVALID_PARAMETER_VALUE", "The value of a field is invalid: \(key) is one of \(allowed.joined(separator: ", ")).",
                    field: fields.path(key), value: value)
            }
            return value
        }
        let initiator = try member("payment_initiator", of: ["CUSTOMER", "MERCHANT"], required: true) ?? ""
        let type = try member("payment_type", of: ["ONE_TIME", "RECURRING", "UNSCHEDULED"], required: true) ?? ""
        let usage = try member("usage", of: ["FIRST", "SUBSEQUENT", "DERIVED"], required: false) ?? "DERIVED"
        if initiator != "CUSTOMER" {
            for (key, value) in [("payment_type", type), ("usage", usage)] where value == "ONE_TIME" || value == "FIRST" {
                throw .unprocessable(
                    "INCOMPATIBLE_PARAMETER_VALUE", "\(key)=\(value) is compatible only with payment_initiator=CUSTOMER.",
                    field: fields.path(key), value: value)
            }
        }
        if fields.has("previous_network_transaction_reference") {
            guard initiator == "MERCHANT" else {
                throw .unprocessable(
                    "INCOMPATIBLE_PARAMETER_VALUE",
                    "previous_network_transaction_reference is compatible only with payment_initiator=MERCHANT.",
                    field: fields.path("previous_network_transaction_reference"))
            }
            let reference = try fields.object(
                "previous_network_transaction_reference", allowed: ["id", "date", "network", "acquirer_reference_number"])
            _ = try reference?.string("id", required: true, maxLength: 36)
        }
        return StoredCredential(paymentInitiator: initiator, paymentType: type, usage: usage)
    }
}

/// `payment_source` with a card: the only kind the sandbox charges directly.
func parsePaymentSource(_ fields: Fields, now: Date) throws(PayPalError) -> CardRecord? {
    guard let source = try fields.object(
            "payment_source",
            allowed: [
                "card", "token", "paypal", "bancontact", "blik", "eps", "giropay", "ideal", "mybank", "p24", "sofort",
                "trustly", "apple_pay", "google_pay", "venmo",
            ]) else { return nil }
    guard let card = try source.object("card", allowed: CardInput.allowed) else {
        throw .unprocessable(
            "PAYMENT_SOURCE_NOT_SUPPORTED", "The sandbox charges cards only: give payment_source.card.",
            field: source.pointer)
    }
    return try CardInput(card, now: now).record
}
