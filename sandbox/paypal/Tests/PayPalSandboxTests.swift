import TillCore
import Foundation
import PayPalSandbox
import TillCrypto
import TillHTTP
import TillTesting
import Testing

@Suite("CRC32 and the webhook signature")
struct SignatureTests {
    @Test func crc32KnownAnswers() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
        #expect(CRC32.checksum([0x00]) == 0xD202_EF8D)
    }

    @Test("The signature is SHA256withRSA over id|time|webhook id|crc32, under a certificate chained to the root")
    func signatureCoversIDTimeWebhookAndBodyChecksum() throws {
        let authority = try PayPalSigningAuthority.generate()
        let body = Array("{\"id\":\"WH-1\"}".utf8)
        let message = PayPalWebhookSignature.message(transmissionID: "t-1", time: "2026-01-01T00:00:00Z", webhookID: "WH-X", body: body)
        #expect(message == "t-1|2026-01-01T00:00:00Z|WH-X|\(CRC32.checksum(body))")
        let signature = try authority.signature(transmissionID: "t-1", time: "2026-01-01T00:00:00Z", webhookID: "WH-X", body: body)
        let key = try authority.signingCertificate.publicKey
        #expect(key.isValidSignature(try #require(Data(base64Encoded: signature)), for: Array(message.utf8)))
        #expect(
            !authority.isValid(
                signature: signature, transmissionID: "t-1", time: "2026-01-01T00:00:00Z", webhookID: "WH-X", body: body + [0x20]))

        // What the certificate URL serves: the signing certificate, then the intermediate.
        let chain = try X509Certificate.chain(pem: authority.chainPEM)
        #expect(chain.count == 2)
        #expect(!chain[0].isCA && chain[1].isCA)
        try X509TrustStore(pem: authority.rootPEM).verify(chain[0], intermediates: [chain[1]], at: Date())
        #expect(throws: X509VerificationError.self) {
            try X509TrustStore(pem: PayPalSigningAuthority.generate().rootPEM).verify(chain[0], intermediates: [chain[1]], at: Date())
        }
    }
}

@Suite("PayPal-like sandbox over HTTP")
struct PayPalSandboxTests {
    @Test func oauthTokensExpireOnTheSandboxClock() async throws {
        let harness = try await PayPalHarness.start(tokenLifetime: 60)
        defer { Task { await harness.stop() } }
        let issued = try await harness.tokenRequest(id: "client-id", secret: "client-secret")
        #expect(issued.status == 200)
        #expect(issued.json["token_type"] as? String == "Bearer")
        #expect(issued.json["expires_in"] as? Int == 60)

        let wrong = try await harness.tokenRequest(id: "client-id", secret: "nope")
        #expect(wrong.status == 401)
        #expect(wrong.json["error"] as? String == "invalid_client")
        let grant = try await harness.tokenRequest(id: "client-id", secret: "client-secret", form: "grant_type=password")
        #expect(grant.status == 400)
        #expect(grant.json["error"] as? String == "unsupported_grant_type")

        #expect(try await harness.call(.GET, "/v2/checkout/orders/NOPE").status == 404)
        let nowhere = try await harness.call(.GET, "/v2/nowhere")
        #expect(nowhere.status == 404)
        #expect(nowhere.json["name"] as? String == "RESOURCE_NOT_FOUND")
        let unknown = try await harness.call(.GET, "/v2/checkout/orders/NOPE", token: "A21AAforged")
        #expect(unknown.status == 401)
        #expect(unknown.json["error"] as? String == "invalid_token")
        let missing = try await harness.call(.GET, "/v2/checkout/orders/NOPE", token: "")
        #expect(missing.status == 401)
        #expect(missing.json["name"] as? String == "AUTHENTICATION_FAILURE")

        _ = try await harness.call(.POST, "/_sandbox/clock/advance", json: ["seconds": 61])
        let expired = try await harness.call(.GET, "/v2/checkout/orders/NOPE")
        #expect(expired.status == 401)
        #expect(expired.json["error"] as? String == "invalid_token")
    }

    @Test func authorizePartialCaptureRefundVoid() async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        let order = try await harness.createOrder("AUTHORIZE", value: "10.00")
        #expect(order.status == "COMPLETED")
        let authorization = order.authorization.id
        #expect(order.authorization.status == "CREATED")
        _ = try await harness.event("PAYMENT.AUTHORIZATION.CREATED", resource: authorization)

