import Foundation
import SandboxSupport
import Synchronization
import TillCore

/// Who asked: carried into events (`request.id`, `request.idempotency_key`) and the ledger.
struct RequestInfo: Sendable {
    var requestID: String
    var idempotencyKey: String?
    /// `http://host:port` as the client reached us, for links such as the 3-D Secure page.
    var baseURL: String

    static let background = RequestInfo(requestID: "", idempotencyKey: nil, baseURL: "")
}

/// The Stripe-like gateway's objects and every operation on them.
///
/// All state sits behind one lock, held only for the bookkeeping of one call (no I/O, no
/// awaits); events and delayed work are handed out after the lock is released.
final class StripeGateway: Sendable {
    static let apiVersion = "2024-06-20"

    struct State {
        var paymentMethods: [String: PaymentMethodRecord] = [:]
        var intents: [String: PaymentIntentRecord] = [:]
        var intentOrder: [String] = []
        var charges: [String: ChargeRecord] = [:]
        var chargeOrder: [String] = []
        var refunds: [String: RefundRecord] = [:]
        var refundOrder: [String] = []
        var disputes: [String: DisputeRecord] = [:]
        var disputeOrder: [String] = []
        var events: [String: EventRecord] = [:]
        var eventOrder: [String] = []
        /// Bumped by a reset so that delayed work scheduled before it does nothing.
        var generation = 0
    }

    struct Effects {
        var events: [EventRecord] = []
        var jobs: [(delay: Duration, run: @Sendable () -> Void)] = []
    }

    let environment: SandboxEnvironment
    let work: DelayedWork
    let delay: Duration
    let webhookSecret: String
    private let state = Mutex(State())

    init(environment: SandboxEnvironment, work: DelayedWork, delay: Duration, webhookSecret: String) {
        self.environment = environment
        self.work = work
        self.delay = delay
        self.webhookSecret = webhookSecret
    }

    func reset() {
        state.withLock { state in
            let generation = state.generation + 1
            state = State()
            state.generation = generation
        }
    }

    private var now: Int64 { Int64(environment.clock.now.timeIntervalSince1970) }

    /// Runs `body` under the lock, then sends its events and schedules its delayed work,
    /// also when it fails (a declined card still creates objects and events).
    private func transact<T: Sendable>(
        _ body: (inout State, inout Effects) throws(StripeError) -> T
    ) throws(StripeError) -> T {
        var effects = Effects()
        let result: Result<T, StripeError> = state.withLock { state in
            do throws(StripeError) {
                return .success(try body(&state, &effects))
            } catch {
                return .failure(error)
            }
        }
        let secret = webhookSecret
        for event in effects.events {
            environment.webhooks.send(event: event.type, body: event.body) { body, date in
                [("Stripe-Signature", StripeWebhookSignature.header(payload: body, secret: secret, timestamp: date))]
            }
        }
        for job in effects.jobs { work.schedule(after: job.delay, job.run) }
        return try result.get()
    }

    /// Schedules `action` to run after the configured delay unless the sandbox was reset.
    private func later(
        _ effects: inout Effects, generation: Int, _ action: @escaping @Sendable (StripeGateway) -> Void
    ) {
        effects.jobs.append((delay, { [weak self] in
            guard let self, self.state.withLock({ $0.generation }) == generation else { return }
            action(self)
        }))
    }

    private func emit(
        _ type: String, _ object: JSONValue, id objectID: String, info: RequestInfo,
        state: inout State, effects: inout Effects
    ) {
        let id = Ids.make("evt")
        let created = now
        let event = JSONValue.object([
            ("id", .string(id)),
            ("object", .string("event")),
            ("api_version", .string(Self.apiVersion)),
            ("created", .int(created)),
            ("data", .object([("object", object)])),
            ("livemode", .bool(false)),
            ("pending_webhooks", .int(environment.webhooks.endpoints.count)),
            ("request", .object([
                ("id", info.requestID.isEmpty ? .null : .string(info.requestID)),
                ("idempotency_key", .optional(info.idempotencyKey)),
            ])),
            ("type", .string(type)),
        ])
        let record = EventRecord(id: id, type: type, created: created, objectID: objectID, body: event.bytes)
        state.events[id] = record
        state.eventOrder.append(id)
        effects.events.append(record)
    }

    // MARK: Rendering

    private func chargeJSON(_ charge: ChargeRecord, _ state: State, expand: Set<String> = []) -> JSONValue {
        let refunds = charge.refunds.reversed().compactMap { state.refunds[$0]?.json() }
        let intent = expand.contains("payment_intent") ? state.intents[charge.paymentIntent].map { intentJSON($0, state) } : nil
        return charge.json(refunds: refunds, paymentIntent: intent)
    }

    private func intentJSON(_ intent: PaymentIntentRecord, _ state: State, expand: Set<String> = []) -> JSONValue {
        let charge = expand.contains("latest_charge")
            ? intent.latestCharge.flatMap { state.charges[$0] }.map { chargeJSON($0, state) } : nil
        let method = expand.contains("payment_method")
            ? intent.paymentMethod.flatMap { state.paymentMethods[$0] }?.json : nil
        return intent.json(expanding: charge, paymentMethod: method)
    }

    private func refundJSON(_ refund: RefundRecord, _ state: State, expand: Set<String> = []) -> JSONValue {
        let charge = expand.contains("charge") ? state.charges[refund.charge].map { chargeJSON($0, state) } : nil
        let intent = expand.contains("payment_intent") ? state.intents[refund.paymentIntent].map { intentJSON($0, state) } : nil
        return refund.json(charge: charge, paymentIntent: intent)
    }

    private func disputeJSON(_ dispute: DisputeRecord, _ state: State, expand: Set<String> = []) -> JSONValue {
        let charge = expand.contains("charge") ? state.charges[dispute.charge].map { chargeJSON($0, state) } : nil
        let intent = expand.contains("payment_intent") ? state.intents[dispute.paymentIntent].map { intentJSON($0, state) } : nil
        return dispute.json(charge: charge, paymentIntent: intent)
    }

    // MARK: Payment methods

    static let cardFields: Set<String> = ["number", "exp_month", "exp_year", "cvc", "token"]

