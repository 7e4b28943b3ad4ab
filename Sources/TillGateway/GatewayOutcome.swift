import TillCore
import TillHTTP

/// How a gateway call ended. Every call ends in exactly one of these four classes, and the
/// class decides what Till may do next.
///
/// - ``succeeded(_:)``: the gateway did it.
/// - ``declined(_:)``: the gateway processed the request and refused it (a card decline, or
///   a business rule such as an over-refund); nothing to retry.
/// - ``notProcessed(_:)``: the request certainly never reached the gateway's processing (no
///   connection, TLS failure, refused before sending): safe to retry, here or elsewhere.
/// - ``unknown(_:)``: the request may have been processed (timeout after sending, dropped
///   connection, 5xx). Never retry elsewhere; resolve it through ``PaymentGateway/status(_:)``.
public enum GatewayOutcome<Success: Sendable>: Sendable {
    case succeeded(Success)
    case declined(Decline)
    case notProcessed(GatewayFailure)
    case unknown(GatewayFailure)

    /// The same outcome with the success value transformed.
    public func map<T: Sendable>(_ transform: (Success) throws(GatewayFailure) -> T) -> GatewayOutcome<T> {
        switch self {
        case .succeeded(let value):
            do {
                return .succeeded(try transform(value))
            } catch {
                return .unknown(error)
            }
        case .declined(let decline): return .declined(decline)
        case .notProcessed(let failure): return .notProcessed(failure)
        case .unknown(let failure): return .unknown(failure)
        }
    }

    /// The success value, if the call succeeded.
    public var value: Success? {
        if case .succeeded(let value) = self { return value }
        return nil
    }

    /// The decline, if the gateway refused.
    public var decline: Decline? {
        if case .declined(let decline) = self { return decline }
        return nil
    }

    public var isNotProcessed: Bool {
        if case .notProcessed = self { return true }
        return false
    }

    public var isUnknown: Bool {
        if case .unknown = self { return true }
        return false
    }

    /// True only for ``notProcessed(_:)``: the one class after which another gateway may be
    /// tried.
    public var allowsFailover: Bool {
        if case .notProcessed = self { return true }
        return false
    }
}

/// A gateway's refusal, in the shared taxonomy, keeping the gateway's raw code and message.
public struct Decline: Sendable, Hashable, CustomStringConvertible {
    /// The shared taxonomy's code (TillCore's ``DeclineCode``).
    public var code: DeclineCode
    /// The gateway's own error code (`card_declined`, `INSTRUMENT_DECLINED`), verbatim.
    public var gatewayCode: String
    /// The gateway's finer decline reason, when it has one (Stripe's `decline_code`).
    public var gatewayDeclineCode: String?
    /// The gateway's message, verbatim.
    public var message: String
    /// The gateway's id for the refused attempt, if it created one (a declined
    /// PaymentIntent still exists at Stripe).
    public var gatewayReference: String?

    public init(
        code: DeclineCode, gatewayCode: String, gatewayDeclineCode: String? = nil, message: String,
        gatewayReference: String? = nil
    ) {
        self.code = code
        self.gatewayCode = gatewayCode
        self.gatewayDeclineCode = gatewayDeclineCode
        self.message = message
        self.gatewayReference = gatewayReference
    }

    /// The failure to record on the transaction.
    public var transactionFailure: TransactionFailure {
        TransactionFailure(code: code, gatewayCode: gatewayDeclineCode ?? gatewayCode, gatewayMessage: message)
    }

    public var description: String {
        "\(code) (gateway: \(gatewayCode)\(gatewayDeclineCode.map { "/\($0)" } ?? "")): \(message)"
    }
}

extension DeclineCode {
    /// The gateway refused the request itself as invalid (a bug or a business rule such as
    /// an over-refund), not the card.
    public static let invalidRequest = DeclineCode(rawValue: "invalid_request")
    /// The operation is not possible in the object's state at the gateway.
    public static let invalidState = DeclineCode(rawValue: "invalid_state")
    /// Till refused the operation before calling: the gateway cannot do it.
    public static let unsupported = DeclineCode(rawValue: "unsupported")
    /// The customer must complete 3-D Secure, and the gateway or card cannot.
    public static let authenticationRequired = DeclineCode(rawValue: "authentication_required")
}

/// Why a call failed without a decision from the gateway.
public struct GatewayFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The HTTP phase that failed, when the failure was in transport.
    public var phase: HTTPClientError.Phase?
    /// The HTTP status, when the gateway answered with an error status (5xx, 429).
    public var httpStatus: Int?
    /// The gateway's error code, if it sent one.
    public var gatewayCode: String?
    public var message: String

    public init(
        phase: HTTPClientError.Phase? = nil, httpStatus: Int? = nil, gatewayCode: String? = nil, message: String
    ) {
        self.phase = phase
        self.httpStatus = httpStatus
        self.gatewayCode = gatewayCode
        self.message = message
    }

    public var description: String {
        var parts: [String] = []
        if let phase { parts.append("phase \(phase)") }
        if let httpStatus { parts.append("HTTP \(httpStatus)") }
        if let gatewayCode { parts.append(gatewayCode) }
        return (parts.isEmpty ? "" : "[\(parts.joined(separator: ", "))] ") + message
    }
}

extension GatewayOutcome {
    /// The outcome of a transport failure: TillHTTP's delivery verdict decides, never a guess.
    public static func transportFailure(_ error: HTTPClientError) -> GatewayOutcome {
        let failure = GatewayFailure(phase: error.phase, message: error.message)
        switch error.delivery {
        case .notDelivered: return .notProcessed(failure)
        case .unknown: return .unknown(failure)
        }
    }

    /// The outcome of an HTTP status that is neither success nor a gateway decision:
    /// 5xx and anything unexpected may have been processed; a 429 rate limit was not.
    public static func unexpectedStatus(_ status: Int, gatewayCode: String? = nil, message: String) -> GatewayOutcome {
        let failure = GatewayFailure(httpStatus: status, gatewayCode: gatewayCode, message: message)
        return status == 429 ? .notProcessed(failure) : .unknown(failure)
    }
}
