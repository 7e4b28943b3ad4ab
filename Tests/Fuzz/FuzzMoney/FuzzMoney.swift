// Fuzz target: decimal money strings (PayPal's amount `value`, `Money(decimalString:)`).
import FuzzSupport
import TillCore

private let currencies: [Currency] = [.usd, .jpy, .kwd, .clf]

/// Parses the input as an amount in currencies with 0, 2, 3 and 4 decimal places, exactly
/// and with every rounding mode. Whatever parses exactly must print as text that reads back
/// to the same amount.
func fuzzMoney(_ input: UnsafeRawBufferPointer) {
    let text = String(decoding: input, as: UTF8.self)
    for currency in currencies {
        if let money = try? Money(decimalString: text, currency: currency) {
            let printed = money.decimalString
            guard let again = try? Money(decimalString: printed, currency: currency), again == money else {
                fuzzFailure("\(currency) \(money.minorUnits) prints as \(printed), which does not read back")
            }
        }
        for rounding in RoundingMode.allCases {
            _ = try? Money(decimalString: text, currency: currency, rounding: rounding)
        }
    }
}

#if TILL_FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzMoney(fuzzInput(data, size))
    return 0
}
#else
@main enum Replay {
    static func main() { replayFiles(fuzzMoney) }
}
#endif
