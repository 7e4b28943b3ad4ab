import Foundation
@testable import StripeGateway
import Testing
import TillCore
import TillGateway
import TillHTTP

@Suite("StripeClassification: the outcome table")
struct StripeClassificationTests {
    struct Object: Decodable, Sendable { var id: String }

    static func reply(_ status: Int, _ body: String) -> Result<HTTPResponse, HTTPClientError> {
        .success(HTTPResponse(status: status, body: Array(body.utf8)))
    }

    static func error(type: String, code: String? = nil) -> String {
        #"{"error": {"type": "\#(type)", "message": "m""# + (code.map { #", "code": "\#($0)""# } ?? "") + "}}"
    }

    static func classify(_ status: Int, _ body: String) -> GatewayOutcome<Object> {
        StripeClassification.classify(reply(status, body), as: Object.self)
    }

    @Test func success() {
        #expect(Self.classify(200, #"{"id": "pi_1"}"#).value?.id == "pi_1")
        #expect(Self.classify(200, "<html>").isUnknown)
    }

    @Test func declinesAndRefusals() {
        #expect(Self.classify(402, Self.error(type: "card_error", code: "card_declined")).decline?.code == .cardDeclined)
        #expect(Self.classify(400, Self.error(type: "invalid_request_error", code: "parameter_missing")).decline?.code == .invalidRequest)
        #expect(Self.classify(404, Self.error(type: "invalid_request_error", code: "resource_missing")).decline?.code == .invalidRequest)
        #expect(
            Self.classify(400, Self.error(type: "invalid_request_error", code: "payment_intent_unexpected_state")).decline?.code
                == .invalidState)
        #expect(Self.classify(400, Self.error(type: "invalid_request_error", code: "charge_already_refunded")).decline?.code == .invalidState)
    }

    @Test func unknowns() {
        #expect(Self.classify(400, Self.error(type: "idempotency_error")).isUnknown)
        #expect(Self.classify(409, Self.error(type: "invalid_request_error", code: "idempotency_key_in_use")).isUnknown)
        #expect(Self.classify(500, Self.error(type: "api_error")).isUnknown)
        #expect(Self.classify(502, "bad gateway").isUnknown)
        #expect(Self.classify(402, "not json").isUnknown)
        #expect(Self.classify(400, "not json").isUnknown)
        #expect(Self.classify(302, "").isUnknown)
    }

    @Test func notProcessed() {
        #expect(Self.classify(401, Self.error(type: "invalid_request_error")).isNotProcessed)
        #expect(Self.classify(403, Self.error(type: "invalid_request_error")).isNotProcessed)
        #expect(Self.classify(429, Self.error(type: "invalid_request_error", code: "rate_limit")).isNotProcessed)
    }

    @Test func transportVerdicts() {
        let before = HTTPClientError(phase: .connect, delivery: .notDelivered, message: "refused")
        let after = HTTPClientError(phase: .receive, delivery: .unknown, message: "reset")
        #expect(StripeClassification.classify(.failure(before), as: Object.self).isNotProcessed)
        #expect(StripeClassification.classify(.failure(after), as: Object.self).isUnknown)
    }

    @Test func amounts() {
        let isk = Currency(code: "ISK")!
        let mga = Currency(code: "MGA")!
        #expect(StripeAmount.encode(Money(minorUnits: 5, currency: isk)) == 500)
        #expect(StripeAmount.decode(500, currency: isk) == Money(minorUnits: 5, currency: isk))
        #expect(StripeAmount.encode(Money(minorUnits: 1_200, currency: mga)) == 12)
        #expect(StripeAmount.encode(Money(minorUnits: 1_250, currency: mga)) == nil)
        #expect(StripeAmount.encode(Money(minorUnits: 1_250, currency: .usd)) == 1_250)
        #expect(StripeAmount.encode(Money(minorUnits: 1_250, currency: .jpy)) == 1_250)
    }

    @Test func formEncoding() {
        var form = StripeForm()
        form.add("metadata[order]", "A 1&b=c")
        #expect(String(decoding: form.bytes, as: UTF8.self) == "metadata%5Border%5D=A%201%26b%3Dc")
    }
}