    /// Validates raw card data as Stripe does when a PaymentMethod is created.
    private func cardMethod(
        _ card: FormParameters, billingName: String?, metadata: [String: String], prefix: String
    ) throws(StripeError) -> PaymentMethodRecord {
        if let token = try card.string("token") {
            guard let test = TestCards.all.first(where: { "tok_" + $0.stripePaymentMethod.dropFirst(8) == token })
                ?? (token == "tok_visa" ? TestCards.card(number: "4242424242424242") : nil)
            else {
                throw .invalidRequest("No such token: '\(token)'", code: "resource_missing", param: prefix + "[token]")
            }
            return PaymentMethodRecord(
                id: Ids.make("pm"), created: now, number: test.number, expMonth: 12, expYear: currentYear + 3,
                behavior: test.behavior, metadata: metadata, billingName: billingName)
        }
        guard let number = try card.string("number")?.filter({ $0 != " " }) else {
            throw .missingParameter(prefix + "[number]")
        }
        guard let behavior = TestCards.behavior(forNumber: number) else {
            throw .cardError(code: "incorrect_number", message: "Your card number is incorrect.", param: "number")
        }
        guard let month = try card.integer("exp_month", param: prefix + "[exp_month]") else {
            throw .missingParameter(prefix + "[exp_month]")
        }
        guard (1...12).contains(month) else {
            throw .cardError(code: "invalid_expiry_month", message: "Your card's expiration month is invalid.", param: "exp_month")
        }
        guard var year = try card.integer("exp_year", param: prefix + "[exp_year]") else {
            throw .missingParameter(prefix + "[exp_year]")
        }
        if year < 100 { year += 2000 }
        let current = currentYear, currentMonth = Calendar.utc.component(.month, from: environment.clock.now)
        guard year > current || (year == current && month >= currentMonth), year < current + 50 else {
            throw .cardError(code: "invalid_expiry_year", message: "Your card's expiration year is invalid.", param: "exp_year")
        }
        if let cvc = try card.string("cvc"), !(3...4).contains(cvc.count) || !cvc.allSatisfy(\.isASCIIDigit) {
            throw .cardError(code: "invalid_cvc", message: "Your card's security code is invalid.", param: "cvc")
        }
        return PaymentMethodRecord(
            id: Ids.make("pm"), created: now, number: number, expMonth: month, expYear: year, behavior: behavior,
            metadata: metadata, billingName: billingName)
    }

    private var currentYear: Int64 { Int64(Calendar.utc.component(.year, from: environment.clock.now)) }

    func createPaymentMethod(_ params: FormParameters) throws(StripeError) -> JSONValue {
        try params.allowOnly(["type", "card", "billing_details", "metadata", "expand", "allow_redisplay"])
        let type = try params.string("type") ?? "card"
        guard type == "card" else {
            throw .invalidRequest("The sandbox supports PaymentMethods of type card only.", code: "parameter_invalid_string", param: "type")
        }
        guard let card = try params.hash("card", allowed: Self.cardFields) else { throw .missingParameter("card") }
        let billing = try params.hash("billing_details", allowed: ["name", "email", "phone", "address"])
        let method = try cardMethod(card, billingName: try billing?.string("name"), metadata: try params.metadata() ?? [:], prefix: "card")
        return state.withLock { state in
            state.paymentMethods[method.id] = method
            return method.json
        }
    }

    func retrievePaymentMethod(_ id: String) throws(StripeError) -> JSONValue {
        if let test = TestCards.card(stripePaymentMethod: id) {
            return testMethod(test, id: id).json
        }
        return try state.withLock { state throws(StripeError) in
            guard let method = state.paymentMethods[id] else { throw .missing("PaymentMethod", id) }
            return method.json
        }
    }

    private func testMethod(_ card: TestCard, id: String) -> PaymentMethodRecord {
        PaymentMethodRecord(
            id: id, created: now, number: card.number, expMonth: 12, expYear: currentYear + 3,
            behavior: card.behavior, metadata: [:], billingName: nil)
    }

    /// The PaymentMethod a create or confirm call names, created on the fly for test
    /// aliases (`pm_card_visa`) and inline card data, as Stripe does.
    private func paymentMethod(from params: FormParameters, state: inout State) throws(StripeError) -> PaymentMethodRecord? {
        if let data = try params.hash("payment_method_data", allowed: ["type", "card", "billing_details", "metadata"]) {
            guard params.values["payment_method"] == nil else {
                throw .invalidRequest("You cannot pass both payment_method and payment_method_data.", param: "payment_method_data")
            }
            guard (try data.string("type")) ?? "card" == "card" else {
                throw .invalidRequest("The sandbox supports payment_method_data[type]=card only.", param: "payment_method_data[type]")
            }
            guard let card = try data.hash("card", allowed: Self.cardFields) else {
                throw .missingParameter("payment_method_data[card]")
            }
            let billing = try data.hash("billing_details", allowed: ["name", "email", "phone", "address"])
            let method = try cardMethod(
                card, billingName: try billing?.string("name"), metadata: try data.metadata() ?? [:],
                prefix: "payment_method_data[card]")
            state.paymentMethods[method.id] = method
            return method
        }
        guard let id = try params.string("payment_method") else { return nil }
        if let test = TestCards.card(stripePaymentMethod: id) {
            let method = testMethod(test, id: Ids.make("pm"))
            state.paymentMethods[method.id] = method
            return method
        }
        guard let method = state.paymentMethods[id] else {
            throw .invalidRequest("No such PaymentMethod: '\(id)'", code: "resource_missing", param: "payment_method")
        }
        return method
    }

    // MARK: PaymentIntents

    static let intentCreateParameters: Set<String> = [
        "amount", "currency", "capture_method", "confirm", "payment_method", "payment_method_data",
        "payment_method_types", "metadata", "description", "expand", "return_url", "receipt_email",
        "automatic_payment_methods", "statement_descriptor", "statement_descriptor_suffix", "off_session",
        "setup_future_usage", "confirmation_method", "payment_method_options", "customer", "shipping",
        "transfer_group", "error_on_requires_action", "use_stripe_sdk", "mandate_data",
    ]

    static let confirmParameters: Set<String> = [
        "payment_method", "payment_method_data", "return_url", "expand", "receipt_email", "off_session",
        "setup_future_usage", "payment_method_options", "payment_method_types", "shipping",
        "error_on_requires_action", "use_stripe_sdk", "mandate_data", "capture_method",
    ]

    static let maxAmount: Int64 = 99_999_999

