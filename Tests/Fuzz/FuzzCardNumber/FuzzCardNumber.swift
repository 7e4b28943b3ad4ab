// Fuzz target: card numbers and CVCs as `POST /v1/tokens` and the sandboxes receive them.
import FuzzSupport
import TillCore

/// Checks the input as a card number through both entry points (String and wipeable
/// buffer), which must agree, and as a CVC for every brand. A number that passes must
/// pass Luhn and report its own last four digits.
func fuzzCardNumber(_ input: UnsafeRawBufferPointer) {
    let text = String(decoding: input, as: UTF8.self)
    let fromString = Result { () throws(CardValidationError) in try CardValidation.checkNumber(text) }
    var digits = [UInt8](repeating: 0, count: input.count)
    let fromBuffer = digits.withUnsafeMutableBytes { output in
        Result { () throws(CardValidationError) in
            let count = try CardValidation.normalizeNumber(input, into: output)
            return try CardValidation.checkNumber(digits: output.prefix(count))
        }
    }
    if let summary = try? fromBuffer.get() {
        let normalized = (try? CardValidation.normalizedNumber(text)) ?? ""
        guard CardValidation.passesLuhn(Array(normalized.utf8)), normalized.hasSuffix(summary.last4),
            normalized.hasPrefix(summary.bin), summary.length == normalized.utf8.count
        else { fuzzFailure("a number that passed does not match its summary") }
    }
    // Only valid UTF-8 reads the same as a String and as bytes.
    if String(validating: input, as: UTF8.self) != nil, (try? fromString.get()) != (try? fromBuffer.get()) {
        fuzzFailure("checkNumber(String) and checkNumber(digits:) disagree")
    }
    for brand in CardBrand.allCases {
        _ = try? CardValidation.checkCVC(input, brand: brand)
    }
}

#if TILL_FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzCardNumber(fuzzInput(data, size))
    return 0
}
#else
@main enum Replay {
    static func main() { replayFiles(fuzzCardNumber) }
}
#endif