        let tooMuch = try await harness.call(
            .POST, "/v2/payments/authorizations/\(authorization)/capture",
            json: ["amount": ["currency_code": "USD", "value": "10.01"]])
        #expect(tooMuch.status == 422)
        #expect(tooMuch.issue == "MAX_CAPTURE_AMOUNT_EXCEEDED")

        let capture = try await harness.call(
            .POST, "/v2/payments/authorizations/\(authorization)/capture",
            json: ["amount": ["currency_code": "USD", "value": "6.00"], "final_capture": false])
        #expect(capture.status == 201)
        #expect(capture.json.status == "COMPLETED")
        #expect(capture.json["final_capture"] as? Bool == false)
        let captured = try await harness.call(.GET, "/v2/payments/authorizations/\(authorization)")
        #expect(captured.json.status == "PARTIALLY_CAPTURED")
        _ = try await harness.event("PAYMENT.CAPTURE.COMPLETED", resource: capture.json.id)

        let overRefund = try await harness.call(
            .POST, "/v2/payments/captures/\(capture.json.id)/refund", json: ["amount": ["currency_code": "USD", "value": "6.01"]])
        #expect(overRefund.issue == "REFUND_AMOUNT_EXCEEDED")
        let refund = try await harness.call(
            .POST, "/v2/payments/captures/\(capture.json.id)/refund", json: ["amount": ["currency_code": "USD", "value": "2.00"]])
        #expect(refund.status == 201)
        #expect(refund.json.status == "COMPLETED")
        let fetched = try await harness.call(.GET, "/v2/payments/refunds/\(refund.json.id)")
        #expect((fetched.json["amount"] as? [String: Any])?["value"] as? String == "2.00")
        _ = try await harness.event("PAYMENT.CAPTURE.REFUNDED", resource: refund.json.id)
        let afterRefund = try await harness.call(.GET, "/v2/payments/captures/\(capture.json.id)")
        #expect(afterRefund.json.status == "PARTIALLY_REFUNDED")

        let void = try await harness.call(.POST, "/v2/payments/authorizations/\(authorization)/void")
        #expect(void.status == 200)
        #expect(void.json.status == "VOIDED")
        _ = try await harness.event("PAYMENT.AUTHORIZATION.VOIDED", resource: authorization)
        let again = try await harness.call(.POST, "/v2/payments/authorizations/\(authorization)/void")
        #expect(again.issue == "PREVIOUSLY_VOIDED")