    private static func amount(_ params: FormParameters, key: String) throws(StripeError) -> Int64? {
        guard let amount = try params.integer(key) else { return nil }
        guard amount > 0 else {
            throw .invalidRequest("This value must be greater than or equal to 1.", code: "amount_too_small", param: key)
        }
        guard amount <= maxAmount else {
            throw .invalidRequest("Amount must be no more than 99999999 in the smallest currency unit.", code: "amount_too_large", param: key)
        }
        return amount
    }

    func createIntent(_ params: FormParameters, info: RequestInfo) throws(StripeError) -> JSONValue {
        try params.allowOnly(Self.intentCreateParameters)
        guard let amount = try Self.amount(params, key: "amount") else { throw .missingParameter("amount") }
        guard let code = try params.string("currency") else { throw .missingParameter("currency") }
        guard let currency = Currency(code: code) else {
            throw .invalidRequest(
                "Invalid currency: \(code.lowercased().prefix(16)). The sandbox accepts ISO 4217 currencies with minor units.",
                code: "parameter_invalid_string", param: "currency")
        }
        let captureMethod = try params.string("capture_method") ?? "automatic"
        guard ["automatic", "automatic_async", "manual"].contains(captureMethod) else {
            throw .invalidRequest(
                "Invalid capture_method: must be one of automatic, automatic_async, or manual",
                code: "parameter_invalid_string", param: "capture_method")
        }
        let confirm = try params.boolean("confirm") ?? false
        let metadata = try params.metadata() ?? [:]
        let description = try params.string("description")
        let receiptEmail = try params.string("receipt_email")
        let returnURL = try params.string("return_url")
        let offSession = try Self.offSession(params)
        if offSession != nil, !confirm {
            throw .invalidRequest("The parameter off_session can only be used with confirm=true.", param: "off_session")
        }
        let setupFutureUsage = try Self.setupFutureUsage(params)
        let expand = Set(try params.strings("expand"))
        return try transact { (state, effects) throws(StripeError) in
            let method = try paymentMethod(from: params, state: &state)
            let id = Ids.make("pi")
            var intent = PaymentIntentRecord(
                id: id, amount: amount, currency: currency.code.lowercased(), captureMethod: captureMethod,
                status: method == nil ? .requiresPaymentMethod : .requiresConfirmation,
                clientSecret: id + "_secret_" + Ids.random(25), created: now, description: description,
                metadata: metadata, paymentMethod: method?.id, receiptEmail: receiptEmail, returnURL: returnURL)
            intent.setupFutureUsage = setupFutureUsage
            intent.offSession = offSession ?? false
            state.intentOrder.append(id)
            state.intents[id] = intent
            emit("payment_intent.created", intent.json(), id: id, info: info, state: &state, effects: &effects)
            if confirm {
                guard let method else {
                    throw .invalidRequest(
                        "You cannot confirm this PaymentIntent because it's missing a payment method.",
                        code: "payment_intent_unexpected_state", param: "payment_method")
                }
                try self.confirm(&intent, method: method, info: info, state: &state, effects: &effects)
            }
            return intentJSON(intent, state, expand: expand)
        }
    }

    func confirmIntent(_ id: String, _ params: FormParameters, info: RequestInfo) throws(StripeError) -> JSONValue {
        try params.allowOnly(Self.confirmParameters)
        let expand = Set(try params.strings("expand"))
        let returnURL = try params.string("return_url")
        let offSession = try Self.offSession(params)
        let setupFutureUsage = try Self.setupFutureUsage(params)
        return try transact { (state, effects) throws(StripeError) in
            guard var intent = state.intents[id] else { throw .missing("payment_intent", id) }
            guard [.requiresPaymentMethod, .requiresConfirmation, .requiresAction].contains(intent.status) else {
                throw .unexpectedState("PaymentIntent", id, status: intent.status.rawValue, action: "confirm")
            }
            if let returnURL { intent.returnURL = returnURL }
            // Each confirmation says afresh whether the customer is there.
            intent.offSession = offSession ?? false
            if let setupFutureUsage { intent.setupFutureUsage = setupFutureUsage }
            let named = try paymentMethod(from: params, state: &state)
            if let named, named.id != intent.paymentMethod { intent.authenticated = false }
            guard let method = named ?? intent.paymentMethod.flatMap({ state.paymentMethods[$0] }) else {
                throw .invalidRequest(
                    "You cannot confirm this PaymentIntent because it's missing a payment method.",
                    code: "payment_intent_unexpected_state", param: "payment_method")
            }
            try confirm(&intent, method: method, info: info, state: &state, effects: &effects)
            return intentJSON(intent, state, expand: expand)
        }
    }

    /// `off_session`: a boolean, or Stripe's finer `one_off` / `recurring` (both off-session).
    private static func offSession(_ params: FormParameters) throws(StripeError) -> Bool? {
        guard let text = try params.string("off_session") else { return nil }
        switch text {
        case "true", "one_off", "recurring": return true
        case "false": return false
        default:
            throw .invalidRequest(
                "Invalid off_session: must be a boolean, one_off or recurring", code: "parameter_invalid_string",
                param: "off_session")
        }
    }

    private static func setupFutureUsage(_ params: FormParameters) throws(StripeError) -> String? {
        guard let value = try params.string("setup_future_usage") else { return nil }
        guard ["on_session", "off_session"].contains(value) else {
            throw .invalidRequest(
                "Invalid setup_future_usage: must be one of on_session or off_session", code: "parameter_invalid_string",
                param: "setup_future_usage")
        }
        return value
    }

    /// A card that needs 3-D Secure, charged without the customer: Stripe declines it rather
    /// than ask for a challenge nobody is there to answer.
    private static let authenticationRequired = (
        code: "authentication_required", declineCode: "authentication_required",
        message: "Your card was declined. This transaction requires authentication."
    )

    private static func decline(_ decline: CardDecline) -> (code: String, declineCode: String, message: String) {
        switch decline {
        case .generic: ("card_declined", "generic_decline", "Your card was declined.")
        case .insufficientFunds: ("card_declined", "insufficient_funds", "Your card has insufficient funds.")
        case .lostCard: ("card_declined", "lost_card", "Your card was declined.")
        case .stolenCard: ("card_declined", "stolen_card", "Your card was declined.")
        case .expiredCard: ("expired_card", "expired_card", "Your card has expired.")
        case .incorrectCVC: ("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.")
        case .processingError:
            ("processing_error", "processing_error", "An error occurred while processing your card. Try again in a little bit.")
        }
    }

