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

    static func reason(_ request: WebhookRequest, _ gateway: PayPalGateway) async -> WebhookError.Reason? {
        do {
            _ = try await gateway.parseWebhook(request)
            return nil
        } catch {
            return error.reason
        }
    }

    /// A gateway on the harness's sandbox with its own verification and certificate source.
    static func gateway(
        _ harness: Harness, webhookID: String? = "WH-TEST",
        verification: PayPalGateway.Configuration.WebhookVerification,
        source: (any PayPalCertificateSource)? = nil
    ) -> PayPalGateway {
        PayPalGateway(
            name: "paypal-variant",
            configuration: .init(
                baseURL: harness.sandbox.baseURL, clientID: "client-id", clientSecret: "client-secret", webhookID: webhookID,
                webhookVerification: verification),
            http: harness.http, logger: Logger(label: "test"), certificateSource: source)
    }

    static func sandboxPolicy(_ harness: Harness, hosts: Set<String>? = nil, http: Bool = true) -> CertificateURLPolicy {
        CertificateURLPolicy(allowedHosts: hosts ?? ["127.0.0.1:\(harness.sandbox.port)"], allowsPlainHTTP: http)
    }

    @Test func verificationFailsClosed() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let auth = try await harness.authorized()
        let valid = try await harness.webhook("PAYMENT.AUTHORIZATION.CREATED", about: auth.gatewayAuthorizationReference ?? "")
        #expect(valid.header("PAYPAL-AUTH-ALGO") == "SHA256withRSA")
        await #expect(throws: Never.self) { try await harness.gateway.parseWebhook(valid) }
        func reason(_ request: WebhookRequest) async -> WebhookError.Reason? { await Self.reason(request, harness.gateway) }

        var tampered = valid
        tampered.body = Array(String(decoding: valid.body, as: UTF8.self).replacingOccurrences(of: "10.00", with: "1.00").utf8)
        #expect(await reason(tampered) == .signatureMismatch)

        var badSignature = valid
        badSignature.headers["paypal-transmission-sig"] = Data(repeating: 7, count: 256).base64EncodedString()
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

        // The sandbox's old shared-secret scheme is not a way around the certificate.
        var algorithm = valid
        algorithm.headers["paypal-auth-algo"] = "HMACSHA256"
        #expect(await reason(algorithm) == .malformedSignature)

        var unsigned = valid
        unsigned.headers["paypal-transmission-sig"] = nil
        #expect(await reason(unsigned) == .missingSignature)
        var noCertificate = valid
        noCertificate.headers["paypal-cert-url"] = nil
        #expect(await reason(noCertificate) == .missingSignature)

        let noWebhookID = Self.gateway(harness, webhookID: nil, verification: .api)
        #expect(await Self.reason(valid, noWebhookID) == .noSecretConfigured)
        let otherWebhook = Self.gateway(
            harness, webhookID: "WH-OTHER",
            verification: .certificate(
                policy: Self.sandboxPolicy(harness), trust: try X509TrustStore(pem: harness.sandbox.signing.rootPEM)))
        #expect(await Self.reason(valid, otherWebhook) == .signatureMismatch)
    }

    @Test("A certificate URL off the allow-list, or over http when only https is allowed, is never fetched")
    func certificateURLPolicyIsCheckedBeforeAnyFetch() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let auth = try await harness.authorized()
        let valid = try await harness.webhook("PAYMENT.AUTHORIZATION.CREATED", about: auth.gatewayAuthorizationReference ?? "")
        let trust = try X509TrustStore(pem: harness.sandbox.signing.rootPEM)
        let counting = CountingSource(HTTPCertificateSource(http: harness.http))

        // An attacker's server on loopback: the genuine chain would even verify there.
        let attacker = Self.gateway(
            harness, verification: .certificate(policy: Self.sandboxPolicy(harness), trust: trust), source: counting)
        var elsewhere = valid
        elsewhere.headers["paypal-cert-url"] = valid.header("PAYPAL-CERT-URL")?
            .replacingOccurrences(of: "127.0.0.1:\(harness.sandbox.port)", with: "127.0.0.1:1")
        #expect(await Self.reason(elsewhere, attacker) == .malformedSignature)
        var otherPath = valid
        otherPath.headers["paypal-cert-url"] = "http://127.0.0.1:\(harness.sandbox.port)/_sandbox/ca.pem"
        #expect(await Self.reason(otherPath, attacker) == .malformedSignature)

        let httpsOnly = Self.gateway(
            harness, verification: .certificate(policy: Self.sandboxPolicy(harness, http: false), trust: trust),
            source: counting)
        #expect(await Self.reason(valid, httpsOnly) == .malformedSignature)
        #expect(await counting.urls.isEmpty)
    }

    @Test("The certificate must chain to the configured CA, and is fetched once for many webhooks")
    func chainIsCheckedAndCached() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let first = try await harness.authorized()
        let second = try await harness.authorized()
        let one = try await harness.webhook("PAYMENT.AUTHORIZATION.CREATED", about: first.gatewayAuthorizationReference ?? "")
        let two = try await harness.webhook("PAYMENT.AUTHORIZATION.CREATED", about: second.gatewayAuthorizationReference ?? "")

        let counting = CountingSource(HTTPCertificateSource(http: harness.http))
        let trusting = Self.gateway(
            harness,
            verification: .certificate(
                policy: Self.sandboxPolicy(harness), trust: try X509TrustStore(pem: harness.sandbox.signing.rootPEM)),
            source: counting)
        for request in [one, two, one] { _ = try await trusting.parseWebhook(request) }
        #expect(await counting.urls == [one.header("PAYPAL-CERT-URL") ?? "-"])

        // Another CA (another PayPal-like installation, or an attacker's own root).
        let stranger = try PayPalSigningAuthority.generate()
        let distrusting = Self.gateway(
            harness, verification: .certificate(policy: Self.sandboxPolicy(harness), trust: try X509TrustStore(pem: stranger.rootPEM)))
        #expect(await Self.reason(one, distrusting) == .signatureMismatch)
        // The system bundle, as with real PayPal, does not trust the sandbox either.
        let system = Self.gateway(
            harness,
            verification: .certificate(
                policy: Self.sandboxPolicy(harness), trust: try X509TrustStore(bundleFile: X509TrustStore.systemBundlePath)))
        #expect(await Self.reason(one, system) == .signatureMismatch)
    }

    @Test("An expired signing certificate is refused")
    func expiredCertificate() async throws {
        // A hierarchy whose certificates ended an hour ago, in a sandbox of its own.
        let expired = try PayPalSigningAuthority.generate(now: Date().addingTimeInterval(-7200), lifetime: 3600)
        let receiver = try await WebhookReceiver.start()
        defer { Task { await receiver.stop() } }
        let sandbox = try await PayPalSandbox.start(
            .init(clientID: "c", clientSecret: "s", webhookEndpoints: [receiver.url], webhookID: "WH-EXP", signing: expired),
            logger: Logger(label: "test"))
        defer { Task { await sandbox.stop() } }
        let http = try HTTPClient()
        defer { Task { await http.shutdown() } }
        let gateway = PayPalGateway(
            name: "paypal-expired",
            configuration: .init(
                baseURL: sandbox.baseURL, clientID: "c", clientSecret: "s", webhookID: "WH-EXP",
                webhookVerification: .certificate(
                    policy: CertificateURLPolicy(allowedHosts: [sandbox.authority], allowsPlainHTTP: true),
                    trust: try X509TrustStore(pem: expired.rootPEM))),
            http: http, logger: Logger(label: "test"))
        let auth = await gateway.authorize(Harness.authorizeRequest())
        guard case .succeeded(let result) = auth else { Issue.record("authorize: \(auth)"); return }
        let received = try await receiver.wait { $0.json?["event_type"] as? String == "PAYMENT.AUTHORIZATION.CREATED" }
        _ = result
        let request = WebhookRequest(headers: received.headers, body: received.body, receivedAt: Date())
        #expect(await Self.reason(request, gateway) == .signatureMismatch)
    }

    @Test("With webhook_verification api, PayPal's verify-webhook-signature decides, and its outage is not a rejection")
    func verificationThroughTheAPI() async throws {
        let harness = try await Harness.start(options: [
            "webhook_verification": "api", "webhook_ca_pem": "", "webhook_cert_hosts": "", "webhook_cert_allow_http": "",
        ])
        defer { Task { await harness.stop() } }
        let auth = try await harness.authorized()
        let valid = try await harness.webhook("PAYMENT.AUTHORIZATION.CREATED", about: auth.gatewayAuthorizationReference ?? "")
        let event = try await harness.gateway.parseWebhook(valid)
        #expect(event.deliveryID == valid.header("PAYPAL-TRANSMISSION-ID"))

        var tampered = valid
        tampered.body = Array(String(decoding: valid.body, as: UTF8.self).replacingOccurrences(of: "10.00", with: "1.00").utf8)
        #expect(await Self.reason(tampered, harness.gateway) == .signatureMismatch)
        var notJSON = valid
        notJSON.body = Array("[1, 2]".utf8)
        #expect(await Self.reason(notJSON, harness.gateway) == .malformedPayload)

        try await harness.fault(#"{"kind": "error", "status": 503, "path": "/v1/notifications/verify-webhook-signature", "count": 1}"#)
        #expect(await Self.reason(valid, harness.gateway) == .verificationUnavailable)
        await #expect(throws: Never.self) { try await harness.gateway.parseWebhook(valid) }
    }

    @Test("A certificate endpoint that fails is verificationUnavailable; one that answers 404 is a rejection")
    func certificateEndpointFailures() async throws {
        let harness = try await Harness.start()
        defer { Task { await harness.stop() } }
        let auth = try await harness.authorized()
        let valid = try await harness.webhook("PAYMENT.AUTHORIZATION.CREATED", about: auth.gatewayAuthorizationReference ?? "")
        let url = try #require(valid.header("PAYPAL-CERT-URL"))
        let path = String(url.drop { $0 != "/" }.dropFirst(2).drop { $0 != "/" })
        try await harness.fault(#"{"kind": "error", "status": 503, "path": "\#(path)", "count": 1}"#)
        #expect(await Self.reason(valid, harness.gateway) == .verificationUnavailable)
        // Nothing was cached from the failure: the next delivery fetches and verifies.
        await #expect(throws: Never.self) { try await harness.gateway.parseWebhook(valid) }

        var unknownCertificate = valid
        unknownCertificate.headers["paypal-cert-url"] = url.replacingOccurrences(
            of: harness.sandbox.signing.certificateName, with: "CERT-unknown")
        #expect(await Self.reason(unknownCertificate, harness.gateway) == .signatureMismatch)
    }

    @Test func unknownEventTypesAreIgnored() async throws {
        let body = Array(#"{"id": "WH-1", "event_type": "CHECKOUT.ORDER.APPROVED", "create_time": "2026-01-01T00:00:00Z", "resource": {}}"#.utf8)
        let signing = try PayPalSigningAuthority.generate(now: Date(timeIntervalSince1970: 1_767_225_600))
        let time = "2026-01-01T00:00:00Z"
        let signature = try signing.signature(transmissionID: "t-1", time: time, webhookID: "WH-X", body: body)
        #expect(PayPalWebhookSignature.message(transmissionID: "t-1", time: time, webhookID: "WH-X", body: body)
            == "t-1|\(time)|WH-X|\(crc32(body))")
        let url = "https://api.paypal.com/v1/notifications/certs/CERT-1"
        let request = WebhookRequest(
            headers: [
                "PAYPAL-TRANSMISSION-ID": "t-1", "PAYPAL-TRANSMISSION-TIME": time, "PAYPAL-TRANSMISSION-SIG": signature,
                "PAYPAL-AUTH-ALGO": "SHA256withRSA", "PAYPAL-CERT-URL": url,
            ],
            body: body, receivedAt: Date(timeIntervalSince1970: 1_767_225_600 + 5))
        let http = try HTTPClient()
        let gateway = PayPalGateway(
            name: "p",
            configuration: .init(
                baseURL: "http://127.0.0.1:1", clientID: "a", clientSecret: "b", webhookID: "WH-X",
                webhookVerification: .certificate(policy: CertificateURLPolicy(), trust: try X509TrustStore(pem: signing.rootPEM))),
            http: http, logger: Logger(label: "test"), certificateSource: StaticCertificateSource(pem: signing.chainPEM))
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
        webhookSecret: SecretSource? = nil, options: [String: String] = ["webhook_id": "WH-1"]
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
        #expect(
            try Self.field(Self.settings(options: ["webhook_id": "WH", "webhook_tolerance_seconds": "soon"]))
                == "gateways[2].options.webhook_tolerance_seconds")
        #expect(
            try Self.field(Self.settings(options: ["webhook_id": "WH", "currencies": "USD,XXQ"])) == "gateways[2].options.currencies")
        // PayPal has no webhook secret: one configured is a mistake to point out, not to ignore.
        #expect(try Self.field(Self.settings(webhookSecret: .inline("whsec"))) == "gateways[2].webhook_secret")
        #expect(try Self.field(Self.settings(options: [:])) == nil)
    }

    @Test func webhookVerificationOptions() throws {
        func field(_ options: [String: String]) throws -> String? {
            try Self.field(Self.settings(options: options.merging(["webhook_id": "WH-1"]) { a, _ in a }))
        }
        // The default: by certificate against the system bundle, from PayPal's hosts.
        #expect(try field([:]) == nil)
        #expect(try field(["webhook_verification": "api"]) == nil)
        #expect(try field(["webhook_verification": "hmac"]) == "gateways[2].options.webhook_verification")
        #expect(try field(["webhook_verification": "api", "webhook_cert_hosts": "x"]) == "gateways[2].options.webhook_cert_hosts")
        #expect(try field(["webhook_ca_bundle": "/nonexistent/ca.pem"]) == "gateways[2].options.webhook_ca_bundle")
        #expect(try field(["webhook_ca_pem": "not a certificate"]) == "gateways[2].options.webhook_ca_pem")
        let root = try PayPalSigningAuthority.generate().rootPEM
        #expect(try field(["webhook_ca_pem": root]) == nil)
        #expect(
            try field(["webhook_ca_pem": root, "webhook_ca_bundle": X509TrustStore.systemBundlePath])
                == "gateways[2].options.webhook_ca_pem")
        #expect(try field(["webhook_cert_hosts": " , "]) == "gateways[2].options.webhook_cert_hosts")
        #expect(try field(["webhook_cert_allow_http": "yes"]) == "gateways[2].options.webhook_cert_allow_http")
        #expect(try field(["webhook_cert_allow_http": "true", "webhook_cert_hosts": "127.0.0.1:8"]) == nil)
        // Without a webhook id the gateway takes no webhooks, so their options are a mistake.
        #expect(
            try Self.field(Self.settings(options: ["webhook_verification": "api"])) == "gateways[2].options.webhook_verification")
    }
}

/// Passes fetches on and records them.
actor CountingSource: PayPalCertificateSource {
    let inner: any PayPalCertificateSource
    private(set) var urls: [String] = []

    init(_ inner: any PayPalCertificateSource) {
        self.inner = inner
    }

    func certificates(at url: String) async throws(WebhookError) -> String {
        urls.append(url)
        return try await inner.certificates(at: url)
    }
}
