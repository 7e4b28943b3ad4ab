import Foundation
import SandboxSupport

/// An error in Stripe's shape: `{"error": {type, code, decline_code, message, param, …}}`
/// with the HTTP status Stripe uses for it.
struct StripeError: Error, Sendable {
    var status: Int
    var type: String
    var code: String?
    var declineCode: String?
    var message: String
    var param: String?
    /// For card errors: the PaymentIntent as it was left (Stripe still creates it).
    var paymentIntent: JSONValue?
    var charge: String?

    var json: JSONValue {
        var members: [(String, JSONValue)] = []
        if let charge { members.append(("charge", .string(charge))) }
        if let code {
            members.append(("code", .string(code)))
            members.append(("doc_url", .string("https://docs.stripe.com/error-codes/" + code.replacingOccurrences(of: "_", with: "-"))))
        }
        if let declineCode { members.append(("decline_code", .string(declineCode))) }
        members.append(("message", .string(message)))
        if let param { members.append(("param", .string(param))) }
        if let paymentIntent { members.append(("payment_intent", paymentIntent)) }
        members.append(("type", .string(type)))
        return .object(members)
    }

    var body: [UInt8] { JSONValue.object([("error", json)]).bytes }

    static func invalidRequest(_ message: String, code: String? = nil, param: String? = nil, status: Int = 400)
        -> StripeError
    {
        StripeError(status: status, type: "invalid_request_error", code: code, message: message, param: param)
    }

    static func missing(_ kind: String, _ id: String, param: String = "id") -> StripeError {
        .invalidRequest("No such \(kind): '\(id)'", code: "resource_missing", param: param, status: 404)
    }

    static func unknownParameter(_ name: String) -> StripeError {
        .invalidRequest("Received unknown parameter: \(name)", code: "parameter_unknown", param: name)
    }

    static func missingParameter(_ name: String) -> StripeError {
        .invalidRequest("Missing required param: \(name).", code: "parameter_missing", param: name)
    }

    static func unexpectedState(_ kind: String, _ id: String, status: String, action: String) -> StripeError {
        .invalidRequest(
            "This \(kind) (\(id)) has a status of \(status); you cannot \(action) it in this state.",
            code: "payment_intent_unexpected_state", param: nil)
    }

    static func cardError(
        code: String, declineCode: String? = nil, message: String, param: String? = nil
    ) -> StripeError {
        StripeError(status: 402, type: "card_error", code: code, declineCode: declineCode, message: message, param: param)
    }

    static func authentication(_ message: String) -> StripeError {
        StripeError(status: 401, type: "invalid_request_error", message: message)
    }

    static func api(status: Int) -> StripeError {
        StripeError(
            status: status, type: "api_error",
            message: "An unexpected error occurred on the sandbox's side (injected fault, HTTP \(status)).")
    }
}
