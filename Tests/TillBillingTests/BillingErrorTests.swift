import TillBilling
import TillCore
import Testing

@Suite("BillingError")
struct BillingErrorTests {
    @Test("money failures name what was being computed")
    func moneyNamesContext() {
        let error = BillingError.money(.overflow, while: "the invoice total")
        #expect(error.kind == .arithmetic)
        #expect(error.message.hasPrefix("the invoice total: "))
    }
}
