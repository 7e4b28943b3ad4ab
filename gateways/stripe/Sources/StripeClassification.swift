import Foundation
import TillCore
import TillGateway
import TillHTTP

/// How a Stripe answer becomes one of the four outcome classes. The table, in the order it
/// is applied:
///
/// | What came back | Outcome | Why |
/// | --- | --- | --- |
/// | transport error | TillHTTP's delivery verdict (``GatewayOutcome/transportFailure(_:)``) | only the transport knows whether a byte left |
/// | 2xx with the expected object | succeeded (the operation may refine it) | |
/// | 2xx that does not decode | unknown | Stripe acted, but we cannot tell on what |
/// | 402 with an error body | declined, taxonomy from `decline_code`, then `code` | a card decision |
/// | 400 `type: idempotency_error` | unknown | an earlier request with this key exists and may have succeeded |
/// | 400 / 404 with an error body, state codes (``invalidStateCodes``) | declined `.invalidState` | Stripe refused it in the object's state |
/// | 400 / 404 with any other error body | declined `.invalidRequest` | Stripe validated and refused the request |
/// | 401 / 403 | not processed | authentication or permission failed before anything happened |
/// | 409 (`idempotency_key_in_use`) | unknown | a request with this key is still running |
/// | 429 | not processed | rate limited before processing |
/// | 5xx | unknown | Stripe may have processed it |
/// | anything else, or an error body that does not decode | unknown | guessing is a bug |
enum StripeClassification {
    /// Stripe codes that mean "not in this state", as opposed to a malformed request.
    static let invalidStateCodes: Set<String> = [
        "payment_intent_unexpected_state", "charge_already_captured", "charge_already_refunded", "charge_disputed",
        "charge_expired_for_capture", "charge_not_refundable", "payment_intent_payment_attempt_expired",
    ]

    static func classify<T: Decodable & Sendable>(
        _ result: Result<HTTPResponse, HTTPClientError>, as type: T.Type
    ) -> GatewayOutcome<T> {
        let response: HTTPResponse
        switch result {
        case .failure(let error): return .transportFailure(error)
        case .success(let value): response = value
        }
        let status = response.status
        if (200..<300).contains(status) {
            do {
                return .succeeded(try JSONDecoder().decode(T.self, from: Data(response.body)))
            } catch {
                return .unknown(GatewayFailure(httpStatus: status, message: "Stripe answered \(status) with a body that does not decode as \(T.self)"))
            }
        }
        let body = try? JSONDecoder().decode(StripeErrorEnvelope.self, from: Data(response.body)).error
        let message = body?.message ?? "HTTP \(status) without a Stripe error body"
        let failure = GatewayFailure(httpStatus: status, gatewayCode: body?.code ?? body?.type, message: message)
        switch status {
        case 402:
            guard let body else { return .unknown(failure) }
            return .declined(cardDecline(body))
        case 400, 404:
            guard let body else { return .unknown(failure) }
            if body.type == "idempotency_error" { return .unknown(failure) }
            let code: DeclineCode = body.code.map(invalidStateCodes.contains) == true ? .invalidState : .invalidRequest
            return .declined(
                Decline(
                    code: code, gatewayCode: body.code ?? body.type ?? "invalid_request_error", message: message,
                    gatewayReference: body.paymentIntent?.id ?? body.charge))
        case 401, 403, 429:
            return .notProcessed(failure)
        default:
            // 409, 5xx and anything unexpected.
            return .unknown(failure)
        }
    }

    /// A card error in the shared taxonomy, keeping Stripe's code, decline code, message
    /// and the declined PaymentIntent.
    static func cardDecline(_ error: StripeErrorBody) -> Decline {
        Decline(
            code: taxonomy(code: error.code, declineCode: error.declineCode),
            gatewayCode: error.code ?? error.type ?? "card_error", gatewayDeclineCode: error.declineCode,
            message: error.message ?? "The card was declined.", gatewayReference: error.paymentIntent?.id ?? error.charge)
    }

    /// Stripe's finer `decline_code` first, then its `code`.
    static func taxonomy(code: String?, declineCode: String?) -> DeclineCode {
        if let declineCode, let mapped = declineCodes[declineCode] { return mapped }
        if let code, let mapped = errorCodes[code] { return mapped }
        return .cardDeclined
    }

    /// Stripe's `decline_code` values (docs.stripe.com/declines/codes) by meaning.
    static let declineCodes: [String: DeclineCode] = [
        "insufficient_funds": .insufficientFunds, "card_velocity_exceeded": .insufficientFunds,
        "withdrawal_count_limit_exceeded": .insufficientFunds,
        "lost_card": .lostOrStolen, "stolen_card": .lostOrStolen, "pickup_card": .lostOrStolen,
        "restricted_card": .lostOrStolen,
        "expired_card": .expiredCard,
        "incorrect_cvc": .incorrectCVC, "invalid_cvc": .incorrectCVC,
        "fraudulent": .fraudSuspected, "merchant_blacklist": .fraudSuspected, "security_violation": .fraudSuspected,
        "processing_error": .processingError, "issuer_not_available": .processingError,
        "try_again_later": .processingError, "reenter_transaction": .processingError,
        "authentication_required": .authenticationRequired,
        "generic_decline": .cardDeclined, "do_not_honor": .cardDeclined, "do_not_try_again": .cardDeclined,
        "card_not_supported": .cardDeclined, "transaction_not_allowed": .cardDeclined,
    ]

    /// Stripe's error `code` values for card errors.
    static let errorCodes: [String: DeclineCode] = [
        "card_declined": .cardDeclined, "expired_card": .expiredCard,
        "invalid_expiry_month": .expiredCard, "invalid_expiry_year": .expiredCard,
        "incorrect_cvc": .incorrectCVC, "invalid_cvc": .incorrectCVC,
        "incorrect_number": .cardDeclined, "invalid_number": .cardDeclined,
        "processing_error": .processingError, "authentication_required": .authenticationRequired,
        "payment_intent_authentication_failure": .authenticationFailed,
    ]
}
