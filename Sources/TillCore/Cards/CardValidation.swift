/// Card number and CVC checks shared by the vault, the API and the sandboxes.
///
/// The functions work on ASCII bytes rather than `String`s so that a caller holding the
/// number in a wipeable buffer can check it without copying it into memory it cannot wipe.
/// Nothing here keeps, logs or reports the digits.
public enum CardValidation {
    /// What checking a card number found out, without the number itself.
    public struct NumberSummary: Hashable, Sendable {
        /// The network.
        public let brand: CardBrand
        /// How many digits the number has.
        public let length: Int
        /// The first six digits (the bank identification number), which may be shown.
        public let bin: String
        /// The last four digits, which may be shown.
        public let last4: String
    }

    /// Copies the digits of `input` into `output`, leaving out spaces and dashes, and
    /// returns how many were written.
    ///
    /// - Parameters:
    ///   - input: The number as typed, ASCII.
    ///   - output: At least `input.count` bytes.
    /// - Throws: `invalid_number` if `input` holds anything but digits, spaces and dashes,
    ///   or no digit at all.
    public static func normalizeNumber(
        _ input: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) throws(CardValidationError) -> Int {
        precondition(output.count >= input.count, "the output buffer must be as long as the input")
        var written = 0
        for byte in input {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                output[written] = byte
                written += 1
            case UInt8(ascii: " "), UInt8(ascii: "-"):
                continue
            default:
                throw .invalidNumber("the card number may contain only digits, spaces and dashes")
            }
        }
        guard written > 0 else { throw .invalidNumber("the card number is empty") }
        return written
    }

    /// `number` without its spaces and dashes, for callers that hold the number as a
    /// `String` anyway (the sandboxes, tests). The vault uses ``normalizeNumber(_:into:)``.
    public static func normalizedNumber(_ number: String) throws(CardValidationError) -> String {
        var digits: [UInt8] = []
        digits.reserveCapacity(number.utf8.count)
        for byte in number.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits.append(byte)
            case UInt8(ascii: " "), UInt8(ascii: "-"): continue
            default: throw .invalidNumber("the card number may contain only digits, spaces and dashes")
            }
        }
        guard !digits.isEmpty else { throw .invalidNumber("the card number is empty") }
        return String(decoding: digits, as: UTF8.self)
    }

    /// Checks a card number given as ASCII digits only (already normalized): overall
    /// length, brand, the brand's lengths, then the Luhn check digit.
    ///
    /// - Throws: `invalid_number` for a non-digit, `incorrect_length`, `unsupported_brand`
    ///   or `failed_luhn`, in that order of checking.
    public static func checkNumber(digits: some Collection<UInt8>) throws(CardValidationError) -> NumberSummary {
        guard !digits.isEmpty else { throw .invalidNumber("the card number is empty") }
        guard digits.allSatisfy(isDigit) else {
            throw .invalidNumber("the card number may contain only digits, spaces and dashes")
        }
        let length = digits.count
        guard (12...19).contains(length) else {
            throw .incorrectLength("a card number has 12 to 19 digits, this one has \(length)")
        }
        guard let brand = CardBrand(leadingDigits: digits) else { throw .unsupportedBrand }
        guard brand.allowedLengths.contains(length) else {
            throw .incorrectLength(
                "a \(brand.displayName) card number has \(describe(brand.allowedLengths)) digits, "
                    + "this one has \(length)")
        }
        guard passesLuhn(digits) else { throw .failedLuhn }
        return NumberSummary(
            brand: brand,
            length: length,
            bin: String(decoding: digits.prefix(6), as: UTF8.self),
            last4: String(decoding: digits.suffix(4), as: UTF8.self)
        )
    }

    /// Checks a card number as typed (spaces and dashes allowed).
    public static func checkNumber(_ number: String) throws(CardValidationError) -> NumberSummary {
        try checkNumber(digits: Array(normalizedNumber(number).utf8))
    }

    /// Whether ASCII digits pass the Luhn (mod 10) check of ISO/IEC 7812-1. False for an
    /// empty input or any non-digit.
    public static func passesLuhn(_ digits: some Collection<UInt8>) -> Bool {
        guard !digits.isEmpty else { return false }
        var sum = 0
        var doubled = false
        for byte in digits.reversed() {
            guard isDigit(byte) else { return false }
            var digit = Int(byte - UInt8(ascii: "0"))
            if doubled {
                digit *= 2
                if digit > 9 { digit -= 9 }
            }
            sum += digit
            doubled.toggle()
        }
        return sum % 10 == 0
    }

    /// Checks a CVC (ASCII) against the brand: digits only, four for American Express and
    /// three for every other brand.
    ///
    /// - Throws: `invalid_cvc`.
    public static func checkCVC(_ cvc: some Collection<UInt8>, brand: CardBrand) throws(CardValidationError) {
        guard cvc.allSatisfy(isDigit) else { throw .invalidCVC("the CVC may contain only digits") }
        guard cvc.count == brand.cvcLength else {
            throw .invalidCVC(
                "a \(brand.displayName) CVC has \(brand.cvcLength) digits, this one has \(cvc.count)")
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private static func describe(_ lengths: [Int]) -> String {
        guard let first = lengths.first, let last = lengths.last else { return "no" }
        if lengths.count == 1 { return "\(first)" }
        if lengths == Array(first...last) { return "\(first) to \(last)" }
        return lengths.dropLast().map(String.init).joined(separator: ", ") + " or \(last)"
    }
}
