import Foundation
import Logging
import PayPalGateway
import PayPalSandbox
import TillCore
import TillCrypto
import TillGateway
import TillHTTP
import TillTesting
import Testing

@Suite("PayPal gateway over HTTP")
struct PayPalGatewayTests {
    @Test func approvalCarriesOrderAndAuthorizationAndExactAmount() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let result = try await harness.authorized(Money(minorUnits: 123_456, currency: .usd))
        #expect(result.state == .authorized)
        #expect(result.amount == Money(minorUnits: 123_456, currency: .usd))
        let authorization = try #require(result.gatewayAuthorizationReference)
        #expect(try await harness.ledger(payment: result.gatewayPaymentReference) == ["authorization 123456"])

        // Currencies with no or three decimals travel as exact decimal strings.
        let yen = try await harness.authorized(Money(minorUnits: 1_000, currency: .jpy))
        #expect(yen.amount == Money(minorUnits: 1_000, currency: .jpy))
        let dinar = try await harness.authorized(Money(minorUnits: 5_125, currency: .kwd))
        #expect(dinar.amount == Money(minorUnits: 5_125, currency: .kwd))
        #expect(!authorization.isEmpty)
    }

    @Test func automaticCaptureAuthorizesThenCapturesAndStatusSeesIt() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let reference = Harness.reference()
        var request = Harness.authorizeRequest(Harness.usd(2_500), reference: reference)
        request.captureMode = .automatic
        let result = try #require(await harness.gateway.authorize(request).value)
        guard case .captured(let capture) = result.state else {
            Issue.record("expected captured, got \(result.state)")
            return
        }
        #expect(try await harness.ledger(payment: result.gatewayPaymentReference) == ["authorization 2500", "capture 2500"])
        // Repeating the call (same key) replays both steps: nothing moves twice.
        #expect(await harness.gateway.authorize(request).value == result)
        #expect(try await harness.ledger(payment: result.gatewayPaymentReference) == ["authorization 2500", "capture 2500"])
        let status = await harness.gateway.status(StatusLookup(reference: reference, kind: .authorize, amount: Harness.usd(2_500)))
        guard case .succeeded(_, let payment?)? = status.value else {
            Issue.record("expected succeeded, got \(status)")
            return
        }
        #expect(payment.state == .captured(captureReference: capture))
    }

    @Test(arguments: [
        ("4000000000000002", DeclineCode.cardDeclined, "INSTRUMENT_DECLINED", "0500"),
        ("4000000000009995", .insufficientFunds, "INSTRUMENT_DECLINED", "5120"),
        ("4000000000009987", .lostOrStolen, "INSTRUMENT_DECLINED", "9520"),
        ("4000000000009979", .lostOrStolen, "INSTRUMENT_DECLINED", "9520"),
        ("4000000000000069", .expiredCard, "CARD_EXPIRED", "5400"),
        ("4000000000000127", .incorrectCVC, "INSTRUMENT_DECLINED", "5110"),
        ("4000000000000119", .processingError, "INSTRUMENT_DECLINED", "8000"),
    ])
    func declineCardsMapToTheTaxonomy(card: String, code: DeclineCode, issue: String, processor: String) async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let outcome = await harness.gateway.authorize(Harness.authorizeRequest(card: card))
        let decline = try #require(outcome.decline, "\(outcome)")
        #expect(decline.code == code)
        #expect(decline.gatewayCode == issue)
        #expect(decline.gatewayDeclineCode == processor)
        #expect(!decline.message.isEmpty)
    }

    @Test func partialAndMultipleCaptures() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let auth = try await harness.authorized(Harness.usd(1_000))
        let first = try #require(await harness.capture(auth, Harness.usd(300), final: false).value)
        #expect(first.amount == Harness.usd(300))
        let second = try #require(await harness.capture(auth, Harness.usd(200), final: false).value)
        #expect(second.captureReference != first.captureReference)
        let over = await harness.capture(auth, Harness.usd(600), final: true)
        #expect(over.decline?.code == .invalidRequest)
        #expect(over.decline?.gatewayCode == "MAX_CAPTURE_AMOUNT_EXCEEDED")
        #expect(await harness.capture(auth, Harness.usd(500), final: true).value != nil)
        let again = await harness.capture(auth, Harness.usd(100))
        #expect(again.decline?.code == .invalidState)
        #expect(again.decline?.gatewayCode == "AUTHORIZATION_ALREADY_CAPTURED")
        #expect(
            try await harness.ledger(payment: auth.gatewayPaymentReference)
                == ["authorization 1000", "capture 300", "capture 200", "capture 500"])
    }

    @Test func severalRefundsThenOverRefund() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let auth = try await harness.authorized(Harness.usd(1_000))
        let capture = try #require(await harness.capture(auth, Harness.usd(1_000)).value)
        let first = try #require(await harness.refund(auth, capture: capture.captureReference, Harness.usd(300)).value)
        #expect(first.state == .succeeded)
        #expect(first.amount == Harness.usd(300))
        #expect(await harness.refund(auth, capture: capture.captureReference, Harness.usd(400)).value != nil)
        let over = await harness.refund(auth, capture: capture.captureReference, Harness.usd(400))
        #expect(over.decline?.code == .invalidRequest)
        #expect(over.decline?.gatewayCode == "REFUND_AMOUNT_EXCEEDED")
        #expect(await harness.refund(auth, capture: capture.captureReference, Harness.usd(300)).value != nil)
        let full = await harness.refund(auth, capture: capture.captureReference, Harness.usd(1))
        #expect(full.decline?.code == .invalidState)
        #expect(full.decline?.gatewayCode == "CAPTURE_FULLY_REFUNDED")
    }

    @Test func voidReleasesAndCaptureAfterwardsIsInvalidState() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let auth = try await harness.authorized()
        let reference = Harness.reference("void")
        let voided = await harness.gateway.void(
            VoidRequest(
                reference: reference, gatewayPaymentReference: auth.gatewayPaymentReference,
                gatewayAuthorizationReference: auth.gatewayAuthorizationReference))
        #expect(voided.value?.gatewayReference == auth.gatewayAuthorizationReference)
        let capture = await harness.capture(auth, Harness.usd(100))
        #expect(capture.decline?.code == .invalidState)
        #expect(capture.decline?.gatewayCode == "AUTHORIZATION_VOIDED")
        let status = await harness.gateway.status(
            StatusLookup(
                reference: reference, kind: .void, amount: Harness.usd(1_000),
                gatewayPaymentReference: auth.gatewayPaymentReference,
                gatewayAuthorizationReference: auth.gatewayAuthorizationReference))
        #expect(status.value == .succeeded(gatewayReference: auth.gatewayAuthorizationReference ?? "", payment: nil))
    }

    @Test func threeDSecureRequiresAction() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let reference = Harness.reference()
        let outcome = await harness.gateway.authorize(Harness.authorizeRequest(card: "4000002760003184", reference: reference))
        let result = try #require(outcome.value, "\(outcome)")
        guard case .requiresAction(let url) = result.state else {
            Issue.record("expected requiresAction, got \(result.state)")
            return
        }
        #expect(url?.contains("/_sandbox/3ds/\(result.gatewayPaymentReference)") == true)
        #expect(result.gatewayAuthorizationReference == nil)
        let status = await harness.gateway.status(
            StatusLookup(
                reference: reference, kind: .authorize, amount: Harness.usd(1_000),
                gatewayPaymentReference: result.gatewayPaymentReference))
        #expect(status.value == .pending(gatewayReference: result.gatewayPaymentReference))
    }

    @Test func droppedResponseIsUnknownAndStatusFindsTheOneAuthorization() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        // Two drops: the create goes out on the connection the token request opened, and curl
        // silently resends once on a fresh connection when a reused one dies. That resend is
        // harmless (same PayPal-Request-Id, PayPal replays), but it would hide the lost answer.
        try await harness.fault(#"{"kind": "drop_after_commit", "path": "/v2/checkout/orders", "method": "POST", "count": 2}"#)
        let reference = Harness.reference()
        let outcome = await harness.gateway.authorize(Harness.authorizeRequest(reference: reference))
        #expect(outcome.isUnknown, "\(outcome)")

        let lookup = StatusLookup(reference: reference, kind: .authorize, amount: Harness.usd(1_000))
        let status = try #require(await harness.gateway.status(lookup).value)
        guard case .succeeded(let authorization, let payment?) = status else {
            Issue.record("expected the authorization, got \(status)")
            return
        }
        #expect(payment.gatewayAuthorizationReference == authorization)
        #expect(payment.state == .authorized)
        #expect(try await harness.ledger(payment: payment.gatewayPaymentReference) == ["authorization 1000"])
        // Asking again changes nothing.
        #expect(await harness.gateway.status(lookup).value == status)
        let all = try await harness.admin(.GET, "/_sandbox/ledger")["data"] as? [[String: Any]] ?? []
        #expect(all.filter { $0["kind"] as? String == "authorization" }.count == 1)
    }

    @Test func lostAuthorizationThatNeverArrivedIsNotFoundAndCanStillBeMade() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let reference = Harness.reference()
        let lookup = StatusLookup(reference: reference, kind: .authorize, amount: Harness.usd(1_000))
        #expect(await harness.gateway.status(lookup).value == .notFound)
        // The lookup left a card-less order under the key; authorizing with it completes
        // that order rather than creating a second.
        let result = try #require(await harness.gateway.authorize(Harness.authorizeRequest(reference: reference)).value)
        #expect(result.state == .authorized)
        guard case .succeeded(_, let payment?)? = await harness.gateway.status(lookup).value else {
            Issue.record("the authorization is not found")
            return
        }
        #expect(payment.gatewayPaymentReference == result.gatewayPaymentReference)
        #expect(try await harness.ledger(payment: result.gatewayPaymentReference) == ["authorization 1000"])
    }

    @Test func declinedAuthorizationWithLostAnswerIsFoundFailed() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let reference = Harness.reference()
        _ = await harness.gateway.authorize(Harness.authorizeRequest(card: "4000000000009995", reference: reference))
        let status = await harness.gateway.status(StatusLookup(reference: reference, kind: .authorize, amount: Harness.usd(1_000)))
        guard case .failed(let decline)? = status.value else {
            Issue.record("expected failed, got \(status)")
            return
        }
        #expect(decline.code == .insufficientFunds)
    }

    @Test func captureAndRefundLookupsByOurReference() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let auth = try await harness.authorized()
        let captureReference = Harness.reference("cap")
        let capture = try #require(await harness.capture(auth, Harness.usd(1_000), reference: captureReference).value)
        let refundReference = Harness.reference("ref")
        let refund = try #require(
            await harness.refund(auth, capture: capture.captureReference, Harness.usd(250), reference: refundReference).value)

        func lookup(_ reference: TransactionReference, _ kind: TransactionKind, order: Bool = true) async -> StatusReport? {
            await harness.gateway.status(
                StatusLookup(
                    reference: reference, kind: kind, amount: Harness.usd(1_000),
                    gatewayPaymentReference: order ? auth.gatewayPaymentReference : nil,
                    gatewayAuthorizationReference: auth.gatewayAuthorizationReference)
            ).value
        }
        #expect(await lookup(captureReference, .capture) == .succeeded(gatewayReference: capture.captureReference, payment: nil))
        #expect(
            await lookup(captureReference, .capture, order: false)
                == .succeeded(gatewayReference: capture.captureReference, payment: nil))
        #expect(await lookup(refundReference, .refund) == .succeeded(gatewayReference: refund.refundReference, payment: nil))
        #expect(await lookup(Harness.reference("cap"), .capture) == .notFound)
        #expect(await lookup(Harness.reference("ref"), .refund) == .notFound)
        let missing = await harness.gateway.status(
            StatusLookup(
                reference: Harness.reference("cap"), kind: .capture, amount: Harness.usd(1), gatewayPaymentReference: "NOSUCHORDER"))
        #expect(missing.value == .notFound)
    }

    @Test func refusedConnectionIsNotProcessed() async throws {
        // A port that was just listening and is now closed.
        let gone = try await WebhookReceiver.start()
        let url = gone.url.replacingOccurrences(of: "/webhooks", with: "")
        await gone.stop()
        let http = try HTTPClient()
        defer { Task { await http.shutdown() } }
        let gateway = PayPalGateway(
            name: "paypal-gone",
            configuration: .init(baseURL: url, clientID: "id", clientSecret: "secret", connectTimeout: .seconds(2)),
            http: http, logger: Logger(label: "test"))
        let outcome = await gateway.authorize(Harness.authorizeRequest())
        #expect(outcome.isNotProcessed, "\(outcome)")
        #expect(outcome.allowsFailover)
    }

    @Test func timeoutAfterSendingIsUnknown() async throws {
        let harness = try await Harness.start(requestTimeoutMilliseconds: 2_000)
        defer { Task { await harness.stop() } }
        // A first call fetches the OAuth token, so the timeout below hits the order itself.
        _ = await harness.gateway.authorize(Harness.authorizeRequest())
        try await harness.fault(#"{"kind": "latency", "latency_ms": 6000, "path": "/v2/checkout/orders", "count": 1}"#)
        let outcome = await harness.gateway.authorize(Harness.authorizeRequest())
        #expect(outcome.isUnknown, "\(outcome)")
        #expect(!outcome.allowsFailover)
    }

    @Test func serverErrorIsUnknown() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        try await harness.fault(#"{"kind": "error", "status": 503, "path": "/v2/checkout/orders", "count": 1}"#)
        let outcome = await harness.gateway.authorize(Harness.authorizeRequest())
        guard case .unknown(let failure) = outcome else {
            Issue.record("expected unknown, got \(outcome)")
            return
        }
        #expect(failure.httpStatus == 503)
    }

    @Test func invalidCardDataIsRefusedBeforeAnyCall() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        var request = Harness.authorizeRequest()
        request.card.number = SecureBytes(Array("4242-4242".utf8))
        #expect(await harness.gateway.authorize(request).decline?.code == .invalidRequest)
        #expect(await harness.gateway.accessTokenFetches == 0)
    }
}

