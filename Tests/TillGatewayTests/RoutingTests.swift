import Foundation
import TillCore
import TillCrypto
import TillGateway
import TillHTTP
import Testing

private let usd100 = Money(minorUnits: 10_000, currency: .usd)

private func request(for gateway: any PaymentGateway, attempt: Int) -> AuthorizeRequest {
    AuthorizeRequest(
        reference: TransactionReference(paymentID: "pay_1", transactionID: "txn_\(attempt)", idempotencyKey: "pay_1-authorize-\(attempt)"),
        amount: usd100,
        card: CardDetails(number: SecureBytes(Array("4242424242424242".utf8)), expiryMonth: 12, expiryYear: 2031))
}

@Suite("Routing rules")
struct RoutingTableTests {
    let table = RoutingTable(
        rules: [
            RoutingRule(currencies: ["eur"], gateways: ["paypal"]),
            RoutingRule(brands: ["amex"], gateways: ["amex-acquirer"]),
            RoutingRule(minAmount: 100_000, gateways: ["big-ticket", "stripe"]),
            RoutingRule(merchants: ["m_vip"], gateways: ["vip"]),
        ],
        fallback: ["stripe", "paypal"])

    @Test("the first matching rule's gateways come first, then the fallback, without repeats")
    func order() {
        #expect(table.order(for: RoutingContext(amount: usd100)) == ["stripe", "paypal"])
        #expect(table.order(for: RoutingContext(amount: Money(minorUnits: 500, currency: .eur))) == ["paypal", "stripe"])
        #expect(table.order(for: RoutingContext(amount: usd100, cardBrand: "AMEX")) == ["amex-acquirer", "stripe", "paypal"])
        #expect(table.order(for: RoutingContext(amount: Money(minorUnits: 100_000, currency: .usd)))
            == ["big-ticket", "stripe", "paypal"])
        #expect(table.order(for: RoutingContext(amount: usd100, merchantID: "m_vip")) == ["vip", "stripe", "paypal"])
    }

    @Test("a merchant's preferred gateway goes first")
    func preference() {
        #expect(table.order(for: RoutingContext(amount: usd100, preferredGateway: "paypal")) == ["paypal", "stripe"])
    }

    @Test("amount bounds are inclusive")
    func bounds() {
        let rule = RoutingRule(minAmount: 100, maxAmount: 200, gateways: ["g"])
        for (units, matches) in [(99, false), (100, true), (200, true), (201, false)] {
            #expect(rule.matches(RoutingContext(amount: Money(minorUnits: Int64(units), currency: .usd))) == matches)
        }
    }
}

@Suite("Failover")
struct FailoverTests {
    @Test("fails over after a request that certainly was not processed")
    func failsOverWhenNotProcessed() async {
        let down = ScriptedGateway(name: "a", outcomes: [.notProcessed(GatewayFailure(phase: .connect, message: "refused"))])
        let up = ScriptedGateway(name: "b", outcomes: [ScriptedGateway.approved(usd100)])
        let router = GatewayRouter(
            gateways: ["a": down, "b": up], routing: RoutingTable(rules: [], fallback: ["a", "b"]), breaker: CircuitBreaker())
        var prepared: [String] = []
        let result = await router.authorize(RoutingContext(amount: usd100)) { gateway, attempt in
            prepared.append(gateway.name)
            return request(for: gateway, attempt: attempt)
        }
        #expect(prepared == ["a", "b"])
        #expect(result.attempts.map(\.gateway) == ["a", "b"])
        guard case .succeeded = result.final?.outcome else {
            Issue.record("expected success from b")
            return
        }
    }

    @Test("never fails over after an unknown outcome or a decline", arguments: [
        GatewayOutcome<AuthorizationResult>.unknown(GatewayFailure(phase: .timeout, message: "timed out")),
        .declined(Decline(code: .insufficientFunds, gatewayCode: "card_declined", message: "no")),
    ])
    func staysAfterUnknownOrDecline(first: GatewayOutcome<AuthorizationResult>) async {
        let a = ScriptedGateway(name: "a", outcomes: [first])
        let b = ScriptedGateway(name: "b", outcomes: [ScriptedGateway.approved(usd100)])
        let router = GatewayRouter(
            gateways: ["a": a, "b": b], routing: RoutingTable(rules: [], fallback: ["a", "b"]), breaker: CircuitBreaker())
        let result = await router.authorize(RoutingContext(amount: usd100)) { gateway, attempt in
            request(for: gateway, attempt: attempt)
        }
        #expect(result.attempts.map(\.gateway) == ["a"])
        #expect(b.callCount == 0)
    }

