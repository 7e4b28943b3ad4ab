import Foundation
import SandboxSupport
import Synchronization
import TillCore
import TillCrypto

/// A successful answer: the full representation, and whether `Prefer: return=minimal`
/// may shorten it to `{id, status, links}` (or, for a void, to an empty 204).
struct Reply: Sendable {
    var status: Int
    var full: JSON
    var minimalIsEmpty = false
    var alwaysFull = false
}

/// Work that happens a moment after the call that caused it, as real gateways do.
enum LaterWork: Sendable {
    case completeRefund(String)
    case failRefund(String)
    case openDispute(capture: String, reason: DisputeReason, inquiry: Bool)
}

/// The PayPal-like gateway's objects and the operations on them. Every operation runs in one
/// short critical section over the whole state, so concurrent calls never interleave
/// halfway; nothing in it awaits.
final class PayPalGateway: Sendable {
    let environment: SandboxEnvironment
    let webhookID: String
    let signing: PayPalSigningAuthority
    let behaviorDelay: Duration
    let authorizationHonorPeriod: TimeInterval = 29 * 24 * 60 * 60
    let state = Mutex(GatewayState())
    let base = Mutex("")
    let scheduler = DelayedWork()
    /// Event bodies as sent, by event id, so `verify-webhook-signature` checks the exact bytes.
    let sentEvents = Mutex<[String: [UInt8]]>([:])

    init(environment: SandboxEnvironment, webhookID: String, signing: PayPalSigningAuthority, behaviorDelay: Duration) {
        self.environment = environment
        self.webhookID = webhookID
        self.signing = signing
        self.behaviorDelay = behaviorDelay
    }

    var renderer: Renderer { Renderer(base: base.withLock { $0 }) }

    func reset() {
        state.withLock { state in
            let generation = state.generation + 1
            state = GatewayState()
            state.generation = generation
        }
        sentEvents.withLock { $0.removeAll() }
    }

    // MARK: Orders

    private static let orderFields: Set<String> = [
        "intent", "purchase_units", "payment_source", "application_context", "payer", "processing_instruction",
    ]
    private static let unitFields: Set<String> = [
        "reference_id", "amount", "payee", "payment_instruction", "description", "custom_id", "invoice_id",
        "soft_descriptor", "items", "shipping", "supplementary_data",
    ]

    func createOrder(_ call: APICall) throws(PayPalError) -> Reply {
        let now = environment.clock.now
        let body = try Fields(call.body, pointer: "", allowed: Self.orderFields)
        let intentText = try body.string("intent", required: true) ?? ""
        guard let intent = OrderIntent(rawValue: intentText) else {
            throw .invalidRequest(
                "INVALID_PARAMETER_VALUE", "The value of a field is invalid: intent is CAPTURE or AUTHORIZE.",
                field: "/intent", value: intentText)
        }
        let units = try body.array("purchase_units", required: true) ?? []
        guard units.count == 1 else {
            throw units.isEmpty
                ? .invalidRequest(
                    "INVALID_ARRAY_MIN_ITEMS", "The number of items in an array parameter is too small.",
                    field: "/purchase_units")
                : .unprocessable(
                    "MULTIPLE_PURCHASE_UNITS_NOT_SUPPORTED", "The sandbox supports one purchase unit per order.",
                    field: "/purchase_units")
        }
        let unit = try Fields(units[0], pointer: "/purchase_units/0", allowed: Self.unitFields)
        guard let amount = try unit.money("amount", required: true, extraAllowed: ["breakdown"]) else {
            throw .invalidRequest("MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing.")
        }
        let referenceID = try unit.string("reference_id", maxLength: 256) ?? "default"
        let description = try unit.string("description")
        let customID = try unit.string("custom_id")
        let invoiceID = try unit.string("invoice_id")
        let softDescriptor = try unit.string("soft_descriptor", maxLength: 22)
        let card = try parsePaymentSource(body, now: now)

        let renderer = self.renderer
        return try state.withLock { state throws(PayPalError) -> Reply in
            if let invoiceID, state.usedInvoiceIDs.contains(invoiceID) {
                throw .unprocessable(
                    "DUPLICATE_INVOICE_ID", "Duplicate Invoice ID detected. To avoid a potential duplicate transaction your account setting requires that Invoice Id be unique for each transaction.",
                    field: "/purchase_units/0/invoice_id", value: invoiceID)
            }
            var order = OrderRecord(
                id: PayPalIDs.resource(), intent: intent, status: "CREATED", amount: amount, referenceID: referenceID,
                description: description, customID: customID, invoiceID: invoiceID, softDescriptor: softDescriptor,
                card: card, createTime: now, updateTime: now)
            var failure: PayPalError?
            if card != nil {
                failure = process(&order, in: &state, now: now, requestID: call.requestID, renderer: renderer)
            }
            state.orders[order.id] = order
            if let failure { throw failure }
            return Reply(status: 201, full: renderer.order(order, in: state))
        }
    }

