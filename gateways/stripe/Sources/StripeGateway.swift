public import Foundation
public import Logging
import TillCore
public import TillGateway
public import TillHTTP

/// A Stripe account as a ``PaymentGateway``: PaymentIntents confirmed with card data the
/// vault hands over at call time, manual or automatic capture, cancel as void, refunds,
/// dispute evidence, status lookup by Till's own reference, and signed webhooks.
///
/// Every call goes through TillHTTP and ends in one outcome class decided by
/// ``StripeClassification`` (transport verdict, then the HTTP status and Stripe's error body);
/// every mutating call carries the transaction's idempotency key as `Idempotency-Key`.
public struct StripeGateway: PaymentGateway {
    /// Everything an instance needs, already validated (``StripePlugin`` builds it from
    /// ``GatewaySettings``).
    public struct Configuration: Sendable, CustomStringConvertible {
        public var name: String
        /// `https://api.stripe.com`, or a sandbox.
        public var baseURL: String
        /// `sk_…` or `rk_…`; never printed.
        public var secretKey: String
        /// The endpoint's `whsec_…` secret; without it every webhook is rejected.
        public var webhookSecret: String?
        /// How far a webhook's `t=` may be from now, either way.
        public var webhookTolerance: TimeInterval
        /// Sent as `Stripe-Version` when set; otherwise the account's default applies.
        public var stripeVersion: String?
        public var connectTimeout: Duration
        public var requestTimeout: Duration

        public init(
            name: String = StripePlugin.name, baseURL: String, secretKey: String, webhookSecret: String? = nil,
            webhookTolerance: TimeInterval = 300, stripeVersion: String? = nil, connectTimeout: Duration = .seconds(5),
            requestTimeout: Duration = .seconds(30)
        ) {
            self.name = name
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.secretKey = secretKey
            self.webhookSecret = webhookSecret
            self.webhookTolerance = webhookTolerance
            self.stripeVersion = stripeVersion
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
        }

        public var description: String {
            "StripeGateway.Configuration(name: \(name), baseURL: \(baseURL), secretKey: <redacted>, "
                + "webhookSecret: \(webhookSecret == nil ? "none" : "<redacted>"), tolerance: \(webhookTolerance)s)"
        }
    }

    /// Metadata keys Till writes on every object it creates, so that status lookups and
    /// webhooks can find its own records.
    public enum MetadataKey {
        public static let payment = "till_payment"
        public static let transaction = "till_transaction"
        /// Every key above: the API keeps this many of Stripe's metadata keys free.
        public static let all = [payment, transaction]
        /// Stripe's limit on keys per object.
        public static let stripeMaxKeys = 50
    }

    public let configuration: Configuration
    public var name: String { configuration.name }
    public var plugin: String { StripePlugin.name }
    /// Stripe's partial capture releases the rest of the authorization, so one capture per
    /// authorization; refunds may be partial and repeated.
    public let capabilities = GatewayCapabilities(
        partialCapture: true, multipleCaptures: false, partialRefund: true, multipleRefunds: true, void: true,
        threeDSecure: true, disputes: true)

    let http: HTTPClient
    let logger: Logger

    public init(configuration: Configuration, http: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.http = http
        var logger = logger
        logger[metadataKey: "gateway"] = .string(configuration.name)
        self.logger = logger
    }

    // MARK: Authorize

    public func authorize(_ request: AuthorizeRequest) async -> GatewayOutcome<AuthorizationResult> {
        guard let amount = StripeAmount.encode(request.amount) else {
            return .declined(Self.unrepresentable(request.amount))
        }
        var form = StripeForm()
        form.add("amount", amount)
        form.add("currency", request.amount.currency.code.lowercased())
        form.add("confirm", "true")
        form.add("capture_method", request.captureMode == .manual ? "manual" : "automatic")
        form.add("payment_method_types[0]", "card")
        form.add("payment_method_data[type]", "card")
        form.add("payment_method_data[card][number]", secret: request.card.number)
        form.add("payment_method_data[card][exp_month]", Int64(request.card.expiryMonth))
        form.add("payment_method_data[card][exp_year]", Int64(request.card.expiryYear))
        if let cvc = request.card.cvc { form.add("payment_method_data[card][cvc]", secret: cvc) }
        if let holder = request.card.holderName { form.add("payment_method_data[billing_details][name]", holder) }
        if let description = request.description { form.add("description", description) }
        if let returnURL = request.returnURL { form.add("return_url", returnURL) }
        // Stripe's stored-credential flags: saving the card for later charges without the
        // customer, and such a charge (which then declines with `authentication_required`
        // instead of asking for a 3-D Secure challenge nobody is there to answer).
        switch request.initiator {
        case .customer: break
        case .customerSavingCard: form.add("setup_future_usage", "off_session")
        case .merchant: form.add("off_session", "true")
        }
        addMetadata(&form, request.metadata, reference: request.reference)

        let reply = await send(.POST, "/v1/payment_intents", form: form, idempotencyKey: request.reference.idempotencyKey)
        switch StripeClassification.classify(reply, as: StripePaymentIntent.self) {
        case .succeeded(let intent): return authorization(from: intent, requested: request.amount)
        case .declined(let decline): return .declined(decline)
        case .notProcessed(let failure): return .notProcessed(failure)
        case .unknown(let failure): return .unknown(failure)
        }
    }

