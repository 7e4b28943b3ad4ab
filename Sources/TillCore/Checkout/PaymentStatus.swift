/// Where a payment stands, derived from its transactions and disputes; never stored.
public enum PaymentStatus: String, Hashable, Sendable, Codable, CaseIterable {
    /// The authorization waits for the customer to complete a 3-D Secure challenge.
    case requiresAction
    /// The authorization is pending or its outcome is unknown.
    case processing
    /// Authorized; nothing captured, nothing released.
    case authorized
    /// Part of the authorization is captured and more may still be captured.
    case partiallyCaptured
    /// Captured, with nothing left to capture (fully captured or the rest released).
    case captured
    case partiallyRefunded
    /// Everything captured was refunded.
    case refunded
    /// The authorization was released before any capture.
    case voided
    /// The issuer refused the authorization.
    case declined
    /// The authorization could not be processed (not a decision about the card).
    case failed
    /// The authorization lapsed before any capture.
    case expired
    /// A dispute is open.
    case disputed
    /// Money was taken back through a chargeback and not reinstated.
    case chargedBack
}

extension RawRepresentable where RawValue == String {
    /// The snake_case spelling the HTTP API uses for a camelCase case name
    /// (`partiallyCaptured` → `partially_captured`).
    public var apiName: String {
        var result = ""
        for character in rawValue {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }
}

/// What an operation or event did to a payment.
public enum Change: String, Hashable, Sendable, Codable {
    /// The payment changed.
    case applied
    /// A duplicated or late event, or an operation with nothing left to do: the payment is
    /// exactly as it was.
    case unchanged
}