    /// Attempts the authorization: a decline, a 3-D Secure challenge, or a charge. Stores
    /// `intent` in every case; throws the 402 card error (with the intent) on a decline.
    private func confirm(
        _ intent: inout PaymentIntentRecord, method: PaymentMethodRecord, info: RequestInfo,
        state: inout State, effects: inout Effects
    ) throws(StripeError) {
        intent.paymentMethod = method.id
        intent.lastPaymentError = nil
        intent.nextAction = nil
        let needsChallenge = method.behavior == .requiresAuthentication && !intent.authenticated
        if let (code, declineCode, message) = method.behavior.decline.map(Self.decline)
            ?? (needsChallenge && intent.offSession ? Self.authenticationRequired : nil)
        {
            var charge = ChargeRecord(
                id: Ids.make("ch"), amount: intent.amount, created: now, currency: intent.currency,
                description: intent.description, metadata: intent.metadata, paymentIntent: intent.id,
                paymentMethod: method, status: "failed")
            charge.failureCode = code
            charge.failureMessage = message
            charge.declineCode = declineCode
            state.charges[charge.id] = charge
            state.chargeOrder.append(charge.id)
            intent.charges.append(charge.id)
            intent.latestCharge = charge.id
            intent.status = .requiresPaymentMethod
            intent.paymentMethod = nil
            var error = StripeError.cardError(code: code, declineCode: declineCode, message: message)
            error.charge = charge.id
            intent.lastPaymentError = .object([
                ("charge", .string(charge.id)),
                ("code", .string(code)),
                ("decline_code", .string(declineCode)),
                ("doc_url", .string("https://docs.stripe.com/error-codes/" + code.replacingOccurrences(of: "_", with: "-"))),
                ("message", .string(message)),
                ("payment_method", method.json),
                ("type", .string("card_error")),
            ])
            state.intents[intent.id] = intent
            emit("charge.failed", chargeJSON(charge, state), id: charge.id, info: info, state: &state, effects: &effects)
            emit("payment_intent.payment_failed", intent.json(), id: intent.id, info: info, state: &state, effects: &effects)
            error.paymentIntent = intent.json()
            throw error
        }
        if needsChallenge {
            intent.status = .requiresAction
            intent.nextAction = .object([
                ("redirect_to_url", .object([
                    ("return_url", .optional(intent.returnURL)),
                    ("url", .string("\(info.baseURL)/_sandbox/3ds/\(intent.id)")),
                ])),
                ("type", .string("redirect_to_url")),
            ])
            state.intents[intent.id] = intent
            emit("payment_intent.requires_action", intent.json(), id: intent.id, info: info, state: &state, effects: &effects)
            return
        }
        let automatic = intent.captureMethod != "manual"
        var charge = ChargeRecord(
            id: Ids.make("ch"), amount: intent.amount, created: now, currency: intent.currency,
            description: intent.description, metadata: intent.metadata, paymentIntent: intent.id,
            paymentMethod: method, status: "succeeded")
        let date = environment.clock.now
        environment.ledger.record(
            .authorization, object: charge.id, payment: intent.id, amount: intent.amount, currency: intent.currency,
            idempotencyKey: info.idempotencyKey, initiator: intent.initiator, at: date)
        if automatic {
            charge.captured = true
            charge.amountCaptured = intent.amount
            environment.ledger.record(
                .capture, object: charge.id, payment: intent.id, amount: intent.amount, currency: intent.currency,
                idempotencyKey: info.idempotencyKey, at: date)
            intent.status = .succeeded
            intent.amountReceived = intent.amount
        } else {
            intent.status = .requiresCapture
            intent.amountCapturable = intent.amount
        }
        state.charges[charge.id] = charge
        state.chargeOrder.append(charge.id)
        intent.charges.append(charge.id)
        intent.latestCharge = charge.id
        state.intents[intent.id] = intent
        emit("charge.succeeded", chargeJSON(charge, state), id: charge.id, info: info, state: &state, effects: &effects)
        if automatic {
            emit("payment_intent.succeeded", intent.json(), id: intent.id, info: info, state: &state, effects: &effects)
            disputeLater(charge, state: state, effects: &effects)
        } else {
            emit("payment_intent.amount_capturable_updated", intent.json(), id: intent.id, info: info, state: &state, effects: &effects)
        }
    }

    /// Cards that attract a dispute get it a moment after capture.
    private func disputeLater(_ charge: ChargeRecord, state: State, effects: inout Effects) {
        guard let (reason, inquiry) = charge.paymentMethod.behavior.dispute else { return }
        let chargeID = charge.id
        later(&effects, generation: state.generation) { gateway in
            _ = try? gateway.openDispute(payment: chargeID, reason: reason, inquiry: inquiry, info: .background)
        }
    }

    func retrieveIntent(_ id: String, _ params: FormParameters) throws(StripeError) -> JSONValue {
        try params.allowOnly(["expand", "client_secret"])
        let expand = Set(try params.strings("expand"))
        return try state.withLock { state throws(StripeError) in
            guard let intent = state.intents[id] else { throw .missing("payment_intent", id) }
            return intentJSON(intent, state, expand: expand)
        }
    }

    func captureIntent(_ id: String, _ params: FormParameters, info: RequestInfo) throws(StripeError) -> JSONValue {
        try params.allowOnly([
            "amount_to_capture", "expand", "metadata", "final_capture", "statement_descriptor",
            "statement_descriptor_suffix", "application_fee_amount",
        ])
        let requested = try Self.amount(params, key: "amount_to_capture")
        let metadata = try params.metadata()
        let expand = Set(try params.strings("expand"))
        return try transact { (state, effects) throws(StripeError) in
            guard var intent = state.intents[id] else { throw .missing("payment_intent", id) }
            guard intent.status == .requiresCapture, let chargeID = intent.latestCharge, var charge = state.charges[chargeID]
            else {
                throw .unexpectedState("PaymentIntent", id, status: intent.status.rawValue, action: "capture")
            }
            let amount = requested ?? intent.amountCapturable
            guard amount <= intent.amountCapturable else {
                throw .invalidRequest(
                    "The amount to capture (\(amount)) is greater than the amount capturable (\(intent.amountCapturable)).",
                    code: "amount_too_large", param: "amount_to_capture")
            }
            if let metadata { intent.metadata.merge(metadata) { _, new in new } }
            charge.captured = true
            charge.amountCaptured = amount
            intent.amountReceived = amount
            intent.amountCapturable = 0
            intent.status = .succeeded
            environment.ledger.record(
                .capture, object: charge.id, payment: intent.id, amount: amount, currency: intent.currency,
                idempotencyKey: info.idempotencyKey, at: environment.clock.now)
            state.charges[chargeID] = charge
            state.intents[id] = intent
            emit("charge.captured", chargeJSON(charge, state), id: charge.id, info: info, state: &state, effects: &effects)
            emit("payment_intent.succeeded", intent.json(), id: id, info: info, state: &state, effects: &effects)
            disputeLater(charge, state: state, effects: &effects)
            return intentJSON(intent, state, expand: expand)
        }
    }

