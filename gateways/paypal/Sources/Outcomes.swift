import TillCore
import TillGateway
import TillHTTP

/// How a PayPal call that did not succeed ended, before it is typed as a ``GatewayOutcome``.
enum CallFailure: Error, Sendable {
    case declined(Decline)
    case notProcessed(GatewayFailure)
    case unknown(GatewayFailure)

    func outcome<T: Sendable>() -> GatewayOutcome<T> {
        switch self {
        case .declined(let decline): .declined(decline)
        case .notProcessed(let failure): .notProcessed(failure)
        case .unknown(let failure): .unknown(failure)
        }
    }

    /// TillHTTP's delivery verdict decides, through ``GatewayOutcome/transportFailure(_:)``.
    init(transport error: HTTPClientError) {
        switch GatewayOutcome<Bool>.transportFailure(error) {
        case .notProcessed(let failure): self = .notProcessed(failure)
        case .declined(let decline): self = .declined(decline)
        case .succeeded, .unknown: self = .unknown(GatewayFailure(phase: error.phase, message: error.message))
        }
    }

    static func unknown(_ message: String, status: Int? = nil) -> CallFailure {
        .unknown(GatewayFailure(httpStatus: status, message: message))
    }
}

/// The outcome table: what each PayPal answer means for Till. Guessing is a bug, so every
/// row says why.
///
/// | PayPal answer                                   | Outcome                                        |
/// |-------------------------------------------------|------------------------------------------------|
/// | transport failure                               | TillHTTP's delivery verdict (`transportFailure`) |
/// | token request failed (any way)                  | notProcessed: the call itself was never sent   |
/// | 2xx with the expected body                      | succeeded (or declined, for a DENIED/DECLINED object) |
/// | 2xx that does not parse                         | unknown: it happened, but we cannot tell what  |
/// | 400, 404, 413, 422 with PayPal's error body     | declined: PayPal validated and refused it; card issues (`INSTRUMENT_DECLINED`, `CARD_EXPIRED`) map by processor code, state issues to `invalidState`, the rest to `invalidRequest` |
/// | 400, 404, 413, 422 without a parseable body     | unknown                                        |
/// | 401 (after one token refresh and retry)         | notProcessed: refused at the door              |
/// | 403                                             | notProcessed: refused for permissions before processing |
/// | 409 (`PREVIOUS_REQUEST_IN_PROGRESS`)            | unknown: the first request may still succeed   |
/// | 429                                             | notProcessed: rate limited before processing   |
/// | 5xx, anything else                              | unknown                                        |
enum OutcomeTable {
    static func classify(status: Int, body: [UInt8]) -> CallFailure {
        switch status {
        case 400, 404, 413, 422:
            guard let error = Wire.decode(Wire.ErrorBody.self, from: body), let name = error.name ?? error.error else {
                return .unknown("PayPal answered HTTP \(status) without its error body", status: status)
            }
            return .declined(decline(from: error, name: name))
        case 401, 403:
            let error = Wire.decode(Wire.ErrorBody.self, from: body)
            return .notProcessed(
                GatewayFailure(
                    httpStatus: status, gatewayCode: error?.error ?? error?.name,
                    message: error?.errorDescription ?? error?.message ?? "PayPal refused the credentials"))
        default:
            let error = Wire.decode(Wire.ErrorBody.self, from: body)
            let issue = error?.details?.first?.issue ?? error?.name
            switch GatewayOutcome<Bool>.unexpectedStatus(
                status, gatewayCode: issue, message: error?.message ?? "PayPal answered HTTP \(status)")
            {
            case .notProcessed(let failure): return .notProcessed(failure)
            case .unknown(let failure): return .unknown(failure)
            case .declined(let decline): return .declined(decline)
            case .succeeded: return .unknown("PayPal answered HTTP \(status)", status: status)
            }
        }
    }

    /// Issues that say the card was refused; the processor code says why.
    static let cardIssues: Set<String> = ["INSTRUMENT_DECLINED", "CARD_EXPIRED", "TRANSACTION_REFUSED", "PAYER_CANNOT_PAY"]

    /// Issues that say the object is not in a state that allows the operation.
    static let stateIssues: Set<String> = [
        "AUTHORIZATION_VOIDED", "AUTHORIZATION_ALREADY_CAPTURED", "AUTHORIZATION_EXPIRED", "AUTHORIZATION_DENIED",
        "PREVIOUSLY_CAPTURED", "PREVIOUSLY_VOIDED", "CANNOT_BE_VOIDED", "CAPTURE_FULLY_REFUNDED", "REFUND_NOT_ALLOWED",
        "REFUND_NOT_PERMITTED_DUE_TO_CHARGEBACK", "CAPTURE_DISPUTED_PARTIAL_REFUND_NOT_ALLOWED",
        "MAX_CAPTURE_COUNT_EXCEEDED", "ORDER_ALREADY_CAPTURED", "ORDER_ALREADY_AUTHORIZED", "ORDER_COMPLETED_OR_VOIDED",
        "ORDER_NOT_APPROVED", "ORDER_EXPIRED", "DISPUTE_ALREADY_RESOLVED", "PAYER_ACTION_REQUIRED",
    ]

    static func decline(from error: Wire.ErrorBody, name: String) -> Decline {
        let detail = error.details?.first
        let issue = detail?.issue ?? name
        let message = [detail?.description, error.message, error.errorDescription].compactMap { $0 }.first ?? issue
        if cardIssues.contains(issue) {
            // `value` carries the processor response code on a decline (and the expiry on a
            // CARD_EXPIRED refused at validation): keep it only when it looks like a code.
            let processorCode = detail?.value.flatMap { isProcessorCode($0) ? $0 : nil }
            let code =
                processorCode.flatMap(declineCode(processorCode:))
                ?? (issue == "CARD_EXPIRED" ? .expiredCard : .cardDeclined)
            return Decline(code: code, gatewayCode: issue, gatewayDeclineCode: processorCode, message: message)
        }
        let code: DeclineCode = stateIssues.contains(issue) ? .invalidState : .invalidRequest
        return Decline(code: code, gatewayCode: issue, message: message)
    }

    static func isProcessorCode(_ text: String) -> Bool {
        (1...4).contains(text.utf8.count)
            && text.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) }
    }

    /// PayPal's processor response codes in the shared taxonomy; anything not listed is a
    /// plain decline (its raw code is kept beside it).
    static func declineCode(processorCode code: String) -> DeclineCode? {
        switch code {
        case "0000": nil
        case "5120": .insufficientFunds
        case "9520", "5150": .lostOrStolen
        case "5400", "1380": .expiredCard
        case "5110", "00N7", "1382", "PCVV": .incorrectCVC
        case "9500", "9510": .fraudSuspected
        case "5650": .authenticationRequired
        case "7700", "7710": .authenticationFailed
        case "8000", "8010", "8020", "8030", "8100", "8110", "8220", "0960", "5910", "5920", "9600": .processingError
        default: .cardDeclined
        }
    }
}
