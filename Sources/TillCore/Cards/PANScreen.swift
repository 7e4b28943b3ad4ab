/// Finds and masks text that looks like a card number (a primary account number, PAN).
///
/// One detector for every place free text leaves or enters Till: log lines, error
/// messages, stored error bodies, the audit log and the API's free-text fields. A run is
/// PAN-like when it holds 13 to 19 digits that pass the Luhn check; a single space or dash
/// may stand between digits, as people write card numbers (`4242 4242 4242 4242`,
/// `4242-4242-4242-4242`). A longer run of digits is an order number or a timestamp, not a
/// card, and is left alone (every 20-digit string holds some Luhn-valid 16-digit window, so
/// screening windows would refuse ordinary identifiers).
///
/// The screen reads UTF-8 bytes and never copies the digits into a `String`.
public enum PANScreen {
    /// One PAN-like run: where it is, in UTF-8 byte offsets of the text.
    public struct Match: Hashable, Sendable {
        /// The first byte of the run (a digit).
        public let start: Int
        /// One past the last byte of the run (a digit).
        public let end: Int
        /// How many digits the run holds.
        public let digitCount: Int

        public init(start: Int, end: Int, digitCount: Int) {
            self.start = start
            self.end = end
            self.digitCount = digitCount
        }
    }

    /// Whether `text` holds a PAN-like run anywhere.
    public static func containsCardNumber(_ text: some StringProtocol) -> Bool {
        var found = false
        scan(Array(text.utf8)) { _ in
            found = true
            return false
        }
        return found
    }

    /// Every PAN-like run in `bytes`, in order.
    public static func matches(in bytes: some Collection<UInt8>) -> [Match] {
        var result: [Match] = []
        scan(Array(bytes)) { match in
            result.append(match)
            return true
        }
        return result
    }

    /// `text` with every PAN-like run masked: each digit but the last four becomes `*`, the
    /// separators stay (`4242 4242 4242 4242` → `**** **** **** 4242`), so a reader still
    /// sees that a card was there and which one, and nothing that could charge it. Text
    /// without such a run comes back unchanged (and without a copy).
    public static func mask(_ text: String) -> String {
        var bytes = Array(text.utf8)
        let found = matches(in: bytes)
        guard !found.isEmpty else { return text }
        for match in found {
            var keep = 4
            var index = match.end - 1
            while index >= match.start {
                if isDigit(bytes[index]) {
                    if keep > 0 { keep -= 1 } else { bytes[index] = UInt8(ascii: "*") }
                }
                index -= 1
            }
        }
        // Only ASCII digits were replaced by an ASCII byte, so the bytes are still UTF-8.
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Calls `body` for each PAN-like run until it returns false.
    private static func scan(_ bytes: [UInt8], _ body: (Match) -> Bool) {
        var digits: [UInt8] = []
        digits.reserveCapacity(24)
        var runStart = -1
        var lastDigit = -1
        var lastWasSeparator = false

        // Ends the current run at its last digit; false when `body` asked to stop.
        func close() -> Bool {
            defer {
                digits.removeAll(keepingCapacity: true)
                runStart = -1
                lastWasSeparator = false
            }
            guard (13...19).contains(digits.count), CardValidation.passesLuhn(digits) else { return true }
            return body(Match(start: runStart, end: lastDigit + 1, digitCount: digits.count))
        }

        for (index, byte) in bytes.enumerated() {
            if isDigit(byte) {
                if runStart < 0 { runStart = index }
                digits.append(byte)
                lastDigit = index
                lastWasSeparator = false
            } else if (byte == 0x20 || byte == 0x2D) && runStart >= 0 && !lastWasSeparator {
                lastWasSeparator = true
            } else if runStart >= 0 {
                guard close() else { return }
            }
        }
        if runStart >= 0 { _ = close() }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
}