    func getOrder(_ call: APICall) throws(PayPalError) -> Reply {
        let renderer = self.renderer
        return try state.withLock { state throws(PayPalError) -> Reply in
            guard let order = state.orders[call.id] else { throw .notFound("order", id: call.id, field: "order_id") }
            return Reply(status: 200, full: renderer.order(order, in: state), alwaysFull: true)
        }
    }

    /// `POST /v2/checkout/orders/{id}/authorize` and `/capture`.
    func completeOrder(_ call: APICall, intent: OrderIntent) throws(PayPalError) -> Reply {
        let now = environment.clock.now
        let body = try Fields(call.body, pointer: "", allowed: ["payment_source"])
        let card = try parsePaymentSource(body, now: now)
        let renderer = self.renderer
        return try state.withLock { state throws(PayPalError) -> Reply in
            guard var order = state.orders[call.id] else { throw .notFound("order", id: call.id, field: "order_id") }
            guard order.intent == intent else {
                throw .unprocessable(
                    "ACTION_DOES_NOT_MATCH_INTENT",
                    "Order was created with an intent to '\(order.intent.rawValue)'. Use v2/checkout/orders/\(order.id)/\(order.intent == .capture ? "capture" : "authorize") instead.")
            }
            switch order.status {
            case "COMPLETED":
                throw intent == .capture
                    ? .unprocessable("ORDER_ALREADY_CAPTURED", "Order already captured. If 'intent=CAPTURE' only one capture per order is allowed.")
                    : .unprocessable("ORDER_ALREADY_AUTHORIZED", "Order already authorized. If 'intent=AUTHORIZE' only one authorization per order is allowed.")
            case "VOIDED":
                throw .unprocessable("ORDER_COMPLETED_OR_VOIDED", "Order is voided or completed and hence cannot be processed.")
            case "PAYER_ACTION_REQUIRED" where card == nil:
                throw .unprocessable(
                    "PAYER_ACTION_REQUIRED",
                    "Transaction cannot complete successfully, instruct the buyer to return to PayPal (complete 3-D Secure at the payer-action link).")
            default:
                break
            }
            if let card {
                order.card = card
                order.walletApproved = false
            } else if order.card == nil && !order.walletApproved {
                throw .unprocessable(
                    "ORDER_NOT_APPROVED",
                    "Payer has not yet approved the Order for payment. Approve it (sandbox: POST the approve link) or give payment_source.card.")
            }
            let failure = process(&order, in: &state, now: now, requestID: call.requestID, renderer: renderer)
            state.orders[order.id] = order
            if let failure { throw failure }
            if order.status == "PAYER_ACTION_REQUIRED" {
                throw .unprocessable(
                    "PAYER_ACTION_REQUIRED",
                    "Transaction cannot complete successfully, instruct the buyer to return to PayPal (complete 3-D Secure at the payer-action link).")
            }
            return Reply(status: 201, full: renderer.order(order, in: state))
        }
    }

