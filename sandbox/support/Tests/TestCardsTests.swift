import SandboxSupport
import TillCore
import Testing

@Suite("Test cards")
struct TestCardsTests {
    @Test("every card in the table passes the Luhn check and has a unique alias")
    func tableIsConsistent() {
        for card in TestCards.all {
            #expect(TestCards.isPlausibleNumber(card.number), "\(card.number)")
            #expect(TestCards.card(stripePaymentMethod: card.stripePaymentMethod) == card)
        }
        #expect(Set(TestCards.all.map(\.stripePaymentMethod)).count == TestCards.all.count)
    }

    @Test("the issue's cards drive the issue's outcomes")
    func behaviours() {
        let expected: [String: CardBehavior] = [
            "4242424242424242": .succeed,
            "4000000000000002": .declineGeneric,
            "4000000000009995": .declineInsufficientFunds,
            "4000000000009987": .declineLostCard,
            "4000000000009979": .declineStolenCard,
            "4000000000000069": .declineExpiredCard,
            "4000000000000127": .declineIncorrectCVC,
            "4000000000000119": .declineProcessingError,
            "4000002760003184": .requiresAuthentication,
            "4000000000000259": .disputeFraudulent,
            "4000000000002685": .disputeProductNotReceived,
            "4000000000001976": .disputeInquiry,
            "4000000000007726": .refundPendingThenSucceeds,
            "4000000000005126": .refundSucceedsThenFails,
        ]
        for (number, behavior) in expected {
            #expect(TestCards.behavior(forNumber: number) == behavior, "\(number)")
        }
    }

    @Test("other Luhn-valid numbers succeed; implausible ones are refused")
    func otherNumbers() {
        #expect(TestCards.behavior(forNumber: "4111111111111111") == .succeed)
        #expect(TestCards.behavior(forNumber: "4111111111111112") == nil)
        #expect(TestCards.behavior(forNumber: "42424242") == nil)
        #expect(TestCards.behavior(forNumber: "4242 4242 4242 4242") == nil)
        #expect(TestCards.behavior(forNumber: "") == nil)
        #expect(TestCards.behavior(forNumber: "４２４２４２４２４２４２４２４２") == nil)
    }

    @Test("brands from leading digits", arguments: [
        ("4242424242424242", CardBrand?.some(.visa)), ("5555555555554444", .mastercard),
        ("2223003122003222", .mastercard), ("378282246310005", .amex), ("6011111111111117", .discover),
        ("3566002020360505", .jcb), ("36227206271667", .diners), ("6200000000000005", .unionpay),
        ("9999999999999995", nil),
    ])
    func brands(number: String, brand: CardBrand?) {
        #expect(CardBrand(number: number) == brand)
    }
}
