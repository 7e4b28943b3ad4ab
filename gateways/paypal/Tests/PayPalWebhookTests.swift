import Foundation
import Logging
@testable import PayPalGateway
import PayPalSandbox
import TillCore
import TillCrypto
import TillGateway
import TillHTTP
import TillTesting
import Testing

@Suite("PayPal webhooks and disputes")
struct PayPalWebhookTests {
    @Test("transmission and event times parse as RFC 3339 exactly as ISO8601DateFormatter reads them", arguments: [
        "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.123Z", "2026-06-30T23:59:59.999999Z", "2026-01-01T02:00:00+02:00",
        "2026-01-01T00:00:00.5-05:30", "2026-01-01", "2026-01-01T00:00:00", "garbage", "",
    ])
    func timeParsing(_ text: String) {
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let expected = plain.date(from: text) ?? fractional.date(from: text)
        let parsed = PayPalGateway.parseTime(text)
        #expect((parsed == nil) == (expected == nil))
        if let parsed, let expected { #expect(abs(parsed.timeIntervalSince(expected)) < 0.001) }
    }

    @Test func verifiesAndMapsPaymentEvents() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let authReference = Harness.reference()
        let auth = try #require(await harness.gateway.authorize(Harness.authorizeRequest(reference: authReference)).value)
        let authID = try #require(auth.gatewayAuthorizationReference)

        let created = try await harness.gateway.parseWebhook(try await harness.webhook("PAYMENT.AUTHORIZATION.CREATED", about: authID))
        #expect(created.type == "PAYMENT.AUTHORIZATION.CREATED")
        #expect(created.kind == .authorizationSucceeded(amount: Harness.usd(1_000)))
        #expect(created.payment.gatewayPaymentReference == auth.gatewayPaymentReference)
        #expect(created.payment.transactionID == authReference.transactionID)

        let captureReference = Harness.reference("cap")
        let capture = try #require(await harness.capture(auth, Harness.usd(600), final: false, reference: captureReference).value)
        let captured = try await harness.gateway.parseWebhook(
            try await harness.webhook("PAYMENT.CAPTURE.COMPLETED", about: capture.captureReference))
        #expect(captured.kind == .captureSucceeded(captureReference: capture.captureReference, amount: Harness.usd(600)))
        #expect(captured.payment.transactionID == captureReference.transactionID)
        #expect(captured.payment.gatewayPaymentReference == auth.gatewayPaymentReference)

        let refundReference = Harness.reference("ref")
        let refund = try #require(
            await harness.refund(auth, capture: capture.captureReference, Harness.usd(100), reference: refundReference).value)
        let refunded = try await harness.gateway.parseWebhook(
            try await harness.webhook("PAYMENT.CAPTURE.REFUNDED", about: refund.refundReference))
        #expect(refunded.kind == .refundSucceeded(refundReference: refund.refundReference, amount: Harness.usd(100)))
        #expect(refunded.payment.transactionID == refundReference.transactionID)

