import Foundation
import SandboxSupport
import TillHTTP
import TillServer
import TillTesting
import Testing

@Suite("Bad input gets a clear 4xx and changes nothing")
struct BadInputTests {
    @Test("malformed, mistyped, unknown, negative, too precise, unknown currency, bad keys, other merchants' ids")
    func refusals() async throws {
        try await DaemonHarness.with { harness in
            let token = try await harness.tokenize()
            let paid = try await harness.call(
                .POST, "/v1/payments", json: #"{"amount": 900, "currency": "usd", "token": "\#(token)", "capture": "manual"}"#)
            let id = try #require(paid.json["id"] as? String)
            let eventsBefore = try await harness.call(.GET, "/v1/events?limit=100").json["data"] as? [Any]
            let ledgerBefore = try await harness.stripeAdmin.ledger()

            let cases: [(String, String?, Int, String)] = [
                ("/v1/payments", #"{"amount": 900, "currency": "usd", "token": "#, 400, "invalid_json"),
                ("/v1/payments", #"[1, 2]"#, 400, "invalid_json"),
                ("/v1/payments", #"{"amount": "900", "currency": "usd", "token": "\#(token)"}"#, 400, "parameter_invalid"),
                ("/v1/payments", #"{"amount": 900, "currency": "usd", "token": "\#(token)", "colour": "red"}"#, 400, "parameter_unknown"),
                ("/v1/payments", #"{"amount": -5, "currency": "usd", "token": "\#(token)"}"#, 400, "parameter_invalid"),
                ("/v1/payments", #"{"amount": 0, "currency": "usd", "token": "\#(token)"}"#, 400, "parameter_invalid"),
                ("/v1/payments", #"{"amount": 10.5, "currency": "usd", "token": "\#(token)"}"#, 400, "parameter_invalid"),
                ("/v1/payments", #"{"amount": 900, "currency": "xyz", "token": "\#(token)"}"#, 400, "parameter_invalid"),
                ("/v1/payments", #"{"amount": 900, "currency": "usd"}"#, 400, "parameter_missing"),
                ("/v1/payments", #"{"amount": 900, "currency": "usd", "token": "tok_unknown"}"#, 400, "token_invalid"),
                ("/v1/payments", #"{"amount": 900, "currency": "usd", "token": "\#(token)", "capture": "later"}"#, 400, "parameter_invalid"),
                ("/v1/payments", #"{"amount": 900, "currency": "usd", "token": "\#(token)", "initiator": "robot"}"#, 400, "parameter_invalid"),
                ("/v1/payments", #"{"amount": 900, "currency": "usd", "token": "\#(token)", "initiator": 1}"#, 400, "parameter_invalid"),
                ("/v1/payments", #"{"amount": 900, "currency": "usd", "token": "\#(token)", "initiator": "Merchant"}"#, 400, "parameter_invalid"),
                ("/v1/payments/\(id)/capture", #"{"amount": 100000}"#, 400, "amount_exceeds_limit"),
                ("/v1/payments/\(id)/capture", #"{"amount": -1}"#, 400, "parameter_invalid"),
                ("/v1/payments/\(id)/refunds", #"{"amount": 100}"#, 409, "not_allowed"),
                ("/v1/payments/pay_doesnotexist/capture", "{}", 404, "resource_missing"),
            ]
            for (path, body, status, code) in cases {
                let answer = try await harness.call(.POST, path, json: body)
                #expect(answer.status == status, "\(path) \(body ?? ""): \(answer.text)")
                #expect(answer.errorCode == code, "\(path) \(body ?? ""): \(answer.text)")
                let error = answer.json["error"] as? [String: Any]
                #expect((error?["message"] as? String)?.isEmpty == false)
            }

            // Keys: none, unknown, and another merchant's key cannot see this merchant's payment.
            #expect(try await harness.call(.GET, "/v1/payments/\(id)", key: "").status == 401)
            #expect(try await harness.call(.GET, "/v1/payments/\(id)", key: "sk_test_unknown").status == 401)
            let other = try await Merchants.create(name: "Other Shop", in: harness.daemon.server.store)
            let foreign = try await harness.call(.GET, "/v1/payments/\(id)", key: other.secretKey)
            #expect(foreign.status == 404)
            let foreignCapture = try await harness.call(.POST, "/v1/payments/\(id)/capture", json: "{}", key: other.secretKey)
            #expect(foreignCapture.status == 404)
            #expect(try await harness.call(.POST, "/v1/tokens", json: "{}", key: other.publishableKey).status == 400)

            // Nothing changed: the payment, the events and the gateway's ledger are as they were.
            let after = try await harness.call(.GET, "/v1/payments/\(id)")
            #expect(after.json["status"] as? String == "authorized")
            #expect((after.json["transactions"] as? [Any])?.count == 1)
            let eventsAfter = try await harness.call(.GET, "/v1/events?limit=100").json["data"] as? [Any]
            #expect(eventsAfter?.count == eventsBefore?.count)
            #expect(try await harness.stripeAdmin.ledger() == ledgerBefore)
        }
    }
}
