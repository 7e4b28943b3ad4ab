import Foundation
import Logging
import TillCore
import TillCrypto
import TillGateway
import TillHTTP

/// Till's PayPal adapter: Orders v2 with `AUTHORIZE` intent and a card payment source,
/// Payments v2 for capture, void and refund, Customer Disputes v1, over TillHTTP.
///
/// Every mutating call carries the transaction's idempotency key as `PayPal-Request-Id`, so a
/// repeat after a lost answer returns the first result instead of acting twice. Outcomes
/// follow the table in `Outcomes.swift`.
public struct PayPalGateway: PaymentGateway {
    /// What an instance needs; ``PayPalPlugin`` builds it from ``GatewaySettings``.
    public struct Configuration: Sendable, CustomStringConvertible {
        /// `https://api-m.paypal.com`, or a sandbox; no trailing slash needed.
        public var baseURL: String
        public var clientID: String
        public var clientSecret: String
        /// The webhook registration's id, part of what the signature covers; without it every
        /// webhook is rejected.
        public var webhookID: String?
        /// How transmission signatures are checked.
        public var webhookVerification: WebhookVerification
        /// How far a webhook's transmission time may be from its arrival, either way.
        public var webhookTolerance: Duration
        public var connectTimeout: Duration
        public var requestTimeout: Duration
        /// The currencies to accept; `nil` accepts every one and lets PayPal refuse.
        public var currencies: Set<Currency>?

        public init(
            baseURL: String, clientID: String, clientSecret: String, webhookID: String? = nil,
            webhookVerification: WebhookVerification = .api, webhookTolerance: Duration = .seconds(300), connectTimeout: Duration = .seconds(5),
            requestTimeout: Duration = .seconds(30), currencies: Set<Currency>? = nil
        ) {
            var base = baseURL
            while base.hasSuffix("/") { base.removeLast() }
            self.baseURL = base
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.webhookID = webhookID
            self.webhookVerification = webhookVerification
            self.webhookTolerance = webhookTolerance
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
            self.currencies = currencies
        }

        /// Never shows a secret.
        public var description: String {
            "PayPalGateway.Configuration(baseURL: \(baseURL), clientID: \(clientID), webhookID: \(webhookID ?? "-"), webhookVerification: \(webhookVerification))"
        }

        /// Where a webhook's SHA256withRSA transmission signature is checked.
        public enum WebhookVerification: Sendable, CustomStringConvertible {
            /// Here, with OpenSSL: the certificate at `PAYPAL-CERT-URL` is fetched only if
            /// `policy` allows the URL, must chain to `trust`, and is cached. No call to
            /// PayPal per webhook.
            case certificate(policy: CertificateURLPolicy, trust: X509TrustStore)
            /// By PayPal, through `POST /v1/notifications/verify-webhook-signature`: one API
            /// call per webhook, and no trust store to keep.
            case api

            public var description: String {
                switch self {
                case .certificate(let policy, let trust):
                    "certificate(hosts: \(policy.allowedHosts.sorted().joined(separator: ",")), anchors: \(trust.anchorCount))"
                case .api: "api"
                }
            }
        }
    }

    /// The checker behind ``Configuration/WebhookVerification``.
    enum WebhookVerifier: Sendable {
        case certificate(PayPalCertificateVerifier)
        case api
    }

    public let name: String
    public var plugin: String { PayPalPlugin.name }
    public let capabilities: GatewayCapabilities
    let configuration: Configuration
    let http: HTTPClient
    let tokens: AccessTokens
    let logger: Logger
    let now: @Sendable () -> Date
    let webhookVerifier: WebhookVerifier

