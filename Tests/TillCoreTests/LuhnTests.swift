import PropertyBased
import Testing
import TillCore

/// `CardValidation.passesLuhn` is Till's one Luhn check: the vault, the PAN screen, the
/// sandboxes' test-card table and the fuzz target all call it.
@Suite("Luhn check")
struct LuhnTests {
    static let digits = Gen.uint8(in: 0...9).array(of: 11...18)

    static func text(_ digits: [UInt8]) -> [UInt8] { digits.map { $0 + UInt8(ascii: "0") } }

    @Test("known numbers: the ISO/IEC 7812-1 example and the sandbox's test cards")
    func vectors() {
        for number in ["79927398713", "4242424242424242", "4000056655665556", "5555555555554444", "378282246310005", "0", "00"] {
            #expect(CardValidation.passesLuhn(Array(number.utf8)), "\(number)")
        }
        for number in ["79927398710", "4242424242424241", "1", "", "4242 4242 4242 4242", "424242424242424a", "٤٢"] {
            #expect(!CardValidation.passesLuhn(Array(number.utf8)), "\(number)")
        }
    }

    @Test("exactly one check digit completes any payload")
    func oneCheckDigit() async {
        await propertyCheck(count: 500, input: Self.digits) { payload in
            let passing = (0...9).filter { CardValidation.passesLuhn(Self.text(payload + [UInt8($0)])) }
            #expect(passing.count == 1)
        }
    }

    @Test("any single changed digit, and any swap of two different adjacent digits but 0 and 9, fails")
    func detectsErrors() async {
        await propertyCheck(count: 300, input: Self.digits) { payload in
            guard let check = (0...9).first(where: { CardValidation.passesLuhn(Self.text(payload + [UInt8($0)])) }) else {
                Issue.record("no check digit")
                return
            }
            let number = payload + [UInt8(check)]
            for index in number.indices {
                for digit in UInt8(0)...9 where digit != number[index] {
                    var changed = number
                    changed[index] = digit
                    #expect(!CardValidation.passesLuhn(Self.text(changed)))
                }
                if index + 1 < number.count, number[index] != number[index + 1],
                    Set([number[index], number[index + 1]]) != [0, 9]
                {
                    var swapped = number
                    swapped.swapAt(index, index + 1)
                    #expect(!CardValidation.passesLuhn(Self.text(swapped)))
                }
            }
        }
    }
}
