import Testing
import TillCore

@Suite("PAN screen: finding and masking card numbers in free text")
struct PANScreenTests {
    @Test("finds card numbers as people write them", arguments: [
        "4242424242424242", "card 4242 4242 4242 4242 please", "4242-4242-4242-4242",
        "/v1/payments/4000056655665556/capture", "amex 378282246310005.", "x5555555555554444y",
        "6011111111111117", "3056930009020004",
    ])
    func finds(_ text: String) {
        #expect(PANScreen.containsCardNumber(text))
    }

    @Test("leaves ordinary numbers alone", arguments: [
        "", "order 1001", "4242424242424241", "20261202175500123456789",
        "4242  4242 4242 4242", "4242--4242-4242-4242", "pay_4242", "12345678901234567890123",
        "tel +49 30 1234567",
    ])
    func ignores(_ text: String) {
        #expect(!PANScreen.containsCardNumber(text))
    }

    @Test("masks every digit but the last four, keeping separators and the text around")
    func masks() {
        #expect(PANScreen.mask("card 4242 4242 4242 4242 ok") == "card **** **** **** 4242 ok")
        #expect(PANScreen.mask("/v1/x/4242424242424242/y") == "/v1/x/************4242/y")
        #expect(PANScreen.mask("a 4242424242424242 b 5555-5555-5555-4444") == "a ************4242 b ****-****-****-4444")
        #expect(PANScreen.mask("nothing here 1234") == "nothing here 1234")
        #expect(PANScreen.mask("naïve 4242424242424242 ✓") == "naïve ************4242 ✓")
        #expect(!PANScreen.containsCardNumber(PANScreen.mask("4242424242424242 and 378282246310005")))
    }

    @Test("matches report byte offsets of the digits")
    func offsets() {
        let found = PANScreen.matches(in: Array("ab 4242 4242 4242 4242-".utf8))
        #expect(found.map { [$0.start, $0.end, $0.digitCount] } == [[3, 22, 16]])
    }
}