    /// Charges the order's card for its intent. Returns the decline, if the card was declined
    /// (the declined authorization or capture is kept on the order either way).
    private func process(
        _ order: inout OrderRecord, in state: inout GatewayState, now: Date, requestID: String?, renderer: Renderer
    ) -> PayPalError? {
        let behavior = order.behavior
        let needsChallenge = behavior == .requiresAuthentication && order.card.map { !$0.authenticated } ?? false
        // A merchant-initiated charge has no buyer to send to the challenge: it is declined
        // (processor response 5650) instead.
        let merchantInitiated = order.card?.isMerchantInitiated ?? false
        if needsChallenge, !merchantInitiated {
            order.status = "PAYER_ACTION_REQUIRED"
            order.updateTime = now
            return nil
        }
        if let invoice = order.invoiceID, state.usedInvoiceIDs.contains(invoice) {
            return .unprocessable(
                "DUPLICATE_INVOICE_ID", "Duplicate Invoice ID detected.", field: "/purchase_units/0/invoice_id",
                value: invoice)
        }
        let ledger = environment.ledger
        let currency = order.amount.currency.code
        order.updateTime = now
        if let (code, meaning) = behavior.decline.map(Self.processorResponse)
            ?? (needsChallenge ? ("5650", "AUTHENTICATION_REQUIRED") : nil)
        {
            switch order.intent {
            case .authorize:
                let auth = AuthorizationRecord(
                    id: PayPalIDs.resource(), orderID: order.id, amount: order.amount, status: "DENIED",
                    invoiceID: order.invoiceID, customID: order.customID, processorCode: code, behavior: behavior,
                    createTime: now, updateTime: now, expirationTime: now)
                state.authorizations[auth.id] = auth
                order.authorizationIDs.append(auth.id)
            case .capture:
                let capture = CaptureRecord(
                    id: PayPalIDs.resource(), orderID: order.id, amount: order.amount, status: "DECLINED",
                    finalCapture: true, invoiceID: order.invoiceID, customID: order.customID, processorCode: code,
                    behavior: behavior, createTime: now, updateTime: now)
                state.captures[capture.id] = capture
                order.captureIDs.append(capture.id)
                emit("PAYMENT.CAPTURE.DENIED", resourceType: "capture", resource: renderer.capture(capture),
                    summary: "Payment denied for \(order.amount.decimalString) \(currency)")
            }
            let issue = behavior.decline == .expiredCard ? "CARD_EXPIRED" : "INSTRUMENT_DECLINED"
            return .unprocessable(
                issue,
                "The instrument presented was either declined by the processor or bank, or it can't be used for this payment. Processor response \(code) \(meaning).",
                field: "/payment_source/card", value: code)
        }
        let auth = AuthorizationRecord(
            id: PayPalIDs.resource(), orderID: order.id, amount: order.amount, status: "CREATED",
            invoiceID: order.invoiceID, customID: order.customID, processorCode: "0000", behavior: behavior,
            createTime: now, updateTime: now, expirationTime: now.addingTimeInterval(authorizationHonorPeriod))
        ledger.record(
            .authorization, object: auth.id, payment: order.id, amount: order.amount.minorUnits, currency: currency,
            idempotencyKey: requestID, initiator: order.card?.initiator, at: now)
        if let invoice = order.invoiceID { state.usedInvoiceIDs.insert(invoice) }
        order.status = "COMPLETED"
        switch order.intent {
        case .authorize:
            state.authorizations[auth.id] = auth
            order.authorizationIDs.append(auth.id)
            emit("PAYMENT.AUTHORIZATION.CREATED", resourceType: "authorization", resource: renderer.authorization(auth),
                summary: "A payment authorization was created")
        case .capture:
            // A sale: authorized and captured at once; only the capture is an object of its own.
            let capture = CaptureRecord(
                id: PayPalIDs.resource(), orderID: order.id, amount: order.amount, status: "COMPLETED",
                finalCapture: true, invoiceID: order.invoiceID, customID: order.customID, processorCode: "0000",
                behavior: behavior, createTime: now, updateTime: now)
            state.captures[capture.id] = capture
            order.captureIDs.append(capture.id)
            ledger.record(
                .capture, object: capture.id, payment: order.id, amount: capture.amount.minorUnits, currency: currency,
                idempotencyKey: requestID, at: now)
            captured(capture, renderer: renderer, generation: state.generation)
        }
        return nil
    }

    /// What follows every completed capture: its event, and the dispute its card attracts.
    private func captured(_ capture: CaptureRecord, renderer: Renderer, generation: Int) {
        emit("PAYMENT.CAPTURE.COMPLETED", resourceType: "capture", resource: renderer.capture(capture),
            summary: "Payment completed for \(capture.amount.decimalString) \(capture.amount.currency.code)")
        if let dispute = capture.behavior.dispute {
            later(.openDispute(capture: capture.id, reason: dispute.reason, inquiry: dispute.isInquiry), generation: generation)
        }
    }

    static func processorResponse(_ decline: CardDecline) -> (code: String, meaning: String) {
        switch decline {
        case .generic: ("0500", "DO_NOT_HONOR")
        case .insufficientFunds: ("5120", "INSUFFICIENT_FUNDS")
        case .lostCard, .stolenCard: ("9520", "LOST_OR_STOLEN")
        case .expiredCard: ("5400", "EXPIRED_CARD")
        case .incorrectCVC: ("5110", "CVV2_FAILURE")
        case .processingError: ("8000", "PROCESSOR_SYSTEM_ERROR")
        }
    }

    /// The sandbox's stand-in for the buyer approving the order on PayPal.
    func approveOrder(id: String) -> Bool {
        state.withLock { state in
            guard var order = state.orders[id], order.status == "CREATED" || order.status == "APPROVED" else {
                return false
            }
            order.walletApproved = order.card == nil
            order.status = "APPROVED"
            order.updateTime = environment.clock.now
            state.orders[id] = order
            return true
        }
    }

    /// Completes (or fails) the 3-D Secure challenge of an order waiting for it.
    func completeChallenge(id: String, succeeded: Bool) -> Bool {
        state.withLock { state in
            guard var order = state.orders[id], order.status == "PAYER_ACTION_REQUIRED", order.card != nil else {
                return false
            }
            if succeeded {
                order.card?.authenticated = true
                order.status = "APPROVED"
            } else {
                order.card = nil
                order.status = "CREATED"
            }
            order.updateTime = environment.clock.now
            state.orders[id] = order
            return true
        }
    }

    // MARK: Authorizations

    func getAuthorization(_ call: APICall) throws(PayPalError) -> Reply {
        let renderer = self.renderer
        return try state.withLock { state throws(PayPalError) -> Reply in
            guard let auth = state.authorizations[call.id] else {
                throw .notFound("authorization", id: call.id, field: "authorization_id")
            }
            return Reply(status: 200, full: renderer.authorization(auth), alwaysFull: true)
        }
    }