@Suite("PayPal OAuth tokens")
struct PayPalTokenTests {
    @Test func tokensAreCachedAndConcurrentCallersShareOneFetch() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<6 {
                group.addTask { _ = await harness.gateway.authorize(Harness.authorizeRequest()) }
            }
        }
        #expect(await harness.gateway.accessTokenFetches == 1)
        _ = try await harness.authorized()
        #expect(await harness.gateway.accessTokenFetches == 1)
    }

    @Test func tokenIsRefreshedBeforeItExpires() async throws {
        let harness = try await Harness.start(tokenLifetime: 600)
        defer { Task { await harness.stop() } }
        _ = try await harness.authorized()
        harness.clock.advance(500)  // within the refresh margin (60 s of 600), not yet expired
        _ = try await harness.authorized()
        #expect(await harness.gateway.accessTokenFetches == 1)
        harness.clock.advance(50)
        _ = try await harness.authorized()
        #expect(await harness.gateway.accessTokenFetches == 2)
    }

    @Test func aRejectedTokenIsRefreshedOnceAndTheCallRepeated() async throws {
        let harness = try await Harness.start(tokenLifetime: 600)
        defer { Task { await harness.stop() } }
        let auth = try await harness.authorized()
        // The sandbox's clock moves past the token's lifetime; ours does not notice.
        _ = try await harness.admin(.POST, "/_sandbox/clock/advance", json: #"{"seconds": 700}"#)
        let capture = await harness.capture(auth, Harness.usd(1_000))
        #expect(capture.value != nil, "\(capture)")
        #expect(await harness.gateway.accessTokenFetches == 2)
        #expect(try await harness.ledger(payment: auth.gatewayPaymentReference) == ["authorization 1000", "capture 1000"])
    }

    @Test func wrongCredentialsAreNotProcessed() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let gateway = PayPalGateway(
            name: "paypal-wrong",
            configuration: .init(baseURL: harness.sandbox.baseURL, clientID: "client-id", clientSecret: "wrong"),
            http: harness.http, logger: Logger(label: "test"))
        let outcome = await gateway.authorize(Harness.authorizeRequest())
        guard case .notProcessed(let failure) = outcome else {
            Issue.record("expected notProcessed, got \(outcome)")
            return
        }
        #expect(failure.httpStatus == 401)
        #expect(failure.gatewayCode == "invalid_client")
    }
}