    func cancelIntent(_ id: String, _ params: FormParameters, info: RequestInfo) throws(StripeError) -> JSONValue {
        try params.allowOnly(["cancellation_reason", "expand"])
        let reason = try params.string("cancellation_reason")
        if let reason, !["duplicate", "fraudulent", "requested_by_customer", "abandoned"].contains(reason) {
            throw .invalidRequest(
                "Invalid cancellation_reason: must be one of duplicate, fraudulent, requested_by_customer, or abandoned",
                code: "parameter_invalid_string", param: "cancellation_reason")
        }
        let expand = Set(try params.strings("expand"))
        return try transact { (state, effects) throws(StripeError) in
            guard var intent = state.intents[id] else { throw .missing("payment_intent", id) }
            let cancellable: [PaymentIntentRecord.Status] = [
                .requiresPaymentMethod, .requiresConfirmation, .requiresAction, .requiresCapture, .processing,
            ]
            guard cancellable.contains(intent.status) else {
                throw .unexpectedState("PaymentIntent", id, status: intent.status.rawValue, action: "cancel")
            }
            if intent.status == .requiresCapture, let chargeID = intent.latestCharge, var charge = state.charges[chargeID] {
                environment.ledger.record(
                    .void, object: chargeID, payment: id, amount: intent.amountCapturable, currency: intent.currency,
                    idempotencyKey: info.idempotencyKey, at: environment.clock.now)
                charge.released = true
                state.charges[chargeID] = charge
            }
            intent.status = .canceled
            intent.amountCapturable = 0
            intent.nextAction = nil
            intent.canceledAt = now
            intent.cancellationReason = reason
            state.intents[id] = intent
            emit("payment_intent.canceled", intent.json(), id: id, info: info, state: &state, effects: &effects)
            return intentJSON(intent, state, expand: expand)
        }
    }

    /// The outcome of the sandbox's 3-D Secure page: pass or fail the challenge.
    func completeAuthentication(_ id: String, succeed: Bool, info: RequestInfo) throws(StripeError) -> JSONValue {
        try transact { (state, effects) throws(StripeError) in
            guard var intent = state.intents[id] else { throw .missing("payment_intent", id) }
            guard intent.status == .requiresAction, let method = intent.paymentMethod.flatMap({ state.paymentMethods[$0] })
            else {
                throw .unexpectedState("PaymentIntent", id, status: intent.status.rawValue, action: "authenticate")
            }
            if succeed {
                intent.authenticated = true
                do {
                    try confirm(&intent, method: method, info: info, state: &state, effects: &effects)
                } catch {
                    // A declined card after a passed challenge: the intent records it.
                }
                return intentJSON(state.intents[id] ?? intent, state)
            }
            let message = "We are unable to authenticate your payment method. Please choose a different payment method and try again."
            intent.status = .requiresPaymentMethod
            intent.nextAction = nil
            intent.paymentMethod = nil
            intent.lastPaymentError = .object([
                ("code", .string("payment_intent_authentication_failure")),
                ("doc_url", .string("https://docs.stripe.com/error-codes/payment-intent-authentication-failure")),
                ("message", .string(message)),
                ("payment_method", method.json),
                ("type", .string("invalid_request_error")),
            ])
            state.intents[id] = intent
            emit("payment_intent.payment_failed", intent.json(), id: id, info: info, state: &state, effects: &effects)
            return intentJSON(intent, state)
        }
    }

    // MARK: Lists

    struct Page {
        var limit: Int
        var startingAfter: String?
        var endingBefore: String?

        init(_ params: FormParameters) throws(StripeError) {
            let limit = try params.integer("limit") ?? 10
            guard (1...100).contains(limit) else {
                throw .invalidRequest(
                    "This value must be between 1 and 100 (it currently is \(limit)).", code: "parameter_invalid_integer",
                    param: "limit")
            }
            self.limit = Int(limit)
            startingAfter = try params.string("starting_after")
            endingBefore = try params.string("ending_before")
        }

        /// Newest first; `ids` is oldest first.
        func select(_ ids: [String], kind: String, where include: (String) -> Bool) throws(StripeError) -> ([String], Bool) {
            let newest = Array(ids.reversed())
            if let endingBefore {
                guard let position = newest.firstIndex(of: endingBefore) else {
                    throw .invalidRequest("No such \(kind): '\(endingBefore)'", code: "resource_missing", param: "ending_before")
                }
                let before = newest[..<position].filter(include)
                return (Array(before.suffix(limit)), before.count > limit)
            }
            var start = newest.startIndex
            if let startingAfter {
                guard let position = newest.firstIndex(of: startingAfter) else {
                    throw .invalidRequest("No such \(kind): '\(startingAfter)'", code: "resource_missing", param: "starting_after")
                }
                start = position + 1
            }
            var selected: [String] = []
            for id in newest[start...] where include(id) {
                if selected.count == limit { return (selected, true) }
                selected.append(id)
            }
            return (selected, false)
        }
    }

    static let listParameters: Set<String> = ["limit", "starting_after", "ending_before", "expand", "created"]

    private static func list(_ data: [JSONValue], hasMore: Bool, url: String) -> JSONValue {
        .object([("object", .string("list")), ("data", .array(data)), ("has_more", .bool(hasMore)), ("url", .string(url))])
    }

    /// `expand[]=data.latest_charge` on a list expands inside each element.
    private static func listExpansions(_ params: FormParameters) throws(StripeError) -> Set<String> {
        Set(try params.strings("expand").compactMap { $0.hasPrefix("data.") ? String($0.dropFirst(5)) : nil })
    }

    func listIntents(_ params: FormParameters) throws(StripeError) -> JSONValue {
        try params.allowOnly(Self.listParameters.union(["customer"]))
        let page = try Page(params)
        let expand = try Self.listExpansions(params)
        return try state.withLock { state throws(StripeError) in
            let (ids, more) = try page.select(state.intentOrder, kind: "payment_intent") { _ in true }
            return Self.list(
                ids.compactMap { state.intents[$0].map { intentJSON($0, state, expand: expand) } }, hasMore: more,
                url: "/v1/payment_intents")
        }
    }