    /// - Parameters:
    ///   - http: the client to talk through (shared; connections are reused).
    ///   - now: the clock for token expiry and webhook tolerance (injectable for tests).
    ///   - certificateSource: where signing certificates are fetched from; `nil` fetches
    ///     them over `http` (tests inject one that counts or fails).
    public init(
        name: String, configuration: Configuration, http: HTTPClient, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }, certificateSource: (any PayPalCertificateSource)? = nil
    ) {
        self.name = name
        self.configuration = configuration
        self.http = http
        self.logger = logger
        self.now = now
        switch configuration.webhookVerification {
        case .certificate(let policy, let trust):
            self.webhookVerifier = .certificate(
                PayPalCertificateVerifier(
                    policy: policy, trust: trust, source: certificateSource ?? HTTPCertificateSource(http: http)))
        case .api:
            self.webhookVerifier = .api
        }
        self.capabilities = GatewayCapabilities(
            partialCapture: true, multipleCaptures: true, partialRefund: true, multipleRefunds: true, void: true,
            threeDSecure: true, disputes: true, currencies: configuration.currencies)
        self.tokens = AccessTokens(
            baseURL: configuration.baseURL, clientID: configuration.clientID, clientSecret: configuration.clientSecret,
            http: http, timeouts: (configuration.requestTimeout, configuration.connectTimeout))
    }

    /// Access tokens fetched so far by this instance (for tests and metrics).
    public var accessTokenFetches: Int { get async { await tokens.fetches } }

    // MARK: Transport

    /// Sends one API call and returns a 2xx response, or how it failed.
    ///
    /// A 401 `invalid_token` (an expired or revoked token) drops the token, fetches a new one
    /// and repeats the call once: safe, because the repeat carries the same
    /// `PayPal-Request-Id`, and PayPal refused the first before looking at it.
    func send(
        _ method: HTTPMethod, _ path: String, body: RequestBody? = nil, requestID: String? = nil
    ) async -> Result<HTTPResponse, CallFailure> {
        var refreshed = false
        while true {
            let token: String
            switch await tokens.token(now: now()) {
            case .success(let value): token = value
            case .failure(let failure): return .failure(.notProcessed(failure))
            }
            var headers: HTTPHeaders = [
                "Authorization": "Bearer \(token)", "Accept": "application/json",
                "Prefer": "return=representation",
            ]
            if body != nil { headers.add(name: "Content-Type", value: "application/json") }
            if let requestID { headers.add(name: "PayPal-Request-Id", value: requestID) }
            let request = HTTPRequest(
                method: method, url: configuration.baseURL + path, headers: headers,
                body: body?.bytes ?? (method == .POST ? [] : nil))
            let response: HTTPResponse
            do {
                response = try await http.execute(
                    request, timeout: configuration.requestTimeout, connectTimeout: configuration.connectTimeout)
            } catch {
                logger.warning(
                    "PayPal call failed in transport",
                    metadata: ["gateway": "\(name)", "path": "\(path)", "phase": "\(error.phase)", "delivery": "\(error.delivery)"])
                return .failure(CallFailure(transport: error))
            }
            if response.status == 401, !refreshed,
                Wire.decode(Wire.ErrorBody.self, from: response.body)?.error == "invalid_token"
            {
                refreshed = true
                await tokens.invalidate(token)
                continue
            }
            guard (200..<300).contains(response.status) else {
                let failure = OutcomeTable.classify(status: response.status, body: response.body)
                logger.info(
                    "PayPal refused a call",
                    metadata: ["gateway": "\(name)", "path": "\(path)", "status": "\(response.status)",
                        "debug_id": "\(response.headers.first(name: "Paypal-Debug-Id") ?? "-")"])
                return .failure(failure)
            }
            return .success(response)
        }
    }

    /// PayPal's `amount` object: the exact decimal string for the currency.
    static func amount(_ money: Money) -> RequestBody {
        .object([("currency_code", .string(money.currency.code)), ("value", .string(money.decimalString))])
    }

    static func path(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) ?? id
    }

    private static func invalid(_ message: String) -> Decline {
        Decline(code: .invalidRequest, gatewayCode: "till_invalid_request", message: message)
    }

    // MARK: Authorize

    /// The create-order body, minus the card. Everything here derives from the reference and
    /// the amount alone, so ``status(_:)`` can repeat the create for a lost answer.
    static func orderBody(reference: TransactionReference, amount: Money, paymentSource: RequestBody?) -> RequestBody {
        var members: [(String, RequestBody)] = [
            ("intent", .string("AUTHORIZE")),
            (
                "purchase_units",
                .array([
                    .object([
                        ("reference_id", .string(reference.paymentID)),
                        ("custom_id", .string(reference.transactionID)),
                        // PayPal refuses a second completed payment with the same invoice id:
                        // one more guard against charging one transaction twice.
                        ("invoice_id", .string(reference.transactionID)),
                        ("amount", Self.amount(amount)),
                    ])
                ])
            ),
        ]
        if let paymentSource { members.append(("payment_source", paymentSource)) }
        return .object(members)
    }

    static func cardSource(
        _ card: CardDetails, returnURL: String?, initiator: ChargeInitiator = .customer
    ) -> Result<RequestBody, CallFailure> {
        guard card.number.isDigits(count: 12...19) else {
            return .failure(.declined(invalid("the card number must be 12 to 19 digits")))
        }
        guard (1...12).contains(card.expiryMonth), (1000...9999).contains(card.expiryYear) else {
            return .failure(.declined(invalid("the card expiry must be a month 1-12 and a four-digit year")))
        }
        var fields: [(String, RequestBody)] = [
            ("number", .secretDigits(card.number)),
            ("expiry", .string(String(format: "%04d-%02d", card.expiryYear, card.expiryMonth))),
        ]
        if let cvc = card.cvc {
            guard cvc.isDigits(count: 3...4) else { return .failure(.declined(invalid("the card security code must be 3 or 4 digits"))) }
            fields.append(("security_code", .secretDigits(cvc)))
        }
        if let name = card.holderName, !name.isEmpty { fields.append(("name", .string(name))) }
        if initiator != .merchant {
            // Ask for 3-D Secure when the issuer requires it; the buyer returns to `return_url`.
            // Not for a merchant-initiated charge: no buyer is there to answer the challenge.
            fields.append(("attributes", .object([("verification", .object([("method", .string("SCA_WHEN_REQUIRED"))]))])))
        }
        if let storedCredential = storedCredential(initiator) { fields.append(("stored_credential", storedCredential)) }
        if let returnURL {
            fields.append(("experience_context", .object([("return_url", .string(returnURL)), ("cancel_url", .string(returnURL))])))
        }
        return .success(.object([("card", .object(fields))]))
    }

    /// `stored_credential` in the orders API's terms: the first, customer-present charge of a
    /// card saved for later, or a later merchant-initiated one (Till's are renewals, so
    /// RECURRING). A plain customer charge sends none.
    static func storedCredential(_ initiator: ChargeInitiator) -> RequestBody? {
        let (by, type, usage): (String, String, String)
        switch initiator {
        case .customer: return nil
        case .customerSavingCard: (by, type, usage) = ("CUSTOMER", "UNSCHEDULED", "FIRST")
        case .merchant: (by, type, usage) = ("MERCHANT", "RECURRING", "SUBSEQUENT")
        }
        return .object([("payment_initiator", .string(by)), ("payment_type", .string(type)), ("usage", .string(usage))])
    }

    public func authorize(_ request: AuthorizeRequest) async -> GatewayOutcome<AuthorizationResult> {
        guard request.amount.isPositive else { return .declined(Self.invalid("the amount must be positive")) }
        let source: RequestBody
        switch Self.cardSource(request.card, returnURL: request.returnURL, initiator: request.initiator) {
        case .success(let body): source = body
        case .failure(let failure): return failure.outcome()
        }
        let body = Self.orderBody(reference: request.reference, amount: request.amount, paymentSource: source)
        let created = await send(.POST, "/v2/checkout/orders", body: body, requestID: request.reference.idempotencyKey)
        switch created {
        case .failure(let failure):
            return failure.outcome()
        case .success(let response):
            guard let order = Wire.decode(Wire.Order.self, from: response.body), let orderID = order.id else {
                return .unknown(GatewayFailure(httpStatus: response.status, message: "PayPal's order answer does not parse"))
            }
            // A card-less order left by an earlier status lookup under this key (the first
            // create never arrived): complete it with the card instead of creating another.
            if order.status == "CREATED", order.unit?.payments?.authorizations?.isEmpty ?? true {
                let completed = await send(
                    .POST, "/v2/checkout/orders/\(Self.path(orderID))/authorize",
                    body: .object([("payment_source", source)]), requestID: request.reference.idempotencyKey)
                switch completed {
                case .failure(let failure): return failure.outcome()
                case .success(let response):
                    guard let order = Wire.decode(Wire.Order.self, from: response.body) else {
                        return .unknown(GatewayFailure(httpStatus: response.status, message: "PayPal's order answer does not parse"))
                    }
                    return await captureIfAutomatic(
                        Self.authorization(from: order, reference: request.reference, requested: request.amount), request)
                }
            }
            return await captureIfAutomatic(
                Self.authorization(from: order, reference: request.reference, requested: request.amount), request)
        }
    }

    /// Automatic capture as two steps, authorize then capture, rather than a `CAPTURE`-intent
    /// order: the create body then never depends on the capture mode, which a status lookup
    /// for a lost answer does not know. The capture carries its own deterministic request id.
    private func captureIfAutomatic(
        _ outcome: GatewayOutcome<AuthorizationResult>, _ request: AuthorizeRequest
    ) async -> GatewayOutcome<AuthorizationResult> {
        guard request.captureMode == .automatic, case .succeeded(var result) = outcome, result.state == .authorized,
            let authorization = result.gatewayAuthorizationReference
        else { return outcome }
        let body: RequestBody = .object([
            ("amount", Self.amount(result.amount)),
            ("final_capture", .bool(true)),
            ("invoice_id", .string(request.reference.transactionID)),
        ])
        let captured = await send(
            .POST, "/v2/payments/authorizations/\(Self.path(authorization))/capture", body: body,
            requestID: request.reference.idempotencyKey + "-capture")
        switch captured {
        case .success(let response):
            guard let capture = Wire.decode(Wire.Payment.self, from: response.body), let id = capture.id,
                ["COMPLETED", "PENDING"].contains(capture.status)
            else {
                return .unknown(GatewayFailure(httpStatus: response.status, message: "PayPal's capture answer does not parse"))
            }
            result.state = .captured(captureReference: id)
            return .succeeded(result)
        case .failure(.unknown(let failure)):
            // The hold exists; whether it was captured is for the status lookup to say.
            return .unknown(failure)
        case .failure(let failure):
            // The capture certainly did not happen: the funds stay held, to capture or void.
            logger.warning(
                "PayPal automatic capture refused; the authorization stays open",
                metadata: ["gateway": "\(name)", "authorization": "\(authorization)", "failure": "\(failure)"])
            return .succeeded(result)
        }
    }

    /// Reads an order as the result of our authorization.
    static func authorization(
        from order: Wire.Order, reference: TransactionReference, requested: Money
    ) -> GatewayOutcome<AuthorizationResult> {
        guard let orderID = order.id else {
            return .unknown(GatewayFailure(message: "PayPal's order has no id"))
        }
        if order.status == "PAYER_ACTION_REQUIRED" {
            return .succeeded(
                AuthorizationResult(
                    gatewayPaymentReference: orderID, state: .requiresAction(redirectURL: order.link("payer-action")),
                    amount: requested))
        }
        let authorizations = order.unit?.payments?.authorizations ?? []
        guard let auth = authorizations.last(where: { $0.customId == reference.transactionID }) ?? authorizations.last,
            let authID = auth.id
        else {
            return .unknown(GatewayFailure(message: "PayPal's order \(orderID) is \(order.status ?? "?") with no authorization"))
        }
        switch auth.status {
        case "CREATED", "PENDING", "CAPTURED", "PARTIALLY_CAPTURED":
            guard let amount = auth.amount?.money() ?? order.unit?.amount?.money() else {
                return .unknown(GatewayFailure(message: "PayPal's authorization \(authID) has no readable amount"))
            }
            // An automatic capture carries the authorization's transaction id as invoice_id.
            let capture = order.unit?.payments?.captures?.last {
                $0.invoiceId == reference.transactionID && ["COMPLETED", "PENDING", "PARTIALLY_REFUNDED", "REFUNDED"].contains($0.status)
            }
            return .succeeded(
                AuthorizationResult(
                    gatewayPaymentReference: orderID, gatewayAuthorizationReference: authID,
                    state: capture?.id.map { .captured(captureReference: $0) } ?? .authorized, amount: amount))
        case "DENIED":
            return .declined(denied(auth, what: "authorization"))
        default:
            return .unknown(GatewayFailure(message: "PayPal's authorization \(authID) is \(auth.status ?? "?")"))
        }
    }

    /// A DENIED authorization or DECLINED capture, by its processor response code.
    static func denied(_ payment: Wire.Payment, what: String) -> Decline {
        let code = payment.processorResponse?.responseCode
        return Decline(
            code: code.flatMap(OutcomeTable.declineCode(processorCode:)) ?? .cardDeclined,
            gatewayCode: payment.status ?? "DENIED", gatewayDeclineCode: code,
            message: "PayPal \(what) \(payment.id ?? "") is \(payment.status ?? "denied")",
            gatewayReference: payment.id)
    }

    // MARK: Capture, void, refund

    public func capture(_ request: CaptureRequest) async -> GatewayOutcome<CaptureResult> {
        guard let authorization = request.gatewayAuthorizationReference else {
            return .declined(Self.invalid("a PayPal capture needs the authorization id"))
        }
        let body: RequestBody = .object([
            ("amount", Self.amount(request.amount)),
            ("final_capture", .bool(request.isFinal)),
            ("invoice_id", .string(request.reference.transactionID)),
        ])
        let result = await send(
            .POST, "/v2/payments/authorizations/\(Self.path(authorization))/capture", body: body,
            requestID: request.reference.idempotencyKey)
        switch result {
        case .failure(let failure): return failure.outcome()
        case .success(let response):
            guard let capture = Wire.decode(Wire.Payment.self, from: response.body), let id = capture.id,
                let amount = capture.amount?.money()
            else {
                return .unknown(GatewayFailure(httpStatus: response.status, message: "PayPal's capture answer does not parse"))
            }
            switch capture.status {
            // PENDING: PayPal took the capture and settles it later (a webhook follows).
            case "COMPLETED", "PENDING", "PARTIALLY_REFUNDED", "REFUNDED":
                return .succeeded(CaptureResult(captureReference: id, amount: amount))
            case "DECLINED", "FAILED":
                return .declined(Self.denied(capture, what: "capture"))
            default:
                return .unknown(GatewayFailure(message: "PayPal's capture \(id) is \(capture.status ?? "?")"))
            }
        }
    }

    public func void(_ request: VoidRequest) async -> GatewayOutcome<VoidResult> {
        guard let authorization = request.gatewayAuthorizationReference else {
            return .declined(Self.invalid("a PayPal void needs the authorization id"))
        }
        let result = await send(
            .POST, "/v2/payments/authorizations/\(Self.path(authorization))/void",
            requestID: request.reference.idempotencyKey)
        switch result {
        case .failure(let failure): return failure.outcome()
        case .success(let response):
            if response.status == 204 { return .succeeded(VoidResult(gatewayReference: authorization)) }
            guard let voided = Wire.decode(Wire.Payment.self, from: response.body), voided.status == "VOIDED" else {
                return .unknown(GatewayFailure(httpStatus: response.status, message: "PayPal's void answer does not say VOIDED"))
            }
            return .succeeded(VoidResult(gatewayReference: voided.id ?? authorization))
        }
    }

    public func refund(_ request: RefundRequest) async -> GatewayOutcome<RefundResult> {
        guard let capture = request.gatewayCaptureReference else {
            return .declined(Self.invalid("a PayPal refund needs the capture id"))
        }
        var members: [(String, RequestBody)] = [
            ("amount", Self.amount(request.amount)),
            ("invoice_id", .string(request.reference.transactionID)),
        ]
        if let reason = request.reason, !reason.isEmpty {
            members.append(("note_to_payer", .string(String(reason.prefix(255)))))
        }
        let result = await send(
            .POST, "/v2/payments/captures/\(Self.path(capture))/refund", body: .object(members),
            requestID: request.reference.idempotencyKey)
        switch result {
        case .failure(let failure): return failure.outcome()
        case .success(let response):
            guard let refund = Wire.decode(Wire.Payment.self, from: response.body) else {
                return .unknown(GatewayFailure(httpStatus: response.status, message: "PayPal's refund answer does not parse"))
            }
            return Self.refundOutcome(refund, requested: request.amount)
        }
    }

    static func refundOutcome(_ refund: Wire.Payment, requested: Money) -> GatewayOutcome<RefundResult> {
        guard let id = refund.id else { return .unknown(GatewayFailure(message: "PayPal's refund has no id")) }
        let amount = refund.amount?.money() ?? requested
        switch refund.status {
        case "COMPLETED": return .succeeded(RefundResult(refundReference: id, amount: amount, state: .succeeded))
        case "PENDING": return .succeeded(RefundResult(refundReference: id, amount: amount, state: .pending))
        case "FAILED", "CANCELLED":
            return .declined(
                Decline(code: .processingError, gatewayCode: refund.status ?? "FAILED", message: "PayPal refund \(id) \(refund.status ?? "failed")",
                    gatewayReference: id))
        default: return .unknown(GatewayFailure(message: "PayPal's refund \(id) is \(refund.status ?? "?")"))
        }
    }

    // MARK: Disputes

    public func submitDisputeEvidence(_ request: DisputeEvidenceRequest) async -> GatewayOutcome<DisputeResult> {
        guard request.submit else {
            return .declined(
                Decline(code: .unsupported, gatewayCode: "unsupported", message: "PayPal takes evidence only for submission, not staged"))
        }
        let evidences = Self.evidences(request.evidence)
        guard !evidences.isEmpty else { return .declined(Self.invalid("the evidence is empty")) }
        let result = await send(
            .POST, "/v1/customer/disputes/\(Self.path(request.disputeReference))/provide-evidence",
            body: .object([("evidences", .array(evidences))]), requestID: request.idempotencyKey)
        switch result {
        case .failure(let failure): return failure.outcome()
        case .success: return .succeeded(DisputeResult(disputeReference: request.disputeReference, status: .underReview))
        }
    }

    public func acceptDispute(_ request: DisputeAcceptRequest) async -> GatewayOutcome<DisputeResult> {
        let body: RequestBody = .object([
            ("note", .string("The merchant accepts the claim.")), ("accept_claim_type", .string("REFUND")),
        ])
        let result = await send(
            .POST, "/v1/customer/disputes/\(Self.path(request.disputeReference))/accept-claim", body: body,
            requestID: request.idempotencyKey)
        switch result {
        case .failure(let failure): return failure.outcome()
        case .success: return .succeeded(DisputeResult(disputeReference: request.disputeReference, status: .accepted))
        }
    }

    /// Till's evidence fields as PayPal evidence items.
    static func evidences(_ evidence: DisputeEvidence) -> [RequestBody] {
        var items: [RequestBody] = []
        if let tracking = evidence.shippingTrackingNumber, !tracking.isEmpty {
            let carrier = (evidence.shippingCarrier ?? "").uppercased()
            let known = ["UPS", "USPS", "FEDEX", "DHL", "TNT", "ROYAL_MAIL"].contains(carrier)
            var info: [(String, RequestBody)] = [
                ("carrier_name", .string(known ? carrier : "OTHER")), ("tracking_number", .string(tracking)),
            ]
            if !known, let other = evidence.shippingCarrier, !other.isEmpty {
                info.append(("carrier_name_other", .string(other)))
            }
            items.append(
                .object([
                    ("evidence_type", .string("PROOF_OF_FULFILLMENT")),
                    ("evidence_info", .object([("tracking_info", .array([.object(info)]))])),
                ]))
        }
        if let policy = evidence.refundPolicy, !policy.isEmpty {
            items.append(.object([("evidence_type", .string("RETURN_POLICY")), ("notes", .string(policy))]))
        }
        if let product = evidence.productDescription, !product.isEmpty {
            items.append(.object([("evidence_type", .string("ITEM_DESCRIPTION")), ("notes", .string(product))]))
        }
        let other = [
            evidence.customerName.map { "Customer: \($0)" }, evidence.customerEmail.map { "Customer email: \($0)" },
            evidence.customerCommunication, evidence.uncategorizedText,
        ].compactMap { $0 }.filter { !$0.isEmpty }
        if !other.isEmpty {
            items.append(.object([("evidence_type", .string("OTHER")), ("notes", .string(other.joined(separator: "\n")))]))
        }
        return items
    }
}
