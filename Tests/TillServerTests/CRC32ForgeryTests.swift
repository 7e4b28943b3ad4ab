import Foundation
import Testing

@Suite("CRC32 forgery helper")
struct CRC32ForgeryTests {
    @Test("the checksum is CRC-32/IEEE")
    func knownAnswer() {
        #expect(CRC32Forgery.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test("a forged JSON body has the genuine body's CRC32 and stays valid JSON and printable ASCII")
    func forges() throws {
        let genuine = Array(#"{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"CAP-1"}}"#.utf8)
        let target = CRC32Forgery.checksum(genuine)
        for capture in ["CAP-1", "CAP-OTHER", "8MC585209K746392H"] {
            let prefix = Array(#"{"id":"WH-FORGED","event_type":"CUSTOMER.DISPUTE.CREATED","summary":""#.utf8)
            let suffix = Array(#"","resource":{"dispute_id":"PP-D-1","disputed_transactions":[{"seller_transaction_id":"\#(capture)"}]}}"#.utf8)
            let forged = try #require(CRC32Forgery.forge(prefix: prefix, suffix: suffix, target: target))
            #expect(CRC32Forgery.checksum(forged) == target)
            #expect(forged != genuine)
            #expect(forged.allSatisfy { (0x20..<0x7F).contains($0) })
            let object = try JSONSerialization.jsonObject(with: Data(forged)) as? [String: Any]
            #expect(object?["event_type"] as? String == "CUSTOMER.DISPUTE.CREATED")
        }
    }
}