    /// `GET /v1/payment_intents/search`: Stripe's search over PaymentIntents, newest first,
    /// paged with `page` (the `next_page` of the previous result). Unlike Stripe, whose
    /// search index lags writes by up to a minute, results here are immediate.
    func searchIntents(_ params: FormParameters) throws(StripeError) -> JSONValue {
        try params.allowOnly(["query", "limit", "page", "expand"])
        guard let text = try params.string("query") else { throw .missingParameter("query") }
        let query = try SearchQuery(text)
        let limit = try params.integer("limit") ?? 10
        guard (1...100).contains(limit) else {
            throw .invalidRequest(
                "This value must be between 1 and 100 (it currently is \(limit)).", code: "parameter_invalid_integer",
                param: "limit")
        }
        let cursor = try params.string("page")
        let expand = try Self.listExpansions(params)
        return try state.withLock { state throws(StripeError) in
            var newest = Array(state.intentOrder.reversed())
            if let cursor {
                guard let position = newest.firstIndex(of: cursor) else {
                    throw .invalidRequest("Invalid page: '\(cursor)'", code: "parameter_invalid_string", param: "page")
                }
                newest = Array(newest[(position + 1)...])
            }
            let matching = newest.filter { id in state.intents[id].map(query.matches) ?? false }
            let page = Array(matching.prefix(Int(limit)))
            let more = matching.count > page.count
            return .object([
                ("object", .string("search_result")),
                ("data", .array(page.compactMap { state.intents[$0].map { intentJSON($0, state, expand: expand) } })),
                ("has_more", .bool(more)),
                ("next_page", more ? .optional(page.last) : .null),
                ("url", .string("/v1/payment_intents/search")),
            ])
        }
    }

    // MARK: Charges

    func retrieveCharge(_ id: String, _ params: FormParameters) throws(StripeError) -> JSONValue {
        try params.allowOnly(["expand"])
        let expand = Set(try params.strings("expand"))
        return try state.withLock { state throws(StripeError) in
            guard let charge = state.charges[id] else { throw .missing("charge", id) }
            return chargeJSON(charge, state, expand: expand)
        }
    }

    func listCharges(_ params: FormParameters) throws(StripeError) -> JSONValue {
        try params.allowOnly(Self.listParameters.union(["payment_intent", "customer"]))
        let page = try Page(params)
        let intent = try params.string("payment_intent")
        let expand = try Self.listExpansions(params)
        return try state.withLock { state throws(StripeError) in
            let (ids, more) = try page.select(state.chargeOrder, kind: "charge") { id in
                intent == nil || state.charges[id]?.paymentIntent == intent
            }
            return Self.list(
                ids.compactMap { state.charges[$0].map { chargeJSON($0, state, expand: expand) } }, hasMore: more,
                url: "/v1/charges")
        }
    }

    // MARK: Refunds

    func createRefund(_ params: FormParameters, info: RequestInfo) throws(StripeError) -> JSONValue {
        try params.allowOnly([
            "payment_intent", "charge", "amount", "reason", "metadata", "expand", "instructions_email",
            "refund_application_fee", "reverse_transfer", "origin", "currency",
        ])
        let requested = try Self.amount(params, key: "amount")
        let reason = try params.string("reason")
        if let reason, !["duplicate", "fraudulent", "requested_by_customer"].contains(reason) {
            throw .invalidRequest(
                "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
                code: "parameter_invalid_string", param: "reason")
        }
        let metadata = try params.metadata() ?? [:]
        let intentID = try params.string("payment_intent")
        let chargeParam = try params.string("charge")
        let expand = Set(try params.strings("expand"))
        return try transact { (state, effects) throws(StripeError) in
            let chargeID: String
            if let chargeParam {
                guard state.charges[chargeParam] != nil else {
                    throw .invalidRequest("No such charge: '\(chargeParam)'", code: "resource_missing", param: "charge")
                }
                chargeID = chargeParam
            } else if let intentID {
                guard let intent = state.intents[intentID] else {
                    throw .invalidRequest("No such payment_intent: '\(intentID)'", code: "resource_missing", param: "payment_intent")
                }
                guard intent.status == .succeeded, let latest = intent.latestCharge else {
                    throw .invalidRequest(
                        "This PaymentIntent (\(intentID)) does not have a successful charge to refund.",
                        code: "charge_not_refundable", param: "payment_intent")
                }
                chargeID = latest
            } else {
                throw .invalidRequest(
                    "One of the following params should be provided for this request: payment_intent or charge.",
                    code: "parameter_missing")
            }
            guard var charge = state.charges[chargeID], charge.status == "succeeded", charge.captured else {
                throw .invalidRequest(
                    "Charge \(chargeID) has not been captured; there is nothing to refund.",
                    code: "charge_not_refundable", param: chargeParam == nil ? "payment_intent" : "charge")
            }
            if state.disputes.values.contains(where: { $0.charge == chargeID && $0.fundsWithdrawn && $0.status != "won" }) {
                throw .invalidRequest("Charge \(chargeID) has been charged back; it cannot be refunded.", code: "charge_disputed")
            }
            let remaining = charge.amountCaptured - charge.amountRefunded
            guard remaining > 0 else {
                throw .invalidRequest("Charge \(chargeID) has already been refunded.", code: "charge_already_refunded")
            }
            let amount = requested ?? remaining
            guard amount <= remaining else {
                throw .invalidRequest(
                    "Refund amount (\(amount)) is greater than unrefunded amount on charge (\(remaining))",
                    code: "amount_too_large", param: "amount")
            }
            let behavior = charge.paymentMethod.behavior
            let pending = behavior == .refundPendingThenSucceeds
            let refund = RefundRecord(
                id: Ids.make("re"), amount: amount, charge: chargeID, created: now, currency: charge.currency,
                metadata: metadata, paymentIntent: charge.paymentIntent, reason: reason,
                status: pending ? "pending" : "succeeded", behavior: behavior)
            charge.amountRefunded += amount
            charge.refunds.append(refund.id)
            state.charges[chargeID] = charge
            state.refunds[refund.id] = refund
            state.refundOrder.append(refund.id)
            if !pending {
                environment.ledger.record(
                    .refund, object: refund.id, payment: charge.paymentIntent, amount: amount, currency: charge.currency,
                    idempotencyKey: info.idempotencyKey, at: environment.clock.now)
            }
            emit("refund.created", refund.json(), id: refund.id, info: info, state: &state, effects: &effects)
            emit("charge.refunded", chargeJSON(charge, state), id: chargeID, info: info, state: &state, effects: &effects)
            let refundID = refund.id
            let key = info.idempotencyKey
            if pending {
                later(&effects, generation: state.generation) { $0.settleRefund(refundID, succeed: true, idempotencyKey: key) }
            } else if behavior == .refundSucceedsThenFails {
                later(&effects, generation: state.generation) { $0.settleRefund(refundID, succeed: false, idempotencyKey: key) }
            }
            return refundJSON(refund, state, expand: expand)
        }
    }