        let rest = try await harness.authorized()
        _ = await harness.gateway.void(
            VoidRequest(
                reference: Harness.reference("void"), gatewayPaymentReference: rest.gatewayPaymentReference,
                gatewayAuthorizationReference: rest.gatewayAuthorizationReference))
        let voided = try await harness.gateway.parseWebhook(
            try await harness.webhook("PAYMENT.AUTHORIZATION.VOIDED", about: rest.gatewayAuthorizationReference ?? ""))
        #expect(voided.kind == .authorizationVoided)
    }

    @Test func pendingAndFailedRefundEvents() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let auth = try await harness.authorized(card: "4000000000005126")
        let capture = try #require(await harness.capture(auth, Harness.usd(1_000)).value)
        let refund = try #require(await harness.refund(auth, capture: capture.captureReference, Harness.usd(1_000)).value)
        let failed = try await harness.gateway.parseWebhook(try await harness.webhook("PAYMENT.REFUND.FAILED", about: refund.refundReference))
        #expect(failed.kind == .refundFailed(refundReference: refund.refundReference, amount: Harness.usd(1_000)))

        let pendingAuth = try await harness.authorized(card: "4000000000007726")
        let pendingCapture = try #require(await harness.capture(pendingAuth, Harness.usd(1_000)).value)
        let pending = try #require(
            await harness.refund(pendingAuth, capture: pendingCapture.captureReference, Harness.usd(400)).value)
        #expect(pending.state == .pending)
        let completed = try await harness.gateway.parseWebhook(
            try await harness.webhook("PAYMENT.CAPTURE.REFUNDED", about: pending.refundReference))
        #expect(completed.kind == .refundSucceeded(refundReference: pending.refundReference, amount: Harness.usd(400)))
    }

    @Test func disputesOpenTakeEvidenceAndAcceptance() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let auth = try await harness.authorized()
        let captureReference = Harness.reference("cap")
        let capture = try #require(await harness.capture(auth, Harness.usd(1_000), reference: captureReference).value)
        let opened = try await harness.admin(
            .POST, "/_sandbox/disputes", json: #"{"payment": "\#(capture.captureReference)", "stage": "inquiry", "reason": "product_not_received"}"#)
        let disputeID = try #require(opened["dispute_id"] as? String)

        let created = try await harness.gateway.parseWebhook(try await harness.webhook("CUSTOMER.DISPUTE.CREATED", about: disputeID))
        guard case .disputeOpened(let info) = created.kind else {
            Issue.record("expected disputeOpened, got \(created.kind)")
            return
        }
        #expect(info.disputeReference == disputeID)
        #expect(info.stage == .inquiry)
        #expect(info.status == .needsResponse)
        #expect(info.amount == Harness.usd(1_000))
        #expect(created.payment.transactionID == captureReference.transactionID)

        let evidence = await harness.gateway.submitDisputeEvidence(
            DisputeEvidenceRequest(
                disputeReference: disputeID,
                evidence: DisputeEvidence(
                    productDescription: "A teapot", shippingCarrier: "UPS", shippingTrackingNumber: "1Z999",
                    uncategorizedText: "Delivered to the door"),
                idempotencyKey: "evidence-\(disputeID)"))
        #expect(evidence.value == DisputeResult(disputeReference: disputeID, status: .underReview))
        let updated = try await harness.gateway.parseWebhook(try await harness.webhook("CUSTOMER.DISPUTE.UPDATED", about: disputeID))
        guard case .disputeUpdated(let underReview) = updated.kind else {
            Issue.record("expected disputeUpdated, got \(updated.kind)")
            return
        }
        #expect(underReview.status == .underReview)

        let accepted = await harness.gateway.acceptDispute(
            DisputeAcceptRequest(disputeReference: disputeID, idempotencyKey: "accept-\(disputeID)"))
        #expect(accepted.value == DisputeResult(disputeReference: disputeID, status: .accepted))
        let resolved = try await harness.gateway.parseWebhook(try await harness.webhook("CUSTOMER.DISPUTE.RESOLVED", about: disputeID))
        guard case .disputeClosed(let closed) = resolved.kind else {
            Issue.record("expected disputeClosed, got \(resolved.kind)")
            return
        }
        #expect(closed.status == .accepted)
        let again = await harness.gateway.acceptDispute(
            DisputeAcceptRequest(disputeReference: disputeID, idempotencyKey: "accept-again-\(disputeID)"))
        #expect(again.decline?.code == .invalidState)
        let unknown = await harness.gateway.acceptDispute(DisputeAcceptRequest(disputeReference: "PP-D-0", idempotencyKey: "x"))
        #expect(unknown.decline?.code == .invalidRequest)
    }

    @Test func verificationFailsClosed() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let auth = try await harness.authorized()
        let valid = try await harness.webhook("PAYMENT.AUTHORIZATION.CREATED", about: auth.gatewayAuthorizationReference ?? "")
        await #expect(throws: Never.self) { try await harness.gateway.parseWebhook(valid) }

        func reason(_ request: WebhookRequest, gateway: PayPalGateway? = nil) async -> WebhookError.Reason? {
            do {
                _ = try await (gateway ?? harness.gateway).parseWebhook(request)
                return nil
            } catch {
                return error.reason
            }
        }
        var tampered = valid
        tampered.body = Array(String(decoding: valid.body, as: UTF8.self).replacingOccurrences(of: "10.00", with: "1.00").utf8)
        #expect(await reason(tampered) == .signatureMismatch)

        var badSignature = valid
        badSignature.headers["paypal-transmission-sig"] = Data(repeating: 7, count: 32).base64EncodedString()
        #expect(await reason(badSignature) == .signatureMismatch)

        // Relative to the transmission time, not to when this test happened to receive the
        // delivery: on a loaded machine the two are seconds apart.
        let sent = try #require(PayPalGateway.parseTime(valid.header("PAYPAL-TRANSMISSION-TIME") ?? ""))
        var stale = valid
        stale.receivedAt = sent.addingTimeInterval(301)
        #expect(await reason(stale) == .timestampOutsideTolerance)
        var early = valid
        early.receivedAt = sent.addingTimeInterval(-301)
        #expect(await reason(early) == .timestampOutsideTolerance)

        var algorithm = valid
        algorithm.headers["paypal-auth-algo"] = "SHA256withRSA"
        #expect(await reason(algorithm) == .malformedSignature)

        var unsigned = valid
        unsigned.headers["paypal-transmission-sig"] = nil
        #expect(await reason(unsigned) == .missingSignature)

        let noSecret = PayPalGateway(
            name: "paypal-nosecret",
            configuration: .init(baseURL: harness.sandbox.baseURL, clientID: "client-id", clientSecret: "client-secret", webhookID: "WH-TEST"),
            http: harness.http, logger: Logger(label: "test"))
        #expect(await reason(valid, gateway: noSecret) == .noSecretConfigured)

        let otherSecret = PayPalGateway(
            name: "paypal-other",
            configuration: .init(
                baseURL: harness.sandbox.baseURL, clientID: "client-id", clientSecret: "client-secret",
                webhookSecret: "another-secret", webhookID: "WH-TEST"),
            http: harness.http, logger: Logger(label: "test"))
        #expect(await reason(valid, gateway: otherSecret) == .signatureMismatch)
    }

    @Test func unknownEventTypesAreIgnored() async throws {
        let body = Array(#"{"id": "WH-1", "event_type": "CHECKOUT.ORDER.APPROVED", "create_time": "2026-01-01T00:00:00Z", "resource": {}}"#.utf8)
        let secret = "s"
        let time = "2026-01-01T00:00:00Z"
        let message = "t-1|\(time)|WH-X|\(crc32(body))"
        let signature = Data(HMACSHA256.authenticationCode(for: Array(message.utf8), key: Array(secret.utf8)).bytes)
            .base64EncodedString()
        let request = WebhookRequest(
            headers: [
                "PAYPAL-TRANSMISSION-ID": "t-1", "PAYPAL-TRANSMISSION-TIME": time, "PAYPAL-TRANSMISSION-SIG": signature,
                "PAYPAL-AUTH-ALGO": "HMACSHA256",
            ],
            body: body, receivedAt: Date(timeIntervalSince1970: 1_767_225_600 + 5))
        let http = try HTTPClient()
        let gateway = PayPalGateway(
            name: "p",
            configuration: .init(baseURL: "http://127.0.0.1:1", clientID: "a", clientSecret: "b", webhookSecret: secret, webhookID: "WH-X"),
            http: http, logger: Logger(label: "test"))
        let event = try await gateway.parseWebhook(request)
        #expect(event.kind == .ignored(type: "CHECKOUT.ORDER.APPROVED"))
        #expect(event.id == "WH-1")
    }

    /// The reference CRC-32, independent of the module's.
    private func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }
}

