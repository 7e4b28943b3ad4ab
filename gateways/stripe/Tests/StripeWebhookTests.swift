import Foundation
import StripeGateway
import StripeSandbox
import Testing
import TillCore
import TillGateway
import TillHTTP
import TillTesting

@Suite("StripeGateway webhooks")
struct StripeWebhookTests {
    static let secret = "whsec_webhook_tests"
    static let now = Date(timeIntervalSince1970: 1_750_000_000)

    static func gateway(secret: String? = StripeWebhookTests.secret, tolerance: TimeInterval = 300) throws -> (StripeGateway, HTTPClient) {
        let client = try HTTPClient()
        let configuration = StripeGateway.Configuration(
            baseURL: "http://127.0.0.1:9", secretKey: "sk_test_x", webhookSecret: secret, webhookTolerance: tolerance)
        return (StripeGateway(configuration: configuration, http: client, logger: StripeGatewayHarness.logger), client)
    }

    static let body = Array(
        #"{"id":"evt_1","object":"event","type":"payment_intent.amount_capturable_updated","created":1750000000,"data":{"object":{"id":"pi_1","object":"payment_intent","amount":5000,"amount_capturable":5000,"currency":"usd","status":"requires_capture","metadata":{"till_payment":"pay_1","till_transaction":"txn_1"}}}}"#
            .utf8)

    static func request(_ signature: String?, body: [UInt8] = body) -> WebhookRequest {
        WebhookRequest(headers: signature.map { ["Stripe-Signature": $0] } ?? [:], body: body, receivedAt: now)
    }

