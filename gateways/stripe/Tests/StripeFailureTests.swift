import Foundation
import SandboxSupport
import StripeGateway
import StripeSandbox
import Testing
import TillCore
import TillGateway
import TillHTTP

@Suite("StripeGateway outcome classes when things go wrong")
struct StripeFailureTests {
    @Test("a response dropped after the charge is unknown, and status finds exactly one authorization")
    func droppedResponse() async throws {
        try await StripeGatewayHarness.with { h in
            let (gateway, client) = try h.freshGateway()
            h.addFault(FaultRule(kind: .dropAfterCommit, count: 1, path: "/v1/payment_intents", method: "POST"))
            let request = Fixtures.authorize()
            let outcome = await gateway.authorize(request)
            await client.shutdown()
            #expect(outcome.isUnknown, "got \(outcome)")
            #expect(h.ledger.filter { $0.kind == .authorization }.count == 1)

            let report = try #require(
                await h.gateway.status(StatusLookup(reference: request.reference, kind: .authorize, amount: request.amount)).value)
            guard case .succeeded(let intent, let payment?) = report else {
                Issue.record("expected the lost authorization to be found, got \(report)")
                return
            }
            #expect(payment.gatewayPaymentReference == intent)
            #expect(payment.state == .authorized)
            #expect(payment.amount == request.amount)
            #expect(h.ledger.filter { $0.kind == .authorization }.count == 1)
            #expect(h.ledger.first?.payment == intent)
        }
    }

    @Test("a refused connection is not processed, so another gateway may be tried")
    func refusedConnection() async throws {
        // A port that was just listening and is now closed refuses connections.
        let closed = try await StripeSandbox.start(StripeSandboxConfiguration(), logger: StripeGatewayHarness.logger)
        let url = closed.baseURL
        await closed.stop()
        let client = try HTTPClient()
        let gateway = try StripeGatewayHarness.makeGateway(StripeGatewayHarness.settings(baseURL: url), http: client)
        let outcome = await gateway.authorize(Fixtures.authorize())
        await client.shutdown()
        #expect(outcome.isNotProcessed, "got \(outcome)")
        #expect(outcome.allowsFailover)
    }

    @Test("a timeout after sending is unknown; the late authorization is then found by status")
    func timeout() async throws {
        try await StripeGatewayHarness.with { h in
            // Margins wide enough that a loaded machine still sends the request in time.
            let (gateway, client) = try h.freshGateway(requestTimeoutMilliseconds: 2_000)
            h.addFault(FaultRule(kind: .latency, latencyMilliseconds: 6_000, count: 1, path: "/v1/payment_intents", method: "POST"))
            let request = Fixtures.authorize()
            let outcome = await gateway.authorize(request)
            await client.shutdown()
            guard case .unknown(let failure) = outcome else {
                Issue.record("expected unknown, got \(outcome)")
                return
            }
            #expect(failure.phase == .timeout)
            #expect(!outcome.allowsFailover)
            try await h.eventually("the delayed authorization") { !h.ledger.isEmpty }
            let report = await h.gateway.status(StatusLookup(reference: request.reference, kind: .authorize, amount: request.amount))
            guard case .succeeded(.succeeded(_, let payment?)) = report else {
                Issue.record("expected the authorization to be found, got \(report)")
                return
            }
            #expect(payment.state == .authorized)
        }
    }

    @Test("an injected 503 is unknown; a bad API key is not processed")
    func statuses() async throws {
        try await StripeGatewayHarness.with { h in
            h.addFault(FaultRule(kind: .error, status: 503, count: 1))
            let outcome = await h.gateway.authorize(Fixtures.authorize())
            guard case .unknown(let failure) = outcome else {
                Issue.record("expected unknown, got \(outcome)")
                return
            }
            #expect(failure.httpStatus == 503)

            var settings = StripeGatewayHarness.settings(baseURL: h.sandbox.baseURL)
            settings.credentials["secret_key"] = .inline("sk_live_not_accepted_here")
            let badKey = try StripeGatewayHarness.makeGateway(settings, http: h.http)
            let refused = await badKey.authorize(Fixtures.authorize())
            guard case .notProcessed(let auth) = refused else {
                Issue.record("expected notProcessed, got \(refused)")
                return
            }
            #expect(auth.httpStatus == 401)
            #expect(h.ledger.isEmpty)
        }
    }

    @Test("the same idempotency key with other parameters is unknown: an earlier request exists")
    func idempotencyMismatch() async throws {
        try await StripeGatewayHarness.with { h in
            let reference = Fixtures.reference()
            _ = try #require(await h.gateway.authorize(Fixtures.authorize(amount: 5_000, reference: reference)).value)
            let clash = await h.gateway.authorize(Fixtures.authorize(amount: 6_000, reference: reference))
            #expect(clash.isUnknown, "got \(clash)")
            #expect(h.ledger.count == 1)
        }
    }
}
