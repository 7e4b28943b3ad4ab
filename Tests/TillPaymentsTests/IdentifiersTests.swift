import TillPayments
import Testing

@Suite("Identifiers")
struct IdentifiersTests {
    @Test("prefix, underscore, then enough base62 for the bits asked for", arguments: [(16, 22), (24, 33), (32, 43)])
    func format(bytes: Int, length: Int) {
        var seen: Set<String> = []
        for _ in 0..<500 {
            let id = bytes == 16 ? Identifiers.make("pay") : Identifiers.make("pay", bytes: bytes)
            #expect(id.hasPrefix("pay_"))
            let body = id.utf8.dropFirst(4)
            #expect(body.count == length)
            #expect(body.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) })
            seen.insert(id)
        }
        #expect(seen.count == 500)
    }
}