    /// What a PaymentIntent returned by a confirm means for the authorization.
    private func authorization(from intent: StripePaymentIntent, requested: Money) -> GatewayOutcome<AuthorizationResult> {
        guard let amount = money(intent.amount, intent.currency), amount == requested else {
            return .unknown(GatewayFailure(message: "PaymentIntent \(intent.id) has an amount or currency Till did not ask for"))
        }
        switch intent.status {
        case "requires_capture":
            return .succeeded(AuthorizationResult(gatewayPaymentReference: intent.id, state: .authorized, amount: amount))
        case "succeeded":
            guard let charge = intent.latestCharge?.id else {
                return .unknown(GatewayFailure(message: "PaymentIntent \(intent.id) succeeded without a charge"))
            }
            return .succeeded(
                AuthorizationResult(gatewayPaymentReference: intent.id, state: .captured(captureReference: charge), amount: amount))
        case "requires_action":
            return .succeeded(
                AuthorizationResult(
                    gatewayPaymentReference: intent.id,
                    state: .requiresAction(redirectURL: intent.nextAction?.redirectToURL?.url), amount: amount))
        case "requires_payment_method":
            if let error = intent.lastPaymentError {
                var decline = StripeClassification.cardDecline(error)
                decline.gatewayReference = intent.id
                return .declined(decline)
            }
            fallthrough
        default:
            // `processing` and anything newer: Stripe has the payment, its fate is open.
            return .unknown(GatewayFailure(message: "PaymentIntent \(intent.id) is \(intent.status); resolve it by status lookup"))
        }
    }

    // MARK: Capture, void, refund

    public func capture(_ request: CaptureRequest) async -> GatewayOutcome<CaptureResult> {
        guard let amount = StripeAmount.encode(request.amount) else { return .declined(Self.unrepresentable(request.amount)) }
        var form = StripeForm()
        form.add("amount_to_capture", amount)
        let reply = await send(
            .POST, "/v1/payment_intents/\(Self.pathSegment(request.gatewayPaymentReference))/capture", form: form,
            idempotencyKey: request.reference.idempotencyKey)
        return StripeClassification.classify(reply, as: StripePaymentIntent.self).map { intent throws(GatewayFailure) in
            guard intent.status == "succeeded", let charge = intent.latestCharge?.id,
                let received = money(intent.amountReceived ?? 0, intent.currency)
            else {
                throw GatewayFailure(message: "PaymentIntent \(intent.id) is \(intent.status) after capture")
            }
            return CaptureResult(captureReference: charge, amount: received)
        }
    }

    public func void(_ request: VoidRequest) async -> GatewayOutcome<VoidResult> {
        let reply = await send(
            .POST, "/v1/payment_intents/\(Self.pathSegment(request.gatewayPaymentReference))/cancel", form: StripeForm(),
            idempotencyKey: request.reference.idempotencyKey)
        return StripeClassification.classify(reply, as: StripePaymentIntent.self).map { intent throws(GatewayFailure) in
            guard intent.status == "canceled" else {
                throw GatewayFailure(message: "PaymentIntent \(intent.id) is \(intent.status) after cancel")
            }
            return VoidResult(gatewayReference: intent.id)
        }
    }

    public func refund(_ request: RefundRequest) async -> GatewayOutcome<RefundResult> {
        guard let amount = StripeAmount.encode(request.amount) else { return .declined(Self.unrepresentable(request.amount)) }
        var form = StripeForm()
        if let charge = request.gatewayCaptureReference {
            form.add("charge", charge)
        } else {
            form.add("payment_intent", request.gatewayPaymentReference)
        }
        form.add("amount", amount)
        // Stripe knows three reasons; anything else stays in Till as metadata only.
        if let reason = request.reason, ["duplicate", "fraudulent", "requested_by_customer"].contains(reason) {
            form.add("reason", reason)
        }
        addMetadata(&form, [:], reference: request.reference)
        let reply = await send(.POST, "/v1/refunds", form: form, idempotencyKey: request.reference.idempotencyKey)
        return StripeClassification.classify(reply, as: StripeRefund.self).map { refund throws(GatewayFailure) in
            try refundResult(refund)
        }
    }

    private func refundResult(_ refund: StripeRefund) throws(GatewayFailure) -> RefundResult {
        guard let amount = money(refund.amount, refund.currency) else {
            throw GatewayFailure(message: "refund \(refund.id) has an unknown currency \(refund.currency)")
        }
        switch refund.status {
        case "succeeded": return RefundResult(refundReference: refund.id, amount: amount, state: .succeeded)
        case "pending", "requires_action": return RefundResult(refundReference: refund.id, amount: amount, state: .pending)
        default:
            // A refund that failed at once is rare; its final word comes by lookup or webhook.
            throw GatewayFailure(message: "refund \(refund.id) is \(refund.status ?? "without a status")")
        }
    }