@Suite("PayPal plugin configuration")
struct PayPalConfigurationTests {
    static func settings(
        baseURL: String = "https://api-m.sandbox.paypal.com", credentials: [String: SecretSource]? = nil,
        webhookSecret: SecretSource? = .inline("whsec"), options: [String: String] = ["webhook_id": "WH-1"]
    ) -> GatewaySettings {
        GatewaySettings(
            name: "paypal-main", plugin: "paypal", baseURL: baseURL,
            credentials: credentials ?? ["client_id": .inline("id"), "client_secret": .environment("PAYPAL_SECRET")],
            webhookSecret: webhookSecret, options: options)
    }

    static func field(_ settings: GatewaySettings, environment: [String: String] = ["PAYPAL_SECRET": "s"]) throws -> String? {
        let http = try HTTPClient()
        let context = GatewayContext(http: http, logger: Logger(label: "test"), allowInlineSecrets: true, environment: environment)
        do {
            _ = try PayPalPlugin.makeGateway(settings, path: "gateways[2]", context: context)
            return nil
        } catch {
            return error.field
        }
    }

    @Test func goodSettingsBuildAGatewayWithItsCapabilities() throws {
        let registry = GatewayRegistry()
        PayPalPlugin.register(in: registry)
        #expect(registry.plugins.contains("paypal"))
        let http = try HTTPClient()
        let context = GatewayContext(
            http: http, logger: Logger(label: "test"), allowInlineSecrets: true, environment: ["PAYPAL_SECRET": "s"])
        let gateway = try PayPalPlugin.makeGateway(Self.settings(), path: "gateways[0]", context: context)
        #expect(gateway.plugin == "paypal")
        #expect(gateway.name == "paypal-main")
        let capabilities = gateway.capabilities
        #expect(capabilities.partialCapture && capabilities.multipleCaptures && capabilities.partialRefund)
        #expect(capabilities.multipleRefunds && capabilities.void && capabilities.threeDSecure && capabilities.disputes)
    }

    @Test func errorsNameTheField() throws {
        #expect(try Self.field(Self.settings(credentials: ["client_secret": .inline("s")])) == "gateways[2].credentials.client_id")
        #expect(try Self.field(Self.settings(), environment: [:]) == "gateways[2].credentials.client_secret")
        #expect(try Self.field(Self.settings(baseURL: "ftp://x")) == "gateways[2].base_url")
        #expect(try Self.field(Self.settings(options: [:])) == "gateways[2].options.webhook_id")
        #expect(
            try Self.field(Self.settings(options: ["webhook_id": "WH", "webhook_tolerance_seconds": "soon"]))
                == "gateways[2].options.webhook_tolerance_seconds")
        #expect(
            try Self.field(Self.settings(options: ["webhook_id": "WH", "currencies": "USD,XXQ"])) == "gateways[2].options.currencies")
        #expect(try Self.field(Self.settings(webhookSecret: .environment("NOPE"))) == "gateways[2].webhook_secret")
        #expect(try Self.field(Self.settings(webhookSecret: nil, options: [:])) == nil)
    }
}
