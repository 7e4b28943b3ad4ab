import Foundation
import TillCore

/// Chooses gateways for an authorization and fails over, but only when it is certain the
/// previous gateway did not process the request.
///
/// A gateway is skipped before any call when it cannot take the payment (currency) or its
/// circuit is open. After a call, only ``GatewayOutcome/notProcessed(_:)`` moves on to the
/// next gateway; a success, a decline or an unknown outcome ends the attempt, because after
/// an unknown outcome the first gateway may have charged the card.
public struct GatewayRouter: Sendable {
    public let gateways: [String: any PaymentGateway]
    public let routing: RoutingTable
    public let breaker: CircuitBreaker
    private let now: @Sendable () -> Date

    public init(
        gateways: [String: any PaymentGateway], routing: RoutingTable, breaker: CircuitBreaker,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.gateways = gateways
        self.routing = routing
        self.breaker = breaker
        self.now = now
    }

    /// One call made while authorizing.
    public struct Attempt: Sendable {
        public var gateway: String
        public var outcome: GatewayOutcome<AuthorizationResult>
    }

    /// How the authorization ended: the last attempt is the one that counts. Empty when no
    /// gateway could take the payment; `skipped` says why each candidate was passed over.
    public struct Result: Sendable {
        public var attempts: [Attempt]
        public var skipped: [(gateway: String, reason: String)]

        public var final: Attempt? { attempts.last }
    }

    /// The gateways that could take `payment`, in order, with the reasons others were skipped.
    public func candidates(for payment: RoutingContext) -> (usable: [any PaymentGateway], skipped: [(String, String)]) {
        var usable: [any PaymentGateway] = []
        var skipped: [(String, String)] = []
        let names = routing.order(for: payment)
        for name in names.isEmpty ? gateways.keys.sorted() : names {
            guard let gateway = gateways[name] else {
                skipped.append((name, "no such gateway"))
                continue
            }
            if let refusal = gateway.capabilities.refusal(authorizing: payment.amount, gateway: name) {
                skipped.append((name, refusal.reason))
                continue
            }
            usable.append(gateway)
        }
        return (usable, skipped)
    }

    /// Authorizes through the first gateway that takes the request, failing over only after
    /// ``GatewayOutcome/notProcessed(_:)``.
    ///
    /// - Parameter prepare: called before each attempt with the gateway chosen; it records
    ///   the pending transaction durably ("write before you call") and returns the request to
    ///   send (with that attempt's reference and idempotency key). If it throws, nothing is
    ///   sent and the error propagates.
    public func authorize(
        _ payment: RoutingContext,
        prepare: (_ gateway: any PaymentGateway, _ attempt: Int) async throws -> AuthorizeRequest
    ) async rethrows -> Result {
        let (usable, skippedByCapability) = candidates(for: payment)
        var result = Result(attempts: [], skipped: skippedByCapability)
        for gateway in usable {
            switch breaker.admit(gateway.name, now: now()) {
            case .refused(let until):
                result.skipped.append((gateway.name, "circuit open until \(until)"))
                continue
            case .allowed, .probe:
                break
            }
            let request = try await prepare(gateway, result.attempts.count + 1)
            let outcome = await gateway.authorize(request)
            breaker.record(gateway.name, healthy: outcome.isHealthy, now: now())
            result.attempts.append(Attempt(gateway: gateway.name, outcome: outcome))
            guard outcome.allowsFailover else { break }
        }
        return result
    }
}