    /// A pending refund succeeding, or a succeeded one failing afterwards.
    private func settleRefund(_ id: String, succeed: Bool, idempotencyKey: String?) {
        _ = try? transact { (state, effects) throws(StripeError) in
            guard var refund = state.refunds[id], var charge = state.charges[refund.charge] else { return }
            let info = RequestInfo.background
            if succeed {
                guard refund.status == "pending" else { return }
                refund.status = "succeeded"
                environment.ledger.record(
                    .refund, object: id, payment: refund.paymentIntent, amount: refund.amount, currency: refund.currency,
                    idempotencyKey: idempotencyKey, at: environment.clock.now)
            } else {
                guard refund.status == "succeeded" else { return }
                refund.status = "failed"
                refund.failureReason = "expired_or_canceled_card"
                charge.amountRefunded -= refund.amount
                state.charges[charge.id] = charge
                environment.ledger.record(
                    .refundFailure, object: id, payment: refund.paymentIntent, amount: refund.amount,
                    currency: refund.currency, idempotencyKey: idempotencyKey, at: environment.clock.now)
            }
            state.refunds[id] = refund
            if !succeed {
                emit("refund.failed", refund.json(), id: id, info: info, state: &state, effects: &effects)
            }
            emit("refund.updated", refund.json(), id: id, info: info, state: &state, effects: &effects)
            emit("charge.refund.updated", refund.json(), id: id, info: info, state: &state, effects: &effects)
        }
    }

    func retrieveRefund(_ id: String, _ params: FormParameters) throws(StripeError) -> JSONValue {
        try params.allowOnly(["expand"])
        let expand = Set(try params.strings("expand"))
        return try state.withLock { state throws(StripeError) in
            guard let refund = state.refunds[id] else { throw .missing("refund", id) }
            return refundJSON(refund, state, expand: expand)
        }
    }

    func listRefunds(_ params: FormParameters) throws(StripeError) -> JSONValue {
        try params.allowOnly(Self.listParameters.union(["payment_intent", "charge"]))
        let page = try Page(params)
        let intent = try params.string("payment_intent")
        let charge = try params.string("charge")
        let expand = try Self.listExpansions(params)
        return try state.withLock { state throws(StripeError) in
            let (ids, more) = try page.select(state.refundOrder, kind: "refund") { id in
                guard let refund = state.refunds[id] else { return false }
                return (intent == nil || refund.paymentIntent == intent) && (charge == nil || refund.charge == charge)
            }
            return Self.list(
                ids.compactMap { state.refunds[$0].map { refundJSON($0, state, expand: expand) } }, hasMore: more,
                url: "/v1/refunds")
        }
    }

    // MARK: Disputes

    /// Opens a dispute on a captured charge (named by its `ch_…` or its `pi_…`).
    func openDispute(payment: String, reason: DisputeReason, inquiry: Bool, info: RequestInfo) throws(StripeError) -> JSONValue {
        try transact { (state, effects) throws(StripeError) in
            let chargeID = payment.hasPrefix("pi_") ? state.intents[payment]?.latestCharge : payment
            guard let chargeID, var charge = state.charges[chargeID] else { throw .missing("charge", payment, param: "payment") }
            let amount = charge.amountCaptured - charge.amountRefunded
            guard charge.captured, amount > 0 else {
                throw .invalidRequest("Charge \(chargeID) has no captured, unrefunded amount to dispute.", param: "payment")
            }
            guard !state.disputes.values.contains(where: { $0.charge == chargeID && !$0.isClosed }) else {
                throw .invalidRequest("Charge \(chargeID) already has an open dispute.", param: "payment")
            }
            let created = now
            let reasonText: String =
                switch reason {
                case .fraudulent: "fraudulent"
                case .productNotReceived: "product_not_received"
                case .general: "general"
                }
            let dispute = DisputeRecord(
                id: Ids.make("dp"), amount: amount, charge: chargeID, created: created, currency: charge.currency,
                dueBy: created + 7 * 86_400, isInquiry: inquiry, paymentIntent: charge.paymentIntent, reason: reasonText,
                status: inquiry ? "warning_needs_response" : "needs_response", brand: charge.paymentMethod.brand,
                fundsWithdrawn: !inquiry)
            charge.disputed = true
            state.charges[chargeID] = charge
            state.disputes[dispute.id] = dispute
            state.disputeOrder.append(dispute.id)
            emit("charge.dispute.created", dispute.json(), id: dispute.id, info: info, state: &state, effects: &effects)
            if !inquiry {
                environment.ledger.record(
                    .chargeback, object: dispute.id, payment: charge.paymentIntent, amount: amount,
                    currency: charge.currency, at: environment.clock.now)
                emit("charge.dispute.funds_withdrawn", dispute.json(), id: dispute.id, info: info, state: &state, effects: &effects)
            }
            return dispute.json()
        }
    }

    /// Closes a dispute as won or lost, moving the money back or for good.
    func settleDispute(_ id: String, won: Bool, info: RequestInfo) throws(StripeError) -> JSONValue {
        try transact { (state, effects) throws(StripeError) in
            guard var dispute = state.disputes[id] else { throw .missing("dispute", id) }
            guard !dispute.isClosed else {
                throw .invalidRequest("This dispute is already closed (status \(dispute.status)).")
            }
            let date = environment.clock.now
            if won {
                dispute.status = dispute.isInquiry ? "warning_closed" : "won"
                if dispute.fundsWithdrawn {
                    environment.ledger.record(
                        .chargebackReversal, object: id, payment: dispute.paymentIntent, amount: dispute.amount,
                        currency: dispute.currency, at: date)
                    state.disputes[id] = dispute
                    emit("charge.dispute.funds_reinstated", dispute.json(), id: id, info: info, state: &state, effects: &effects)
                }
            } else {
                // A lost inquiry escalates into a chargeback that the merchant loses.
                if !dispute.fundsWithdrawn {
                    dispute.fundsWithdrawn = true
                    environment.ledger.record(
                        .chargeback, object: id, payment: dispute.paymentIntent, amount: dispute.amount,
                        currency: dispute.currency, at: date)
                    state.disputes[id] = dispute
                    emit("charge.dispute.funds_withdrawn", dispute.json(), id: id, info: info, state: &state, effects: &effects)
                }
                dispute.status = "lost"
            }
            state.disputes[id] = dispute
            emit("charge.dispute.closed", dispute.json(), id: id, info: info, state: &state, effects: &effects)
            return dispute.json()
        }
    }