    static func reason(_ gateway: StripeGateway, _ request: WebhookRequest) async -> WebhookError.Reason? {
        do {
            _ = try await gateway.parseWebhook(request)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test("a valid signature yields the mapped event, located by Till's metadata")
    func valid() async throws {
        let (gateway, client) = try Self.gateway()
        defer { _ = client }
        let header = StripeWebhookSignature.header(payload: Self.body, secret: Self.secret, timestamp: Self.now)
        let event = try await gateway.parseWebhook(Self.request(header))
        #expect(event.id == "evt_1")
        #expect(event.type == "payment_intent.amount_capturable_updated")
        #expect(event.payment == PaymentLocator(gatewayPaymentReference: "pi_1", paymentID: "pay_1", transactionID: "txn_1"))
        #expect(event.kind == .authorizationSucceeded(amount: Money(minorUnits: 5_000, currency: .usd)))
        #expect(event.occurredAt == Self.now)
    }

    @Test("rejections: bad signature, tampered body, stale or future timestamp, no header, no secret")
    func rejections() async throws {
        let (gateway, _) = try Self.gateway()
        let t = Int64(Self.now.timeIntervalSince1970)
        let good = StripeWebhookSignature.signature(payload: Self.body, secret: Self.secret, timestamp: t)
        let wrong = StripeWebhookSignature.signature(payload: Self.body, secret: "whsec_other", timestamp: t)
        #expect(await Self.reason(gateway, Self.request("t=\(t),v1=\(wrong)")) == .signatureMismatch)
        #expect(await Self.reason(gateway, Self.request("t=\(t),v1=\(good)", body: Self.body + [0x20])) == .signatureMismatch)
        #expect(await Self.reason(gateway, Self.request("t=\(t + 1),v1=\(good)")) == .signatureMismatch)
        for skew: Int64 in [-301, 301] {
            let stale = StripeWebhookSignature.signature(payload: Self.body, secret: Self.secret, timestamp: t + skew)
            #expect(await Self.reason(gateway, Self.request("t=\(t + skew),v1=\(stale)")) == .timestampOutsideTolerance)
        }
        let edge = StripeWebhookSignature.signature(payload: Self.body, secret: Self.secret, timestamp: t - 300)
        #expect(await Self.reason(gateway, Self.request("t=\(t - 300),v1=\(edge)")) == nil)
        #expect(await Self.reason(gateway, Self.request(nil)) == .missingSignature)
        #expect(await Self.reason(gateway, Self.request("v1=\(good)")) == .malformedSignature)
        #expect(await Self.reason(gateway, Self.request("t=\(t),v0=\(good)")) == .malformedSignature)
        #expect(await Self.reason(gateway, Self.request("t=soon,v1=\(good)")) == .malformedSignature)

        let (unconfigured, _) = try Self.gateway(secret: nil)
        #expect(await Self.reason(unconfigured, Self.request("t=\(t),v1=\(good)")) == .noSecretConfigured)
    }

    @Test("during a secret rotation any one v1 that matches is enough")
    func rotation() async throws {
        let (gateway, _) = try Self.gateway()
        let t = Int64(Self.now.timeIntervalSince1970)
        let old = StripeWebhookSignature.signature(payload: Self.body, secret: "whsec_old", timestamp: t)
        let current = StripeWebhookSignature.signature(payload: Self.body, secret: Self.secret, timestamp: t)
        #expect(await Self.reason(gateway, Self.request("t=\(t),v1=\(old),v1=\(current)")) == nil)
        #expect(await Self.reason(gateway, Self.request("t=\(t),v1=\(current),v1=\(old),v0=abc")) == nil)
        #expect(await Self.reason(gateway, Self.request("t=\(t),v1=\(old),v1=\(old)")) == .signatureMismatch)
    }

    @Test("a signed body that is not an event is a malformed payload; unknown types are ignored")
    func payloads() async throws {
        let (gateway, _) = try Self.gateway()
        let junk = Array("{}".utf8)
        #expect(
            await Self.reason(
                gateway,
                Self.request(StripeWebhookSignature.header(payload: junk, secret: Self.secret, timestamp: Self.now), body: junk))
                == .malformedPayload)
        let other = Array(#"{"id":"evt_2","type":"customer.created","created":1750000000,"data":{"object":{}}}"#.utf8)
        let event = try await gateway.parseWebhook(
            Self.request(StripeWebhookSignature.header(payload: other, secret: Self.secret, timestamp: Self.now), body: other))
        #expect(event.kind == .ignored(type: "customer.created"))
    }

    @Test("the sandbox's own webhooks verify and map: authorization, capture, refunds, disputes")
    func sandboxEvents() async throws {
        try await StripeGatewayHarness.with { h in
            let auth = try #require(await h.gateway.authorize(Fixtures.authorize("4000000000000259")).value)
            let payment = auth.gatewayPaymentReference
            _ = try #require(
                await h.gateway.capture(
                    CaptureRequest(reference: Fixtures.reference("capture"), gatewayPaymentReference: payment, amount: Fixtures.money(5_000))
                ).value)
            let refundRef = Fixtures.reference("refund")
            let refund = try #require(
                await h.gateway.refund(RefundRequest(reference: refundRef, gatewayPaymentReference: payment, amount: Fixtures.money(700))).value)
            let declined = await h.gateway.authorize(Fixtures.authorize("4000000000009995"))
            #expect(declined.decline?.code == .insufficientFunds)

            // Deliveries run concurrently and may be retried: wait for each event this test reads.
            for type in ["charge.dispute.created", "charge.dispute.funds_withdrawn", "charge.refunded", "refund.created"] {
                _ = try await h.receiver.wait { $0.bodyString.contains("\"\(type)\"") }
            }
            _ = try await h.receiver.wait { $0.bodyString.contains("payment_intent.payment_failed") }
            var kinds: [String: GatewayEvent] = [:]
            for received in h.receiver.received {
                let event = try await h.gateway.parseWebhook(
                    WebhookRequest(headers: received.headers, body: received.body, receivedAt: Date()))
                kinds[event.type] = event
            }
            let amount = Fixtures.money(5_000)
            #expect(kinds["payment_intent.amount_capturable_updated"]?.kind == .authorizationSucceeded(amount: amount))
            #expect(kinds["payment_intent.amount_capturable_updated"]?.payment.gatewayPaymentReference == payment)
            guard case .captureSucceeded(let charge, amount)? = kinds["charge.captured"]?.kind else {
                Issue.record("charge.captured did not map to a capture: \(String(describing: kinds["charge.captured"]))")
                return
            }
            #expect(kinds["payment_intent.succeeded"]?.kind == .captureSucceeded(captureReference: charge, amount: amount))
            let refunded = kinds["charge.refunded"]
            #expect(refunded?.kind == .refundSucceeded(refundReference: refund.refundReference, amount: Fixtures.money(700)))
            #expect(refunded?.payment.transactionID == refundRef.transactionID)
            #expect(kinds["refund.created"]?.kind == .refundSucceeded(refundReference: refund.refundReference, amount: Fixtures.money(700)))
            guard case .authorizationFailed(let decline)? = kinds["payment_intent.payment_failed"]?.kind else {
                Issue.record("payment_failed did not map to a failed authorization")
                return
            }
            #expect(decline.code == .insufficientFunds)
            guard case .disputeOpened(let dispute)? = kinds["charge.dispute.created"]?.kind else {
                Issue.record("charge.dispute.created did not map to an opened dispute")
                return
            }
            #expect(dispute.stage == .chargeback)
            #expect(dispute.status == .needsResponse)
            #expect(dispute.amount == Fixtures.money(4_300))
            #expect(kinds["charge.dispute.created"]?.payment.gatewayPaymentReference == payment)
            guard case .disputeUpdated? = kinds["charge.dispute.funds_withdrawn"]?.kind else {
                Issue.record("funds_withdrawn did not map to a dispute update")
                return
            }
            #expect(kinds["payment_intent.created"]?.kind == .ignored(type: "payment_intent.created"))
        }
    }
}