    private func usableAuthorization(
        _ id: String, in state: GatewayState, now: Date
    ) throws(PayPalError) -> AuthorizationRecord {
        guard let auth = state.authorizations[id] else {
            throw .notFound("authorization", id: id, field: "authorization_id")
        }
        switch auth.status {
        case "VOIDED":
            throw .unprocessable("AUTHORIZATION_VOIDED", "A voided authorization cannot be captured or reauthorized.")
        case "CAPTURED":
            throw .unprocessable("AUTHORIZATION_ALREADY_CAPTURED", "Authorization has been previously captured and hence cannot be captured again.")
        case "DENIED":
            throw .unprocessable("AUTHORIZATION_DENIED", "A denied authorization cannot be captured.")
        default:
            break
        }
        guard now <= auth.expirationTime else {
            throw .unprocessable("AUTHORIZATION_EXPIRED", "An expired authorization cannot be captured.")
        }
        return auth
    }

    func captureAuthorization(_ call: APICall) throws(PayPalError) -> Reply {
        let now = environment.clock.now
        let body = try Fields(
            call.body, pointer: "",
            allowed: [
                "amount", "invoice_id", "final_capture", "note_to_payer", "soft_descriptor", "payment_instruction",
                "supplementary_data",
            ])
        let amount = try body.money("amount")
        let invoiceID = try body.string("invoice_id")
        let finalCapture = try body.bool("final_capture") ?? false
        _ = try body.string("note_to_payer", maxLength: 255)
        _ = try body.string("soft_descriptor", maxLength: 22)
        let renderer = self.renderer
        return try state.withLock { state throws(PayPalError) -> Reply in
            var auth = try usableAuthorization(call.id, in: state, now: now)
            guard auth.captureIDs.count < 10 else {
                throw .unprocessable("MAX_CAPTURE_COUNT_EXCEEDED", "Maximum number of allowable captures has been reached.")
            }
            let remaining = auth.remaining
            let value = amount ?? Money(minorUnits: remaining, currency: auth.amount.currency)
            guard value.currency == auth.amount.currency else {
                throw .unprocessable(
                    "AUTH_CAPTURE_CURRENCY_MISMATCH",
                    "Currency of capture must be the same as currency of authorization (\(auth.amount.currency.code)).",
                    field: "/amount/currency_code", value: value.currency.code)
            }
            guard value.minorUnits <= remaining else {
                throw .unprocessable(
                    "MAX_CAPTURE_AMOUNT_EXCEEDED",
                    "Capture amount exceeds allowable limit: \(Money(minorUnits: remaining, currency: value.currency).decimalString) \(value.currency.code) can still be captured.",
                    field: "/amount/value", value: value.decimalString)
            }
            if let invoiceID, state.usedInvoiceIDs.contains(invoiceID), invoiceID != auth.invoiceID {
                throw .unprocessable(
                    "DUPLICATE_INVOICE_ID", "Requested invoice number has been previously captured.",
                    field: "/invoice_id", value: invoiceID)
            }
            let isFinal = finalCapture || value.minorUnits == remaining
            let capture = CaptureRecord(
                id: PayPalIDs.resource(), orderID: auth.orderID, authorizationID: auth.id, amount: value,
                status: "COMPLETED", finalCapture: isFinal, invoiceID: invoiceID ?? auth.invoiceID,
                customID: auth.customID, processorCode: "0000", behavior: auth.behavior, createTime: now,
                updateTime: now)
            auth.captured += value.minorUnits
            auth.captureIDs.append(capture.id)
            auth.status = isFinal ? "CAPTURED" : "PARTIALLY_CAPTURED"
            auth.updateTime = now
            state.authorizations[auth.id] = auth
            state.captures[capture.id] = capture
            state.orders[auth.orderID]?.captureIDs.append(capture.id)
            if let invoiceID { state.usedInvoiceIDs.insert(invoiceID) }
            environment.ledger.record(
                .capture, object: capture.id, payment: auth.orderID, amount: value.minorUnits,
                currency: value.currency.code, idempotencyKey: call.requestID, at: now)
            captured(capture, renderer: renderer, generation: state.generation)
            return Reply(status: 201, full: renderer.capture(capture))
        }
    }

