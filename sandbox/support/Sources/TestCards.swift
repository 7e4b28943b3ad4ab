import TillCore

/// What a sandbox does when a card is charged.
///
/// The same card numbers drive the same outcomes in every sandbox, so one test can run the
/// same story through the Stripe-like and the PayPal-like gateway.
public enum CardBehavior: String, Hashable, Sendable, Codable, CaseIterable {
    /// The authorization succeeds, and so do captures and refunds.
    case succeed
    /// A generic decline (`card_declined` / `generic_decline`).
    case declineGeneric
    case declineInsufficientFunds
    case declineLostCard
    case declineStolenCard
    case declineExpiredCard
    case declineIncorrectCVC
    /// The issuer failed to process the charge (`processing_error`).
    case declineProcessingError
    /// The authorization needs a 3-D Secure challenge first (`requires_action`).
    case requiresAuthentication
    /// Succeeds, then is disputed as fraudulent once captured.
    case disputeFraudulent
    /// Succeeds, then is disputed as product not received once captured.
    case disputeProductNotReceived
    /// Succeeds, then gets an inquiry (an early-stage dispute that moves no money).
    case disputeInquiry
    /// Refunds start `pending` and succeed a moment later.
    case refundPendingThenSucceeds
    /// Refunds succeed at first and fail a moment later.
    case refundSucceedsThenFails

    /// Whether the authorization is declined, and how.
    public var decline: CardDecline? {
        switch self {
        case .declineGeneric: .generic
        case .declineInsufficientFunds: .insufficientFunds
        case .declineLostCard: .lostCard
        case .declineStolenCard: .stolenCard
        case .declineExpiredCard: .expiredCard
        case .declineIncorrectCVC: .incorrectCVC
        case .declineProcessingError: .processingError
        default: nil
        }
    }

    /// The dispute this card attracts after capture, if any.
    public var dispute: (reason: DisputeReason, isInquiry: Bool)? {
        switch self {
        case .disputeFraudulent: (.fraudulent, false)
        case .disputeProductNotReceived: (.productNotReceived, false)
        case .disputeInquiry: (.general, true)
        default: nil
        }
    }
}

/// How an issuer declined a card, in terms both sandboxes translate into their own codes.
public enum CardDecline: String, Hashable, Sendable, Codable, CaseIterable {
    case generic
    case insufficientFunds
    case lostCard
    case stolenCard
    case expiredCard
    case incorrectCVC
    case processingError
}

/// Why a cardholder disputes a charge.
public enum DisputeReason: String, Hashable, Sendable, Codable {
    case fraudulent
    case productNotReceived
    case general
}

/// One row of the test-card table.
public struct TestCard: Hashable, Sendable {
    public let number: String
    public let behavior: CardBehavior
    /// Stripe's test PaymentMethod id for this card (`pm_card_visa`).
    public let stripePaymentMethod: String

    /// The network, from TillCore's brand table; `nil` for a number no network issues.
    public var brand: CardBrand? { CardBrand(number: number) }
    public var last4: String { String(number.suffix(4)) }
}

/// The cards every sandbox knows, and what charging them does.
///
/// Any other number that passes the Luhn check succeeds, as a real test-mode card would;
/// one that fails it is refused as an incorrect number.
public enum TestCards {
    public static let all: [TestCard] = [
        TestCard(number: "4242424242424242", behavior: .succeed, stripePaymentMethod: "pm_card_visa"),
        TestCard(number: "5555555555554444", behavior: .succeed, stripePaymentMethod: "pm_card_mastercard"),
        TestCard(number: "378282246310005", behavior: .succeed, stripePaymentMethod: "pm_card_amex"),
        TestCard(number: "6011111111111117", behavior: .succeed, stripePaymentMethod: "pm_card_discover"),
        TestCard(
            number: "4000000000000002", behavior: .declineGeneric,
            stripePaymentMethod: "pm_card_visa_chargeDeclined"),
        TestCard(
            number: "4000000000009995", behavior: .declineInsufficientFunds,
            stripePaymentMethod: "pm_card_visa_chargeDeclinedInsufficientFunds"),
        TestCard(
            number: "4000000000009987", behavior: .declineLostCard,
            stripePaymentMethod: "pm_card_visa_chargeDeclinedLostCard"),
        TestCard(
            number: "4000000000009979", behavior: .declineStolenCard,
            stripePaymentMethod: "pm_card_visa_chargeDeclinedStolenCard"),
        TestCard(
            number: "4000000000000069", behavior: .declineExpiredCard,
            stripePaymentMethod: "pm_card_chargeDeclinedExpiredCard"),
        TestCard(
            number: "4000000000000127", behavior: .declineIncorrectCVC,
            stripePaymentMethod: "pm_card_chargeDeclinedIncorrectCvc"),
        TestCard(
            number: "4000000000000119", behavior: .declineProcessingError,
            stripePaymentMethod: "pm_card_chargeDeclinedProcessingError"),
        TestCard(
            number: "4000002760003184", behavior: .requiresAuthentication,
            stripePaymentMethod: "pm_card_authenticationRequired"),
        TestCard(
            number: "4000000000000259", behavior: .disputeFraudulent,
            stripePaymentMethod: "pm_card_createDispute"),
        TestCard(
            number: "4000000000002685", behavior: .disputeProductNotReceived,
            stripePaymentMethod: "pm_card_createDisputeProductNotReceived"),
        TestCard(
            number: "4000000000001976", behavior: .disputeInquiry,
            stripePaymentMethod: "pm_card_createDisputeInquiry"),
        TestCard(
            number: "4000000000007726", behavior: .refundPendingThenSucceeds,
            stripePaymentMethod: "pm_card_pendingRefund"),
        TestCard(
            number: "4000000000005126", behavior: .refundSucceedsThenFails,
            stripePaymentMethod: "pm_card_refundFail"),
    ]

    /// The card every sandbox approves (Visa 4242…): what benchmarks and examples use.
    public static let approved = all[0]

    /// The first card in the table with `behavior` (every behavior has one).
    public static func number(for behavior: CardBehavior) -> String {
        all.first { $0.behavior == behavior }?.number ?? approved.number
    }

    private static let byNumber = Dictionary(uniqueKeysWithValues: all.map { ($0.number, $0) })
    private static let byPaymentMethod = Dictionary(
        uniqueKeysWithValues: all.map { ($0.stripePaymentMethod, $0) })

    /// The table row for a card number, if the number is one of the test cards.
    public static func card(number: String) -> TestCard? { byNumber[number] }

    /// The table row for one of Stripe's `pm_card_*` test PaymentMethod ids.
    public static func card(stripePaymentMethod id: String) -> TestCard? { byPaymentMethod[id] }

    /// What charging `number` does, or `nil` when the number is not a plausible card number
    /// (not 12–19 digits, or failing the Luhn check).
    public static func behavior(forNumber number: String) -> CardBehavior? {
        if let card = byNumber[number] { return card.behavior }
        return isPlausibleNumber(number) ? .succeed : nil
    }

    /// Whether `number` is 12 to 19 ASCII digits that pass the Luhn check.
    public static func isPlausibleNumber(_ number: String) -> Bool {
        let bytes = Array(number.utf8)
        return (12...19).contains(bytes.count) && CardValidation.passesLuhn(bytes)
    }
}