    func retrieveDispute(_ id: String, _ params: FormParameters) throws(StripeError) -> JSONValue {
        try params.allowOnly(["expand"])
        let expand = Set(try params.strings("expand"))
        return try state.withLock { state throws(StripeError) in
            guard let dispute = state.disputes[id] else { throw .missing("dispute", id) }
            return disputeJSON(dispute, state, expand: expand)
        }
    }

    func listDisputes(_ params: FormParameters) throws(StripeError) -> JSONValue {
        try params.allowOnly(Self.listParameters.union(["payment_intent", "charge"]))
        let page = try Page(params)
        let intent = try params.string("payment_intent")
        let charge = try params.string("charge")
        let expand = try Self.listExpansions(params)
        return try state.withLock { state throws(StripeError) in
            let (ids, more) = try page.select(state.disputeOrder, kind: "dispute") { id in
                guard let dispute = state.disputes[id] else { return false }
                return (intent == nil || dispute.paymentIntent == intent) && (charge == nil || dispute.charge == charge)
            }
            return Self.list(
                ids.compactMap { state.disputes[$0].map { disputeJSON($0, state, expand: expand) } }, hasMore: more,
                url: "/v1/disputes")
        }
    }

    /// Evidence mentioning `winning_evidence` wins the dispute a moment after submission;
    /// `losing_evidence` loses it.
    func updateDispute(_ id: String, _ params: FormParameters, info: RequestInfo) throws(StripeError) -> JSONValue {
        try params.allowOnly(["evidence", "metadata", "submit", "expand"])
        let evidence = try params.hash("evidence", allowed: Set(DisputeRecord.evidenceFields + ["enhanced_evidence"]))
        var texts: [String: String] = [:]
        for field in DisputeRecord.evidenceFields {
            if let value = try evidence?.string(field) { texts[field] = value }
        }
        let metadata = try params.metadata()
        let submit = try params.boolean("submit") ?? true
        let expand = Set(try params.strings("expand"))
        return try transact { (state, effects) throws(StripeError) in
            guard var dispute = state.disputes[id] else { throw .missing("dispute", id) }
            guard !dispute.isClosed else {
                throw .invalidRequest("This dispute is already closed (status \(dispute.status)); it cannot be updated.")
            }
            guard !dispute.status.hasSuffix("under_review") || texts.isEmpty else {
                throw .invalidRequest("Evidence for this dispute was already submitted; it is under review.", param: "evidence")
            }
            dispute.evidence.merge(texts) { _, new in new }
            if let metadata { dispute.metadata.merge(metadata) { _, new in new } }
            if submit && !dispute.status.hasSuffix("under_review") {
                dispute.status = dispute.isInquiry ? "warning_under_review" : "under_review"
                dispute.submissionCount += 1
                let all = dispute.evidence.values
                let outcome: Bool? =
                    all.contains { $0.contains("winning_evidence") } ? true
                    : all.contains { $0.contains("losing_evidence") } ? false : nil
                if let outcome {
                    later(&effects, generation: state.generation) { gateway in
                        _ = try? gateway.settleDispute(id, won: outcome, info: .background)
                    }
                }
            }
            state.disputes[id] = dispute
            emit("charge.dispute.updated", dispute.json(), id: id, info: info, state: &state, effects: &effects)
            return disputeJSON(dispute, state, expand: expand)
        }
    }

    /// Accepting the dispute: the merchant gives up, as Stripe's `close` does.
    func closeDispute(_ id: String, _ params: FormParameters, info: RequestInfo) throws(StripeError) -> JSONValue {
        try params.allowOnly(["expand"])
        let expand = Set(try params.strings("expand"))
        return try transact { (state, effects) throws(StripeError) in
            guard var dispute = state.disputes[id] else { throw .missing("dispute", id) }
            guard !dispute.isClosed else {
                throw .invalidRequest("This dispute is already closed (status \(dispute.status)).")
            }
            dispute.status = dispute.isInquiry ? "warning_closed" : "lost"
            state.disputes[id] = dispute
            emit("charge.dispute.closed", dispute.json(), id: id, info: info, state: &state, effects: &effects)
            return disputeJSON(dispute, state, expand: expand)
        }
    }

    // MARK: Events

    func retrieveEvent(_ id: String, _ params: FormParameters) throws(StripeError) -> JSONValue {
        try params.allowOnly(["expand"])
        return try state.withLock { state throws(StripeError) in
            guard let event = state.events[id] else { throw .missing("event", id) }
            return .raw(event.body)
        }
    }

    func listEvents(_ params: FormParameters) throws(StripeError) -> JSONValue {
        try params.allowOnly(Self.listParameters.union(["type", "types", "delivery_success"]))
        let page = try Page(params)
        let type = try params.string("type")
        let types = Set(try params.strings("types"))
        return try state.withLock { state throws(StripeError) in
            let (ids, more) = try page.select(state.eventOrder, kind: "event") { id in
                guard let event = state.events[id] else { return false }
                if let type {
                    // Stripe allows one trailing wildcard: `charge.dispute.*`.
                    if type.hasSuffix("*") { return event.type.hasPrefix(type.dropLast()) }
                    return event.type == type
                }
                return types.isEmpty || types.contains(event.type)
            }
            return Self.list(ids.compactMap { state.events[$0].map { .raw($0.body) } }, hasMore: more, url: "/v1/events")
        }
    }
}

/// Random object ids in Stripe's style: a type prefix and 24 letters and digits.
enum Ids {
    static func make(_ prefix: String) -> String { prefix + "_" + random(24) }

    static func random(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return Base62.random(count: count, using: &generator)
    }
}

extension Calendar {
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        return calendar
    }()
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