    func voidAuthorization(_ call: APICall) throws(PayPalError) -> Reply {
        let now = environment.clock.now
        _ = try Fields(call.body, pointer: "", allowed: [])
        let renderer = self.renderer
        return try state.withLock { state throws(PayPalError) -> Reply in
            guard var auth = state.authorizations[call.id] else {
                throw .notFound("authorization", id: call.id, field: "authorization_id")
            }
            switch auth.status {
            case "CAPTURED":
                throw .unprocessable("PREVIOUSLY_CAPTURED", "Authorization has been previously captured and hence cannot be voided.")
            case "VOIDED":
                throw .unprocessable("PREVIOUSLY_VOIDED", "Authorization has been previously voided and hence cannot be voided again.")
            case "DENIED":
                throw .unprocessable("CANNOT_BE_VOIDED", "A denied authorization cannot be voided.")
            default:
                break
            }
            let released = auth.remaining
            auth.status = "VOIDED"
            auth.updateTime = now
            state.authorizations[auth.id] = auth
            environment.ledger.record(
                .void, object: auth.id, payment: auth.orderID, amount: released, currency: auth.amount.currency.code,
                idempotencyKey: call.requestID, at: now)
            emit("PAYMENT.AUTHORIZATION.VOIDED", resourceType: "authorization", resource: renderer.authorization(auth),
                summary: "A payment authorization was voided")
            return Reply(status: 200, full: renderer.authorization(auth), minimalIsEmpty: true)
        }
    }

    func reauthorize(_ call: APICall) throws(PayPalError) -> Reply {
        let now = environment.clock.now
        let body = try Fields(call.body, pointer: "", allowed: ["amount"])
        let amount = try body.money("amount")
        let renderer = self.renderer
        return try state.withLock { state throws(PayPalError) -> Reply in
            var old = try usableAuthorization(call.id, in: state, now: now)
            guard old.status == "CREATED" else {
                throw .unprocessable("AUTHORIZATION_ALREADY_CAPTURED", "A partially captured authorization cannot be reauthorized.")
            }
            guard old.reauthorizedFrom == nil else {
                throw .unprocessable("REAUTHORIZATION_NOT_SUPPORTED", "A reauthorization cannot be reauthorized again.")
            }
            let value = amount ?? old.amount
            guard value.currency == old.amount.currency else {
                throw .unprocessable(
                    "AUTH_CURRENCY_MISMATCH", "The currency of the reauthorization must match the authorization.",
                    field: "/amount/currency_code", value: value.currency.code)
            }
            // PayPal allows up to 115% of the original amount.
            let (scaled, overflow) = old.amount.minorUnits.multipliedReportingOverflow(by: 115)
            guard overflow || value.minorUnits <= scaled / 100 else {
                throw .unprocessable(
                    "AUTHORIZATION_AMOUNT_EXCEEDED", "A reauthorization may be at most 115% of the original amount.",
                    field: "/amount/value", value: value.decimalString)
            }
            let new = AuthorizationRecord(
                id: PayPalIDs.resource(), orderID: old.orderID, amount: value, status: "CREATED",
                invoiceID: old.invoiceID, customID: old.customID, processorCode: "0000", behavior: old.behavior,
                reauthorizedFrom: old.id, createTime: now, updateTime: now,
                expirationTime: now.addingTimeInterval(authorizationHonorPeriod))
            // The original hold is released and replaced by the new one.
            old.status = "VOIDED"
            old.reauthorizedTo = new.id
            old.updateTime = now
            state.authorizations[old.id] = old
            state.authorizations[new.id] = new
            state.orders[old.orderID]?.authorizationIDs.append(new.id)
            let currency = value.currency.code
            environment.ledger.record(
                .void, object: old.id, payment: old.orderID, amount: old.amount.minorUnits, currency: currency,
                idempotencyKey: call.requestID, at: now)
            environment.ledger.record(
                .authorization, object: new.id, payment: new.orderID, amount: value.minorUnits, currency: currency,
                idempotencyKey: call.requestID, at: now)
            emit("PAYMENT.AUTHORIZATION.CREATED", resourceType: "authorization", resource: renderer.authorization(new),
                summary: "A payment authorization was created")
            return Reply(status: 201, full: renderer.authorization(new))
        }
    }

    // MARK: Captures and refunds

    func getCapture(_ call: APICall) throws(PayPalError) -> Reply {
        let renderer = self.renderer
        return try state.withLock { state throws(PayPalError) -> Reply in
            guard let capture = state.captures[call.id] else {
                throw .notFound("capture", id: call.id, field: "capture_id")
            }
            return Reply(status: 200, full: renderer.capture(capture), alwaysFull: true)
        }
    }