        #expect(
            try await harness.movements(of: order.id) == [
                "authorization 1000", "capture 600", "refund 200", "void 400",
            ])
    }

    @Test func reauthorizeAndExpiry() async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        let order = try await harness.createOrder("AUTHORIZE", value: "20.00")
        let first = order.authorization.id
        let tooMuch = try await harness.call(
            .POST, "/v2/payments/authorizations/\(first)/reauthorize", json: ["amount": ["currency_code": "USD", "value": "23.01"]])
        #expect(tooMuch.issue == "AUTHORIZATION_AMOUNT_EXCEEDED")
        let second = try await harness.call(.POST, "/v2/payments/authorizations/\(first)/reauthorize", json: [:] as [String: Any])
        #expect(second.status == 201)
        #expect(second.json.status == "CREATED")
        #expect(second.json.id != first)
        let old = try await harness.call(.POST, "/v2/payments/authorizations/\(first)/capture")
        #expect(old.issue == "AUTHORIZATION_VOIDED")

        _ = try await harness.call(.POST, "/_sandbox/clock/advance", json: ["seconds": 30 * 24 * 3600])
        let token = try await harness.tokenRequest(id: "client-id", secret: "client-secret").json["access_token"] as? String
        let expired = try await harness.call(.POST, "/v2/payments/authorizations/\(second.json.id)/capture", token: token)
        #expect(expired.issue == "AUTHORIZATION_EXPIRED")
    }

    @Test(arguments: [
        ("4000000000000002", "INSTRUMENT_DECLINED", "0500"),
        ("4000000000009995", "INSTRUMENT_DECLINED", "5120"),
        ("4000000000009987", "INSTRUMENT_DECLINED", "9520"),
        ("4000000000009979", "INSTRUMENT_DECLINED", "9520"),
        ("4000000000000069", "CARD_EXPIRED", "5400"),
        ("4000000000000127", "INSTRUMENT_DECLINED", "5110"),
        ("4000000000000119", "INSTRUMENT_DECLINED", "8000"),
    ])
    func declines(card: String, issue: String, code: String) async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        let declined = try await harness.call(.POST, "/v2/checkout/orders", json: PayPalHarness.order("CAPTURE", card: card))
        #expect(declined.status == 422)
        #expect(declined.json["name"] as? String == "UNPROCESSABLE_ENTITY")
        #expect(declined.issue == issue)
        #expect((declined.json["details"] as? [[String: Any]])?.first?["value"] as? String == code)
        #expect(declined.json["debug_id"] as? String != nil)
        let denied = try await harness.receiver.wait { $0.json?["event_type"] as? String == "PAYMENT.CAPTURE.DENIED" }
        #expect(((denied.json?["resource"] as? [String: Any])?["status"] as? String) == "DECLINED")
        #expect(try await harness.ledger().isEmpty)

        let authorize = try await harness.call(.POST, "/v2/checkout/orders", json: PayPalHarness.order("AUTHORIZE", card: card))
        #expect(authorize.issue == issue)
    }

    @Test func threeDSecureChallenge() async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        let order = try await harness.createOrder("CAPTURE", card: "4000002760003184")
        #expect(order.status == "PAYER_ACTION_REQUIRED")
        let page = try #require(order.link("payer-action"))
        let html = try await harness.client.execute(HTTPRequest(url: page))
        #expect(html.status == 200)
        let early = try await harness.call(.POST, "/v2/checkout/orders/\(order.id)/capture")
        #expect(early.issue == "PAYER_ACTION_REQUIRED")
        #expect(try await harness.call(.POST, "/_sandbox/3ds/\(order.id)/complete").status == 200)
        let captured = try await harness.call(.POST, "/v2/checkout/orders/\(order.id)/capture")
        #expect(captured.status == 201)
        #expect(captured.json.status == "COMPLETED")
        #expect(captured.json.capture.status == "COMPLETED")
    }

    @Test func approvedOrderWithoutCard() async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        let order = try await harness.call(.POST, "/v2/checkout/orders", json: PayPalHarness.order("CAPTURE", card: nil)).json
        #expect(order.status == "CREATED")
        let notApproved = try await harness.call(.POST, "/v2/checkout/orders/\(order.id)/capture")
        #expect(notApproved.issue == "ORDER_NOT_APPROVED")
        let wrongIntent = try await harness.call(.POST, "/v2/checkout/orders/\(order.id)/authorize")
        #expect(wrongIntent.issue == "ACTION_DOES_NOT_MATCH_INTENT")
        let approve = try #require(order.link("approve"))
        #expect(try await harness.client.execute(HTTPRequest(method: .POST, url: approve)).status == 200)
        let captured = try await harness.call(.POST, "/v2/checkout/orders/\(order.id)/capture")
        #expect(captured.json.status == "COMPLETED")
        let twice = try await harness.call(.POST, "/v2/checkout/orders/\(order.id)/capture")
        #expect(twice.issue == "ORDER_ALREADY_CAPTURED")
    }

    @Test func refundPendingThenSucceeds() async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        let order = try await harness.createOrder("CAPTURE", card: "4000000000007726")
        let refund = try await harness.call(.POST, "/v2/payments/captures/\(order.capture.id)/refund")
        #expect(refund.json.status == "PENDING")
        _ = try await harness.event("PAYMENT.CAPTURE.REFUNDED", resource: refund.json.id)
        #expect(try await harness.call(.GET, "/v2/payments/refunds/\(refund.json.id)").json.status == "COMPLETED")
        #expect(try await harness.movements(of: order.id) == ["authorization 1000", "capture 1000", "refund 1000"])
    }

    @Test func refundSucceedsThenFails() async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        let order = try await harness.createOrder("CAPTURE", card: "4000000000005126")
        let refund = try await harness.call(
            .POST, "/v2/payments/captures/\(order.capture.id)/refund", json: ["amount": ["currency_code": "USD", "value": "4.00"]])
        #expect(refund.json.status == "COMPLETED")
        _ = try await harness.event("PAYMENT.REFUND.FAILED", resource: refund.json.id)
        #expect(try await harness.call(.GET, "/v2/payments/refunds/\(refund.json.id)").json.status == "FAILED")
        #expect(try await harness.call(.GET, "/v2/payments/captures/\(order.capture.id)").json.status == "COMPLETED")
        #expect(
            try await harness.movements(of: order.id) == [
                "authorization 1000", "capture 1000", "refund 400", "refund_failure 400",
            ])
    }

    @Test func disputeCardsAndWinningAChargeback() async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        let order = try await harness.createOrder("CAPTURE", value: "50.00", card: "4000000000000259")
        let created = try await harness.receiver.wait { $0.json?["event_type"] as? String == "CUSTOMER.DISPUTE.CREATED" }
        let dispute = try #require(created.json?["resource"] as? [String: Any])
        #expect(dispute["reason"] as? String == "UNAUTHORISED")
        #expect(dispute["dispute_life_cycle_stage"] as? String == "CHARGEBACK")
        let id = try #require(dispute["dispute_id"] as? String)
        let blocked = try await harness.call(.POST, "/v2/payments/captures/\(order.capture.id)/refund")
        #expect(blocked.issue == "REFUND_NOT_PERMITTED_DUE_TO_CHARGEBACK")
        let won = try await harness.call(.POST, "/_sandbox/disputes/\(id)/win")
        #expect(won.json["status"] as? String == "RESOLVED")
        _ = try await harness.event("CUSTOMER.DISPUTE.RESOLVED", resource: id)
        #expect(
            try await harness.movements(of: order.id) == [
                "authorization 5000", "capture 5000", "chargeback 5000", "chargeback_reversal 5000",
            ])
        #expect(try await harness.call(.POST, "/_sandbox/disputes/\(id)/lose").status == 409)
    }

    @Test func inquiryMovesNoMoneyUntilEscalated() async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        let order = try await harness.createOrder("CAPTURE", card: "4000000000001976")
        let created = try await harness.receiver.wait { $0.json?["event_type"] as? String == "CUSTOMER.DISPUTE.CREATED" }
        let id = try #require((created.json?["resource"] as? [String: Any])?["dispute_id"] as? String)
        #expect(try await harness.movements(of: order.id) == ["authorization 1000", "capture 1000"])
        #expect(try await harness.call(.POST, "/_sandbox/disputes/\(id)/escalate").status == 200)
        _ = try await harness.event("CUSTOMER.DISPUTE.UPDATED", resource: id)
        #expect(try await harness.call(.GET, "/v1/customer/disputes/\(id)").json["dispute_life_cycle_stage"] as? String == "CHARGEBACK")
        #expect(try await harness.movements(of: order.id) == ["authorization 1000", "capture 1000", "chargeback 1000"])

        let other = try await harness.createOrder("CAPTURE", value: "8.00")
        let opened = try await harness.call(
            .POST, "/_sandbox/disputes", json: ["payment": other.capture.id, "reason": "general", "stage": "inquiry"])
        #expect(opened.status == 201)
        let lost = try await harness.call(.POST, "/_sandbox/disputes/\(opened.json["dispute_id"] as? String ?? "")/lose")
        #expect((lost.json["dispute_outcome"] as? [String: Any])?["outcome_code"] as? String == "RESOLVED_BUYER_FAVOUR")
        _ = try await harness.event("PAYMENT.CAPTURE.REVERSED", resource: other.capture.id)
        #expect(try await harness.movements(of: other.id) == ["authorization 800", "capture 800", "chargeback 800"])
        #expect(try await harness.call(.POST, "/_sandbox/disputes", json: ["payment": "NOPE"]).status == 404)
    }

    @Test func webhooksAreSignedAndVerifiable() async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        let order = try await harness.createOrder("CAPTURE")
        let received = try await harness.event("PAYMENT.CAPTURE.COMPLETED", resource: order.capture.id)
        let headers = received.headers
        #expect(headers["paypal-auth-algo"] == "SHA256withRSA")
        let id = try #require(headers["paypal-transmission-id"])
        let time = try #require(headers["paypal-transmission-time"])
        let signature = try #require(headers["paypal-transmission-sig"])
        let certificateURL = try #require(headers["paypal-cert-url"])
        #expect(certificateURL == "\(harness.sandbox.baseURL)/v1/notifications/certs/\(harness.sandbox.signing.certificateName)")

        // The certificate URL and the root are public, as PayPal's certificates are.
        let served = try await harness.client.execute(HTTPRequest(method: .GET, url: certificateURL))
        #expect(served.status == 200)
        let chain = try X509Certificate.chain(pem: String(decoding: served.body, as: UTF8.self))
        let root = try await harness.client.execute(HTTPRequest(method: .GET, url: harness.sandbox.baseURL + "/_sandbox/ca.pem"))
        #expect(String(decoding: root.body, as: UTF8.self) == harness.sandbox.signing.rootPEM)
        try X509TrustStore(pem: String(decoding: root.body, as: UTF8.self))
            .verify(chain[0], intermediates: Array(chain.dropFirst()), at: Date())
        let message = PayPalWebhookSignature.message(transmissionID: id, time: time, webhookID: "WH-TEST", body: received.body)
        #expect(try chain[0].publicKey.isValidSignature(try #require(Data(base64Encoded: signature)), for: Array(message.utf8)))
        let missing = try await harness.client.execute(
            HTTPRequest(method: .GET, url: harness.sandbox.baseURL + "/v1/notifications/certs/CERT-other"))
        #expect(missing.status == 404)

        let event = try #require(received.json)
        let request: [String: Any] = [
            "auth_algo": "SHA256withRSA", "cert_url": certificateURL, "transmission_id": id,
            "transmission_sig": signature, "transmission_time": time, "webhook_id": "WH-TEST", "webhook_event": event,
        ]
        let verified = try await harness.call(.POST, "/v1/notifications/verify-webhook-signature", json: request)
        #expect(verified.json["verification_status"] as? String == "SUCCESS")
        for (field, value) in [
            ("transmission_time", "2020-01-01T00:00:00Z"), ("auth_algo", "HMACSHA256"),
            ("cert_url", "https://attacker.example/v1/notifications/certs/CERT-1"), ("webhook_id", "WH-OTHER"),
        ] {
            var forged = request
            forged[field] = value
            let refused = try await harness.call(.POST, "/v1/notifications/verify-webhook-signature", json: forged)
            #expect(refused.json["verification_status"] as? String == "FAILURE", "\(field)")
        }
        var altered = event
        altered["summary"] = "Something else"
        var forged = request
        forged["webhook_event"] = altered
        let refused = try await harness.call(.POST, "/v1/notifications/verify-webhook-signature", json: forged)
        #expect(refused.json["verification_status"] as? String == "FAILURE")
    }

    @Test func webhookDeliveryIsRetried() async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        harness.receiver.failNext(2)
        let order = try await harness.createOrder("CAPTURE")
        _ = try await harness.receiver.wait(count: 3)
        let attempts = harness.receiver.received.filter {
            (($0.json?["resource"] as? [String: Any])?["id"] as? String) == order.capture.id
        }
        #expect(attempts.count == 3)
    }

    @Test func requestIDReplaysAndPreferMinimal() async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        let headers = [("PayPal-Request-Id", "req-1")]
        let first = try await harness.call(.POST, "/v2/checkout/orders", json: PayPalHarness.order("CAPTURE"), headers: headers)
        let second = try await harness.call(.POST, "/v2/checkout/orders", json: PayPalHarness.order("CAPTURE"), headers: headers)
        #expect(first.status == 201)
        #expect(second.status == 200)
        #expect(first.body == second.body)
        #expect(try await harness.ledger().count == 2)
        let different = try await harness.call(
            .POST, "/v2/checkout/orders", json: PayPalHarness.order("CAPTURE", value: "1.00"), headers: headers)
        #expect(different.issue == "PAYPAL_REQUEST_ID_PREVIOUSLY_USED")

        let minimal = try await harness.call(.POST, "/v2/checkout/orders", json: PayPalHarness.order(), representation: false)
        #expect(Set(minimal.json.keys) == ["id", "status", "links"])
        let authorization = try await harness.call(.GET, "/v2/checkout/orders/\(minimal.json.id)").json.authorization.id
        let void = try await harness.call(.POST, "/v2/payments/authorizations/\(authorization)/void", representation: false)
        #expect(void.status == 204)
        #expect(void.body.isEmpty)
    }

    @Test(arguments: [
        (["value": "10.001", "currency_code": "USD"], 422, "DECIMAL_PRECISION"),
        (["value": "10.5", "currency_code": "JPY"], 422, "DECIMAL_PRECISION"),
        (["value": "0", "currency_code": "USD"], 422, "CANNOT_BE_ZERO_OR_NEGATIVE"),
        (["value": "-1.00", "currency_code": "USD"], 422, "CANNOT_BE_ZERO_OR_NEGATIVE"),
        (["value": "1.00", "currency_code": "ZZZ"], 422, "INVALID_CURRENCY_CODE"),
        (["value": "1e3", "currency_code": "USD"], 400, "INVALID_PARAMETER_SYNTAX"),
        (["value": "99999999999999999999", "currency_code": "USD"], 422, "MAX_VALUE_EXCEEDED"),
    ])
    func badAmounts(amount: [String: String], status: Int, issue: String) async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        var order = PayPalHarness.order()
        order["purchase_units"] = [["amount": amount]]
        let refused = try await harness.call(.POST, "/v2/checkout/orders", json: order)
        #expect(refused.status == status)
        #expect(refused.issue == issue)
        let details = try #require((refused.json["details"] as? [[String: Any]])?.first)
        #expect((details["field"] as? String)?.hasPrefix("/purchase_units/0/amount/") == true)
    }

    @Test func malformedUnknownAndOversizedBodies() async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        let malformed = try await harness.call(.POST, "/v2/checkout/orders", raw: Array("{\"intent\":".utf8))
        #expect(malformed.status == 400)
        #expect(malformed.issue == "MALFORMED_REQUEST_JSON")
        var order = PayPalHarness.order()
        order["surprise"] = true
        let unknown = try await harness.call(.POST, "/v2/checkout/orders", json: order)
        #expect(unknown.status == 400)
        #expect(unknown.issue == "UNKNOWN_FIELD")
        let wrongType = try await harness.call(.POST, "/v2/checkout/orders", json: ["intent": 5, "purchase_units": []])
        #expect(wrongType.status == 400)
        let oversized = try await harness.call(.POST, "/v2/checkout/orders", raw: Array(repeating: 0x20, count: 300_000))
        #expect(oversized.status == 413)
        #expect(oversized.json["name"] as? String == "INVALID_REQUEST")
        let notArray = try await harness.call(.POST, "/v2/checkout/orders", raw: Array("[1,2]".utf8))
        #expect(notArray.status == 400)
        #expect(try await harness.ledger().isEmpty)
    }

    @Test func mockResponseAndFaults() async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        let mocked = try await harness.call(
            .POST, "/v2/checkout/orders", json: PayPalHarness.order(),
            headers: [("PayPal-Mock-Response", #"{"mock_application_codes": "DUPLICATE_INVOICE_ID"}"#)])
        #expect(mocked.status == 422)
        #expect(mocked.issue == "DUPLICATE_INVOICE_ID")
        let mocked500 = try await harness.call(
            .GET, "/v2/checkout/orders/X",
            headers: [("PayPal-Mock-Response", #"{"mock_application_codes": "INTERNAL_SERVER_ERROR"}"#)])
        #expect(mocked500.status == 500)
        #expect(try await harness.ledger().isEmpty)

        _ = try await harness.call(.POST, "/_sandbox/faults", json: ["kind": "error", "status": 503, "count": 1])
        let failed = try await harness.call(.POST, "/v2/checkout/orders", json: PayPalHarness.order())
        #expect(failed.status == 503)
        #expect(failed.json["name"] as? String == "INTERNAL_SERVER_ERROR")

        _ = try await harness.call(.POST, "/_sandbox/faults", json: ["kind": "drop_after_commit", "count": 1])
        // A fresh client: libcurl silently retries a request whose reused connection closed.
        let fresh = try HTTPClient()
        let request = HTTPRequest(
            method: .POST, url: harness.sandbox.baseURL + "/v2/checkout/orders",
            headers: ["Authorization": "Bearer \(harness.token)", "Content-Type": "application/json"],
            body: Array(try JSONSerialization.data(withJSONObject: PayPalHarness.order("CAPTURE"))))
        await #expect(throws: HTTPClientError.self) { _ = try await fresh.execute(request) }
        await fresh.shutdown()
        #expect(try await harness.ledger().map { $0["kind"] as? String } == ["authorization", "capture"])
    }

    @Test func resetForgetsOrders() async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        let order = try await harness.createOrder()
        #expect(try await harness.call(.POST, "/_sandbox/reset").status == 200)
        #expect(try await harness.call(.GET, "/v2/checkout/orders/\(order.id)").status == 404)
        #expect(try await harness.ledger().isEmpty)
    }

    @Test func concurrentOrdersAreAllRecorded() async throws {
        let harness = try await PayPalHarness.start()
        defer { Task { await harness.stop() } }
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<40 {
                group.addTask { try await harness.createOrder("CAPTURE", value: "1.00").id }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(ids.count == 40)
        let ledger = try await harness.ledger()
        #expect(ledger.count == 80)
        #expect(Set(ledger.compactMap { $0["sequence"] as? Int }).count == 80)
    }
}