    // MARK: Disputes

    public func submitDisputeEvidence(_ request: DisputeEvidenceRequest) async -> GatewayOutcome<DisputeResult> {
        var form = StripeForm()
        let evidence = request.evidence
        let fields: [(String, String?)] = [
            ("product_description", evidence.productDescription), ("customer_name", evidence.customerName),
            ("customer_email_address", evidence.customerEmail), ("customer_communication", evidence.customerCommunication),
            ("shipping_carrier", evidence.shippingCarrier), ("shipping_tracking_number", evidence.shippingTrackingNumber),
            ("refund_policy", evidence.refundPolicy), ("uncategorized_text", evidence.uncategorizedText),
        ]
        for case (let field, let value?) in fields { form.add("evidence[\(field)]", value) }
        form.add("submit", request.submit ? "true" : "false")
        let reply = await send(
            .POST, "/v1/disputes/\(Self.pathSegment(request.disputeReference))", form: form,
            idempotencyKey: request.idempotencyKey)
        return StripeClassification.classify(reply, as: StripeDispute.self).map { dispute in
            DisputeResult(disputeReference: dispute.id, status: Self.disputeStatus(dispute.status))
        }
    }

    public func acceptDispute(_ request: DisputeAcceptRequest) async -> GatewayOutcome<DisputeResult> {
        let reply = await send(
            .POST, "/v1/disputes/\(Self.pathSegment(request.disputeReference))/close", form: StripeForm(),
            idempotencyKey: request.idempotencyKey)
        return StripeClassification.classify(reply, as: StripeDispute.self).map { dispute in
            // Closing is Stripe's "accept": it reports `lost`, which for Till is the merchant's choice.
            let status = Self.disputeStatus(dispute.status)
            return DisputeResult(disputeReference: dispute.id, status: status.isOpen ? status : .accepted)
        }
    }

    /// Stripe's dispute statuses; `warning_*` are inquiries, where no money moved.
    static func disputeStatus(_ status: String) -> DisputeStatus {
        switch status {
        case "needs_response", "warning_needs_response": .needsResponse
        case "under_review", "warning_under_review": .underReview
        case "won", "warning_closed": .won
        case "charge_refunded": .accepted
        case "lost": .lost
        default: .underReview
        }
    }

    // MARK: Plumbing

    /// Writes Till's references after the merchant's metadata, so they cannot be overridden.
    private func addMetadata(_ form: inout StripeForm, _ metadata: [String: String], reference: TransactionReference) {
        for key in metadata.keys.sorted() where key != MetadataKey.payment && key != MetadataKey.transaction {
            form.add("metadata[\(key)]", metadata[key] ?? "")
        }
        form.add("metadata[\(MetadataKey.payment)]", reference.paymentID)
        form.add("metadata[\(MetadataKey.transaction)]", reference.transactionID)
    }

    func money(_ amount: Int64, _ currency: String) -> Money? {
        StripeAmount.currency(currency).flatMap { StripeAmount.decode(amount, currency: $0) }
    }

    static func unrepresentable(_ amount: Money) -> Decline {
        Decline(
            code: .invalidRequest, gatewayCode: "amount_not_representable",
            message: "\(amount) cannot be expressed in Stripe's units for \(amount.currency.code)")
    }

    /// An id from our records as one path segment: anything but Stripe's id alphabet is
    /// escaped, so a stored reference can never reach another route.
    static func pathSegment(_ id: String) -> String {
        var bytes: [UInt8] = []
        StripeForm.percentEncode(id.utf8, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// One call to Stripe. Bodies are never logged: they carry card data.
    func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], form: StripeForm? = nil,
        idempotencyKey: String? = nil
    ) async -> Result<HTTPResponse, HTTPClientError> {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(configuration.secretKey)")
        if let version = configuration.stripeVersion { headers.add(name: "Stripe-Version", value: version) }
        if let idempotencyKey { headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        if form != nil { headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded") }
        let url = configuration.baseURL + path + (query.isEmpty ? "" : "?" + StripeForm.query(query))
        let request = HTTPRequest(method: method, url: url, headers: headers, body: form?.bytes)
        var metadata: Logger.Metadata = ["stripe.method": "\(method)", "stripe.path": "\(path)"]
        if let idempotencyKey { metadata["stripe.idempotency_key"] = "\(idempotencyKey)" }
        do {
            let response = try await http.execute(
                request, timeout: configuration.requestTimeout, connectTimeout: configuration.connectTimeout)
            metadata["stripe.status"] = "\(response.status)"
            if let requestID = response.headers.first(name: "Request-Id") { metadata["stripe.request_id"] = "\(requestID)" }
            logger.debug("stripe call answered", metadata: metadata)
            return .success(response)
        } catch {
            metadata["error"] = "\(error)"
            logger.warning("stripe call failed in transport", metadata: metadata)
            return .failure(error)
        }
    }
}