    func refundCapture(_ call: APICall) throws(PayPalError) -> Reply {
        let now = environment.clock.now
        let body = try Fields(
            call.body, pointer: "", allowed: ["amount", "invoice_id", "custom_id", "note_to_payer", "payment_instruction"])
        let amount = try body.money("amount")
        let invoiceID = try body.string("invoice_id")
        let customID = try body.string("custom_id")
        let note = try body.string("note_to_payer", maxLength: 255)
        let renderer = self.renderer
        return try state.withLock { state throws(PayPalError) -> Reply in
            guard var capture = state.captures[call.id] else {
                throw .notFound("capture", id: call.id, field: "capture_id")
            }
            switch capture.status {
            case "REFUNDED":
                throw .unprocessable("CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded.")
            case "COMPLETED", "PARTIALLY_REFUNDED":
                break
            default:
                throw .unprocessable("REFUND_NOT_ALLOWED", "A \(capture.status) capture cannot be refunded.")
            }
            let refundable = capture.refundable
            guard refundable > 0 else {
                throw .unprocessable(
                    "REFUND_NOT_PERMITTED_DUE_TO_CHARGEBACK",
                    "Refunds not allowed on this capture due to a chargeback on the card or bank.")
            }
            let value = amount ?? Money(minorUnits: refundable, currency: capture.amount.currency)
            guard value.currency == capture.amount.currency else {
                throw .unprocessable(
                    "CURRENCY_MISMATCH", "Refund must be in the same currency as the capture (\(capture.amount.currency.code)).",
                    field: "/amount/currency_code", value: value.currency.code)
            }
            guard value.minorUnits <= refundable else {
                throw .unprocessable(
                    "REFUND_AMOUNT_EXCEEDED",
                    "The refund amount must be less than or equal to the capture amount that has not yet been refunded (\(Money(minorUnits: refundable, currency: value.currency).decimalString) \(value.currency.code)).",
                    field: "/amount/value", value: value.decimalString)
            }
            let pending = capture.behavior == .refundPendingThenSucceeds
            let refund = RefundRecord(
                id: PayPalIDs.resource(), captureID: capture.id, orderID: capture.orderID, amount: value,
                status: pending ? "PENDING" : "COMPLETED", invoiceID: invoiceID ?? capture.invoiceID,
                customID: customID ?? capture.customID, noteToPayer: note, createTime: now, updateTime: now)
            capture.refunded += value.minorUnits
            capture.refundIDs.append(refund.id)
            capture.status = capture.refunded == capture.amount.minorUnits ? "REFUNDED" : "PARTIALLY_REFUNDED"
            capture.updateTime = now
            state.captures[capture.id] = capture
            state.refunds[refund.id] = refund
            let total = Money(minorUnits: capture.refunded, currency: value.currency)
            if pending {
                later(.completeRefund(refund.id), generation: state.generation)
            } else {
                environment.ledger.record(
                    .refund, object: refund.id, payment: refund.orderID, amount: value.minorUnits,
                    currency: value.currency.code, idempotencyKey: call.requestID, at: now)
                emit("PAYMENT.CAPTURE.REFUNDED", resourceType: "refund", resource: renderer.refund(refund, totalRefunded: total),
                    summary: "A \(value.decimalString) \(value.currency.code) capture payment was refunded")
                if capture.behavior == .refundSucceedsThenFails {
                    later(.failRefund(refund.id), generation: state.generation)
                }
            }
            return Reply(status: 201, full: renderer.refund(refund, totalRefunded: total))
        }
    }

    func getRefund(_ call: APICall) throws(PayPalError) -> Reply {
        let renderer = self.renderer
        return try state.withLock { state throws(PayPalError) -> Reply in
            guard let refund = state.refunds[call.id] else { throw .notFound("refund", id: call.id, field: "refund_id") }
            return Reply(status: 200, full: renderer.refund(refund), alwaysFull: true)
        }
    }

    // MARK: Work that happens later

    private func later(_ work: LaterWork, generation: Int) {
        scheduler.schedule(after: behaviorDelay) { [self] in
            perform(work, generation: generation)
        }
    }

    func perform(_ work: LaterWork, generation: Int) {
        let renderer = self.renderer
        let now = environment.clock.now
        state.withLock { state in
            guard state.generation == generation else { return }
            switch work {
            case .completeRefund(let id):
                guard var refund = state.refunds[id], refund.status == "PENDING" else { return }
                refund.status = "COMPLETED"
                refund.updateTime = now
                state.refunds[id] = refund
                environment.ledger.record(
                    .refund, object: id, payment: refund.orderID, amount: refund.amount.minorUnits,
                    currency: refund.amount.currency.code, at: now)
                emit("PAYMENT.CAPTURE.REFUNDED", resourceType: "refund", resource: renderer.refund(refund),
                    summary: "A \(refund.amount.decimalString) \(refund.amount.currency.code) capture payment was refunded")
            case .failRefund(let id):
                guard var refund = state.refunds[id], refund.status == "COMPLETED",
                    var capture = state.captures[refund.captureID]
                else { return }
                refund.status = "FAILED"
                refund.updateTime = now
                capture.refunded -= refund.amount.minorUnits
                capture.status = capture.refunded == 0 ? "COMPLETED" : "PARTIALLY_REFUNDED"
                capture.updateTime = now
                state.refunds[id] = refund
                state.captures[capture.id] = capture
                environment.ledger.record(
                    .refundFailure, object: id, payment: refund.orderID, amount: refund.amount.minorUnits,
                    currency: refund.amount.currency.code, at: now)
                emit("PAYMENT.REFUND.FAILED", resourceType: "refund", resource: renderer.refund(refund),
                    summary: "A \(refund.amount.decimalString) \(refund.amount.currency.code) refund failed")
            case .openDispute(let captureID, let reason, let inquiry):
                _ = try? openDispute(
                    captureID: captureID, reason: reason, stage: inquiry ? .inquiry : .chargeback, in: &state, now: now,
                    renderer: renderer)
            }
        }
    }

