import HTTPTypes
import TillCore
import TillPayments
import TillGateway
import TillServer
import Testing

/// The one mapping from the engine's errors to API answers: every reason lands on the
/// status and code the API has always answered, and a decline keeps the gateway's words.
@Suite("PaymentError to API answers")
struct PaymentErrorMappingTests {
    static func decline(_ code: DeclineCode) -> PaymentError {
        PaymentError(
            .declined(Decline(code: code, gatewayCode: "raw_code", gatewayDeclineCode: "raw_decline", message: "said no")),
            "said no", gateway: "stripe")
    }

    @Test func declinesByTaxonomy() {
        let card = APIError(Self.decline(.insufficientFunds))
        #expect(card.status.code == 402 && card.code == "card_declined" && card.declineCode == "insufficient_funds")
        #expect(card.gateway == ["name": "stripe", "code": "raw_code", "decline_code": "raw_decline", "message": "said no"])
        #expect(APIError(Self.decline(.invalidState)).status.code == 409)
        #expect(APIError(Self.decline(.invalidState)).code == "gateway_state_conflict")
        #expect(APIError(Self.decline(.invalidRequest)).code == "gateway_rejected_request")
        #expect(APIError(Self.decline(.unsupported)).status.code == 400)
        #expect(APIError(Self.decline(.unsupported)).code == "unsupported_by_gateway")
    }

    @Test func otherReasons() {
        let failure = GatewayFailure(httpStatus: 503, message: "down")
        let cases: [(PaymentError, UInt16 /* status */, String)] = [
            (PaymentError(.notFound(.payment, id: "pay_1"), "x"), 404, "resource_missing"),
            (PaymentError(.notFound(.dispute, id: "dp_1"), "x"), 404, "resource_missing"),
            (PaymentError(.invalidParameter(param: "token", code: "token_invalid"), "x"), 400, "token_invalid"),
            (PaymentError(.disputeConflict(code: "dispute_closed"), "x"), 409, "dispute_closed"),
            (PaymentError(.gatewayUnavailable(failure), "x", gateway: "paypal"), 502, "gateway_unavailable"),
            (PaymentError(.outcomeUnknown(failure), "x", gateway: "paypal"), 502, "gateway_outcome_unknown"),
            (PaymentError(.gatewayNotConfigured, "x", gateway: "old"), 503, "gateway_not_configured"),
            (PaymentError(.internalFailure(description: "DatabaseError"), "x"), 500, "internal_error"),
        ]
        for (error, status, code) in cases {
            let answer = APIError(error)
            #expect(answer.status.code == Int(status), "\(error)")
            #expect(answer.code == code, "\(error)")
        }
        #expect(APIError(PaymentError(.invalidParameter(param: "token", code: "token_invalid"), "x")).param == "token")
        #expect(APIError(mapping: CancellationError()) == nil)
    }
}
