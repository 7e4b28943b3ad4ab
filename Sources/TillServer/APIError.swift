import Foundation
import TillPayments
import HTTPTypes
import Hummingbird
import TillBilling
import TillCore
import TillGateway

/// Every error the API answers with, in one shape:
/// `{"error": {"type", "code", "message", "param", "decline_code", "gateway": {...}}}`.
///
/// The mapping from an error to a status lives here and nowhere else.
public struct APIError: Error, Sendable {
    public enum Kind: String, Sendable {
        /// 400: the request is malformed or a parameter is wrong.
        case invalidRequest = "invalid_request_error"
        /// 401/403: no key, a bad key, or a key that may not do this.
        case authentication = "authentication_error"
        /// 402: the gateway declined the card.
        case card = "card_error"
        /// 409: an idempotency conflict or a state the operation cannot start from.
        case conflict = "conflict_error"
        /// 404.
        case notFound = "not_found_error"
        /// 502/503: a gateway failed in a way that is not a decline.
        case gateway = "gateway_error"
        /// 500: a bug. The message never reveals internals.
        case api = "api_error"
    }

    public var status: HTTPResponse.Status
    public var kind: Kind
    public var code: String
    public var message: String
    public var param: String?
    public var declineCode: String?
    /// The gateway's raw words: name, code, decline code, message.
    public var gateway: [String: String]?
    /// A related object to include (the declined payment).
    public var object: (key: String, value: JSONObject)?

    public init(
        _ status: HTTPResponse.Status, _ kind: Kind, code: String, _ message: String, param: String? = nil,
        declineCode: String? = nil, gateway: [String: String]? = nil, object: (key: String, value: JSONObject)? = nil
    ) {
        self.status = status
        self.kind = kind
        self.code = code
        self.message = message
        self.param = param
        self.declineCode = declineCode
        self.gateway = gateway
        self.object = object
    }

    public static func invalid(_ message: String, param: String? = nil, code: String = "parameter_invalid") -> APIError {
        APIError(.badRequest, .invalidRequest, code: code, message, param: param)
    }

    public static func missing(_ param: String) -> APIError {
        APIError(.badRequest, .invalidRequest, code: "parameter_missing", "\(param) is required", param: param)
    }

    public static func notFound(_ what: String, id: String) -> APIError {
        APIError(.notFound, .notFound, code: "resource_missing", "no \(what) with id \(id)")
    }

    public static let unauthorized = APIError(
        .unauthorized, .authentication, code: "invalid_api_key",
        "a valid API key is required: send Authorization: Bearer sk_…")

    /// The state machine refused an operation.
    public static func checkout(_ error: CheckoutError) -> APIError {
        switch error.code {
        case .amountExceedsLimit, .invalidAmount, .currencyMismatch:
            return APIError(.badRequest, .invalidRequest, code: error.code.rawValue, error.message, param: "amount")
        case .unknownTransaction, .unknownDispute:
            return APIError(.notFound, .notFound, code: error.code.rawValue, error.message)
        default:
            return APIError(.conflict, .conflict, code: error.code.rawValue, error.message)
        }
    }

    /// The payment engine's errors as the API answers them: the one mapping from its
    /// reasons to statuses. A decline of a card is a 402; a gateway's refusal of the request
    /// itself is a 400 or 409; each keeps the gateway's raw code and message, and the saved
    /// payment when there is one.
    public init(_ error: PaymentError) {
        let payment = error.payment.map { (key: "payment", value: PaymentView.object($0)) }
        let gatewayName = error.gateway.map { ["name": $0] }
        switch error.reason {
        case .notFound(let resource, let id):
            self = .notFound(resource.rawValue, id: id)
        case .invalidParameter(let param, let code):
            self = APIError(.badRequest, .invalidRequest, code: code, error.message, param: param)
        case .refused(let refusal):
            self = .checkout(refusal)
        case .disputeConflict(let code):
            self = APIError(.conflict, .conflict, code: code, error.message)
        case .declined(let decline):
            var raw = ["code": decline.gatewayCode, "message": decline.message]
            raw["name"] = error.gateway
            if let declineCode = decline.gatewayDeclineCode { raw["decline_code"] = declineCode }
            switch decline.code {
            case .unsupported:
                self = APIError(
                    .badRequest, .invalidRequest, code: "unsupported_by_gateway", error.message, gateway: raw, object: payment)
            case .invalidRequest:
                self = APIError(
                    .badRequest, .invalidRequest, code: "gateway_rejected_request", error.message, gateway: raw, object: payment)
            case .invalidState:
                self = APIError(.conflict, .conflict, code: "gateway_state_conflict", error.message, gateway: raw, object: payment)
            default:
                self = APIError(
                    HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required"), .card, code: "card_declined",
                    error.message, declineCode: decline.code.rawValue, gateway: raw, object: payment)
            }
        case .gatewayUnavailable:
            self = APIError(.badGateway, .gateway, code: "gateway_unavailable", error.message, gateway: gatewayName, object: payment)
        case .outcomeUnknown:
            self = APIError(
                .badGateway, .gateway, code: "gateway_outcome_unknown", error.message, gateway: gatewayName, object: payment)
        case .gatewayNotConfigured:
            self = APIError(.serviceUnavailable, .gateway, code: "gateway_not_configured", error.message)
        case .internalFailure:
            self = APIError(
                .internalServerError, .api, code: "internal_error",
                "something went wrong on our side; the request id helps us find it")
        }
    }

    /// Billing's refusals: the one place their kinds become statuses.
    public init(_ error: BillingError) {
        switch error.kind {
        case .invalidInput, .arithmetic:
            self = APIError(.badRequest, .invalidRequest, code: error.code, error.message, param: error.param)
        case .conflict:
            self = APIError(.conflict, .conflict, code: error.code, error.message, param: error.param)
        case .notFound:
            self = APIError(.notFound, .notFound, code: error.code, error.message, param: error.param)
        case .paymentFailed:
            self = APIError(HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required"), .card, code: error.code, error.message, param: error.param, declineCode: error.declineCode)
        case .internalFailure:
            self = APIError(
                .internalServerError, .api, code: "internal_error",
                "something went wrong on our side; the request id helps us find it")
        }
    }

    /// The API's answer for `error` if it is one of the API's or the engine's; `nil` for
    /// anything else (a bug or a storage failure: a 500 that reveals nothing).
    public init?(mapping error: any Error) {
        switch error {
        case let api as APIError: self = api
        case let payment as PaymentError: self = APIError(payment)
        case let billing as BillingError: self = APIError(billing)
        default: return nil
        }
    }

    /// The JSON body, answered and stored for idempotent replays. Every text in it that
    /// came from outside (a path segment in "no payment with id …", a field name, a
    /// gateway's message) is masked here, the one place errors become bytes, so no card
    /// number is echoed, stored or logged from an error.
    public var body: JSONObject {
        var error: JSONObject = [
            "type": .string(kind.rawValue), "code": .string(PANScreen.mask(code)), "message": .string(PANScreen.mask(message)),
        ]
        if let param { error["param"] = .string(PANScreen.mask(param)) }
        if let declineCode { error["decline_code"] = .string(PANScreen.mask(declineCode)) }
        if let gateway { error["gateway"] = .object(gateway.mapValues { .string(PANScreen.mask($0)) }) }
        if let object { error[object.key] = .object(object.value) }
        return ["error": .object(error)]
    }

    public func response() -> Response {
        JSONValue.object(body).response(status: status)
    }
}