    // MARK: Disputes

    struct DisputeError: Error {
        var status: Int
        var message: String
    }

    func openDispute(payment: String, reason: DisputeReason, stage: DisputeRecord.Stage) throws(DisputeError) -> JSON {
        let renderer = self.renderer
        let now = environment.clock.now
        return try state.withLock { state throws(DisputeError) -> JSON in
            var captureID = payment
            if state.captures[payment] == nil, let order = state.orders[payment] {
                captureID = order.captureIDs.last { state.captures[$0]?.status != "DECLINED" } ?? payment
            }
            let dispute = try openDispute(
                captureID: captureID, reason: reason, stage: stage, in: &state, now: now, renderer: renderer)
            return renderer.dispute(dispute)
        }
    }

    private func openDispute(
        captureID: String, reason: DisputeReason, stage: DisputeRecord.Stage, in state: inout GatewayState, now: Date,
        renderer: Renderer
    ) throws(DisputeError) -> DisputeRecord {
        guard var capture = state.captures[captureID] else {
            throw DisputeError(status: 404, message: "no capture or order \"\(captureID)\"")
        }
        guard capture.status == "COMPLETED" || capture.status == "PARTIALLY_REFUNDED" else {
            throw DisputeError(status: 409, message: "capture \(captureID) is \(capture.status) and cannot be disputed")
        }
        if state.disputes.values.contains(where: { $0.captureID == captureID && $0.merchantWon == nil }) {
            throw DisputeError(status: 409, message: "capture \(captureID) already has an open dispute")
        }
        let disputable = capture.refundable
        guard disputable > 0 else {
            throw DisputeError(status: 409, message: "capture \(captureID) has nothing left to dispute")
        }
        state.disputeSequence += 1
        let amount = Money(minorUnits: disputable, currency: capture.amount.currency)
        let dispute = DisputeRecord(
            id: "PP-D-\(10_000 + state.disputeSequence)", captureID: captureID, orderID: capture.orderID,
            amount: amount, reason: reason, stage: stage, merchantWon: nil, chargedBack: stage == .chargeback,
            createTime: now, updateTime: now, invoiceID: capture.invoiceID, customID: capture.customID)
        if dispute.chargedBack {
            capture.chargedBack += disputable
            state.captures[captureID] = capture
            environment.ledger.record(
                .chargeback, object: dispute.id, payment: dispute.orderID, amount: disputable,
                currency: amount.currency.code, at: now)
        }
        state.disputes[dispute.id] = dispute
        emit("CUSTOMER.DISPUTE.CREATED", resourceType: "dispute", resource: renderer.dispute(dispute),
            summary: "A new dispute opened with Case # \(dispute.id)")
        return dispute
    }

    enum DisputeAction: String { case win, lose, escalate }

    func act(onDispute id: String, _ action: DisputeAction, accepting: Bool = false) throws(DisputeError) -> JSON {
        let renderer = self.renderer
        let now = environment.clock.now
        return try state.withLock { state throws(DisputeError) -> JSON in
            guard var dispute = state.disputes[id] else { throw DisputeError(status: 404, message: "no dispute \"\(id)\"") }
            guard dispute.merchantWon == nil else {
                throw DisputeError(status: 409, message: "dispute \(id) is already resolved")
            }
            guard var capture = state.captures[dispute.captureID] else {
                throw DisputeError(status: 404, message: "the disputed capture is gone")
            }
            let amount = dispute.amount.minorUnits
            let currency = dispute.amount.currency.code
            dispute.updateTime = now
            switch action {
            case .escalate:
                guard dispute.stage == .inquiry else {
                    throw DisputeError(status: 409, message: "dispute \(id) is already a chargeback")
                }
                dispute.stage = .chargeback
                dispute.chargedBack = true
                capture.chargedBack += amount
                environment.ledger.record(.chargeback, object: id, payment: dispute.orderID, amount: amount, currency: currency, at: now)
            case .win:
                dispute.merchantWon = true
                if dispute.chargedBack {
                    dispute.chargedBack = false
                    capture.chargedBack -= amount
                    environment.ledger.record(
                        .chargebackReversal, object: id, payment: dispute.orderID, amount: amount, currency: currency, at: now)
                }
            case .lose:
                dispute.merchantWon = false
                dispute.accepted = accepting
                if !dispute.chargedBack {
                    dispute.chargedBack = true
                    capture.chargedBack += amount
                    environment.ledger.record(.chargeback, object: id, payment: dispute.orderID, amount: amount, currency: currency, at: now)
                }
            }
            capture.updateTime = now
            state.captures[capture.id] = capture
            state.disputes[id] = dispute
            switch action {
            case .escalate:
                emit("CUSTOMER.DISPUTE.UPDATED", resourceType: "dispute", resource: renderer.dispute(dispute),
                    summary: "A dispute was updated with Case # \(id)")
            case .win, .lose:
                emit("CUSTOMER.DISPUTE.RESOLVED", resourceType: "dispute", resource: renderer.dispute(dispute),
                    summary: "A dispute was resolved with Case # \(id)")
                if action == .lose {
                    emit("PAYMENT.CAPTURE.REVERSED", resourceType: "capture", resource: renderer.capture(capture),
                        summary: "A \(dispute.amount.decimalString) \(currency) capture payment was reversed")
                }
            }
            return renderer.dispute(dispute)
        }
    }