    @Test("a gateway that cannot take the currency is skipped before any call")
    func capabilitySkip() async {
        let eurOnly = ScriptedGateway(name: "eur-only", capabilities: .init(currencies: [.eur]), outcomes: [])
        let any = ScriptedGateway(name: "any", outcomes: [ScriptedGateway.approved(usd100)])
        let router = GatewayRouter(
            gateways: ["eur-only": eurOnly, "any": any], routing: RoutingTable(rules: [], fallback: ["eur-only", "any"]),
            breaker: CircuitBreaker())
        let result = await router.authorize(RoutingContext(amount: usd100)) { gateway, attempt in
            request(for: gateway, attempt: attempt)
        }
        #expect(eurOnly.callCount == 0)
        #expect(result.skipped.map(\.gateway) == ["eur-only"])
        #expect(result.attempts.map(\.gateway) == ["any"])
    }

    @Test("when prepare throws, nothing is sent")
    func prepareFailure() async {
        struct Crash: Error {}
        let a = ScriptedGateway(name: "a", outcomes: [ScriptedGateway.approved(usd100)])
        let router = GatewayRouter(gateways: ["a": a], routing: RoutingTable(rules: [], fallback: ["a"]), breaker: CircuitBreaker())
        await #expect(throws: Crash.self) {
            _ = try await router.authorize(RoutingContext(amount: usd100)) { _, _ in throw Crash() }
        }
        #expect(a.callCount == 0)
    }
}

@Suite("Circuit breaker")
struct CircuitBreakerTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("opens after consecutive failures, refuses while open, probes once, closes on success")
    func lifecycle() {
        let breaker = CircuitBreaker(settings: .init(failureThreshold: 3, openSeconds: 30))
        for _ in 0..<2 { breaker.record("g", healthy: false, now: start) }
        #expect(breaker.admit("g", now: start) == .allowed)
        breaker.record("g", healthy: false, now: start)
        #expect(breaker.admit("g", now: start.addingTimeInterval(29)) == .refused(until: start.addingTimeInterval(30)))
        #expect(breaker.admit("g", now: start.addingTimeInterval(30)) == .probe)
        // A second caller during the probe waits.
        guard case .refused = breaker.admit("g", now: start.addingTimeInterval(30)) else {
            Issue.record("only one probe at a time")
            return
        }
        breaker.record("g", healthy: true, now: start.addingTimeInterval(31))
        #expect(breaker.admit("g", now: start.addingTimeInterval(31)) == .allowed)
    }

    @Test("a failed probe opens the circuit again; a success in between resets the count")
    func failedProbe() {
        let breaker = CircuitBreaker(settings: .init(failureThreshold: 2, openSeconds: 10))
        breaker.record("g", healthy: false, now: start)
        breaker.record("g", healthy: true, now: start)
        breaker.record("g", healthy: false, now: start)
        #expect(breaker.state(of: "g") == .closed(consecutiveFailures: 1))
        breaker.record("g", healthy: false, now: start)
        #expect(breaker.admit("g", now: start.addingTimeInterval(10)) == .probe)
        breaker.record("g", healthy: false, now: start.addingTimeInterval(10))
        #expect(breaker.state(of: "g") == .open(until: start.addingTimeInterval(20)))
    }

    @Test("an open circuit makes the router skip the gateway and use the next")
    func routerSkipsOpenCircuit() async {
        let breaker = CircuitBreaker(settings: .init(failureThreshold: 1, openSeconds: 60))
        let clock = Date()
        breaker.record("a", healthy: false, now: clock)
        let a = ScriptedGateway(name: "a", outcomes: [ScriptedGateway.approved(usd100)])
        let b = ScriptedGateway(name: "b", outcomes: [ScriptedGateway.approved(usd100)])
        let router = GatewayRouter(
            gateways: ["a": a, "b": b], routing: RoutingTable(rules: [], fallback: ["a", "b"]), breaker: breaker,
            now: { clock })
        let result = await router.authorize(RoutingContext(amount: usd100)) { gateway, attempt in
            request(for: gateway, attempt: attempt)
        }
        #expect(a.callCount == 0)
        #expect(result.attempts.map(\.gateway) == ["b"])
    }
}

@Suite("Capabilities")
struct CapabilityTests {
    @Test("operations a gateway cannot do are refused with a reason")
    func refusals() {
        let single = GatewayCapabilities(partialCapture: false, multipleCaptures: false, partialRefund: false, multipleRefunds: false, void: false)
        let authorized = usd100
        let half = Money(minorUnits: 5_000, currency: .usd)
        let zero = Money.zero(.usd)
        #expect(single.refusal(capturing: half, authorized: authorized, alreadyCaptured: zero, gateway: "g") != nil)
        #expect(single.refusal(capturing: authorized, authorized: authorized, alreadyCaptured: zero, gateway: "g") == nil)
        #expect(single.refusal(capturing: half, authorized: authorized, alreadyCaptured: half, gateway: "g") != nil)
        #expect(single.refusal(refunding: half, captured: authorized, alreadyRefunded: zero, gateway: "g") != nil)
        #expect(single.refusal(refunding: authorized, captured: authorized, alreadyRefunded: half, gateway: "g") != nil)
        #expect(single.refusalToVoid(gateway: "g")?.description == "g cannot void: it cannot release authorizations")
        #expect(GatewayCapabilities().refusal(capturing: half, authorized: authorized, alreadyCaptured: zero, gateway: "g") == nil)
    }
}
