/// Who starts a charge, in the card networks' stored-credential terms.
///
/// Issuers treat a charge the customer is present for differently from one the merchant
/// makes alone on a card saved earlier: the second cannot answer a 3-D Secure challenge, and
/// the networks let it through on the strength of the first, properly flagged, charge. So the
/// gateway is told which one it is; the raw values are what the HTTP API spells.
public enum ChargeInitiator: String, Sendable, Hashable, Codable, CaseIterable {
    /// The customer is present and the card is not saved (the default).
    case customer
    /// The customer is present; the card is saved for later merchant-initiated charges.
    case customerSavingCard = "customer_saving_card"
    /// The customer is absent (a subscription renewal), on a card saved earlier.
    case merchant
}