    /// `POST /v1/customer/disputes/{id}/provide-evidence` with a JSON body `{"evidences":
    /// [{"evidence_type", "evidence_info": {"tracking_info", "refund_ids"}, "notes"}]}` (PayPal
    /// also takes documents as multipart parts; the sandbox keeps only the JSON).
    func provideEvidence(_ call: APICall) throws(PayPalError) -> Reply {
        let body = try Fields(call.body, pointer: "", allowed: ["evidences", "return_shipping_address"])
        let items = try body.array("evidences", required: true) ?? []
        guard !items.isEmpty else {
            throw .invalidRequest(
                "INVALID_ARRAY_MIN_ITEMS", "The number of items in an array parameter is too small.", field: "/evidences")
        }
        var types: [String] = []
        for (index, item) in items.enumerated() {
            let evidence = try Fields(
                item, pointer: "/evidences/\(index)",
                allowed: [
                    "evidence_type", "evidence_info", "documents", "notes", "source", "date", "item_id", "item_type",
                    "action_info", "dispute_life_cycle_stage",
                ])
            let type = try evidence.string("evidence_type", required: true, maxLength: 255) ?? ""
            guard !type.isEmpty, type.utf8.allSatisfy({ (65...90).contains($0) || (48...57).contains($0) || $0 == 95 }) else {
                throw .invalidRequest(
                    "INVALID_PARAMETER_SYNTAX", "The evidence type must match ^[0-9A-Z_]+$.",
                    field: evidence.path("evidence_type"), value: type)
            }
            _ = try evidence.string("notes", maxLength: 2000)
            _ = try evidence.object("evidence_info", allowed: ["tracking_info", "refund_ids"])
            types.append(type)
        }
        let renderer = self.renderer
        let now = environment.clock.now
        return try state.withLock { state throws(PayPalError) -> Reply in
            guard var dispute = state.disputes[call.id] else { throw .notFound("dispute", id: call.id, field: "id") }
            guard dispute.merchantWon == nil else {
                throw .unprocessable("DISPUTE_ALREADY_RESOLVED", "Evidence cannot be provided for a resolved dispute.")
            }
            dispute.evidence.append(contentsOf: types)
            dispute.updateTime = now
            state.disputes[dispute.id] = dispute
            emit("CUSTOMER.DISPUTE.UPDATED", resourceType: "dispute", resource: renderer.dispute(dispute),
                summary: "A dispute was updated with Case # \(dispute.id)")
            return Reply(status: 200, full: renderer.subsequentAction(dispute: dispute.id), alwaysFull: true)
        }
    }

    /// `POST /v1/customer/disputes/{id}/accept-claim` `{"note", "accept_claim_type",
    /// "accept_claim_reason", "invoice_id", "refund_amount"}`: the merchant gives up; the
    /// dispute resolves for the buyer, and the disputed amount is charged back if it was not yet.
    func acceptClaim(_ call: APICall) throws(PayPalError) -> Reply {
        let body = try Fields(
            call.body, pointer: "",
            allowed: ["note", "accept_claim_type", "accept_claim_reason", "invoice_id", "refund_amount", "return_shipping_address"])
        _ = try body.string("note", maxLength: 2000)
        if let type = try body.string("accept_claim_type", maxLength: 255),
            !["REFUND", "REFUND_WITH_RETURN", "PARTIAL_REFUND", "REFUND_WITH_RETURN_SHIPMENT_LABEL"].contains(type)
        {
            throw .invalidRequest(
                "INVALID_PARAMETER_VALUE", "The value of a field is invalid.", field: "/accept_claim_type", value: type)
        }
        do throws(DisputeError) {
            _ = try act(onDispute: call.id, .lose, accepting: true)
        } catch {
            if error.status == 404 { throw .notFound("dispute", id: call.id, field: "id") }
            throw .unprocessable("DISPUTE_ALREADY_RESOLVED", error.message)
        }
        return Reply(status: 200, full: renderer.subsequentAction(dispute: call.id), alwaysFull: true)
    }

    func getDispute(_ call: APICall) throws(PayPalError) -> Reply {
        let renderer = self.renderer
        return try state.withLock { state throws(PayPalError) -> Reply in
            guard let dispute = state.disputes[call.id] else { throw .notFound("dispute", id: call.id, field: "id") }
            return Reply(status: 200, full: renderer.dispute(dispute), alwaysFull: true)
        }
    }
}
