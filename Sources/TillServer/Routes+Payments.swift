import Foundation
import TillPayments
import HTTPTypes
import Hummingbird
import TillCore
import TillGateway
import TillStore

extension TillServer {
    /// `POST /v1/payments`, `GET /v1/payments[/{id}]`, capture, void, refunds.
    func addPaymentRoutes(to v1: RouterGroup<TillRequestContext>) {
        v1.post("payments") { request, context in
            let caller = try context.requireSecretKey()
            let bytes = try await Self.body(request, context)
            return try await self.idempotency.run(request: request, body: bytes, caller: caller, claim: .withPaymentWrites(answer: { try Self.answer(for: $0, created: true) })) {
                let body = try RequestBody(
                    bytes,
                    allowed: ["amount", "currency", "token", "capture", "gateway", "description", "metadata", "initiator"])
                let new = try Self.newPayment(body)
                try self.amountLimits.check(new.amount)
                let loaded = try await self.engine.create(new, merchantID: caller.merchantID)
                return try Self.answer(for: loaded, created: true)
            }
        }
        v1.get("payments") { request, context in
            let caller = try context.requireSecretKey()
            let query = request.uri.queryParameters
            let limit = try Self.limit(query)
            let status = query.get("status")
            if let status, !PaymentStatus.allCases.contains(where: { $0.apiName == status }) {
                throw APIError.invalid("unknown status \(status)", param: "status")
            }
            let page = try await self.store.payments(
                merchantID: caller.merchantID, status: status, startingAfter: try Self.eventQueryValue(query, "starting_after"), limit: limit)
            let items = try page.items.map { PaymentView.json(try PaymentEngine.decode($0)) }
            return Self.list(items, hasMore: page.hasMore, lastID: page.items.last?.id).response(status: .ok)
        }
        v1.get("payments/:id") { _, context in
            let caller = try context.requireSecretKey()
            let loaded = try await self.engine.load(try context.parameters.require("id"), merchantID: caller.merchantID)
            return PaymentView.json(loaded).response(status: .ok)
        }
        v1.post("payments/:id/capture") { request, context in
            let caller = try context.requireSecretKey()
            let id = try context.parameters.require("id")
            let bytes = try await Self.body(request, context)
            return try await self.idempotency.run(request: request, body: bytes, caller: caller, claim: .withPaymentWrites(answer: { try Self.answer(for: $0, created: false) })) {
                let body = try RequestBody(bytes, allowed: ["amount", "final"])
                let amount = try body.integer("amount")
                if let amount, amount <= 0 { throw APIError.invalid("amount must be positive", param: "amount") }
                let loaded = try await self.engine.capture(paymentID: id, merchantID: caller.merchantID, amount: amount, final: try body.bool("final"))
                return try Self.answer(for: loaded, created: false)
            }
        }
        v1.post("payments/:id/void") { request, context in
            let caller = try context.requireSecretKey()
            let id = try context.parameters.require("id")
            let bytes = try await Self.body(request, context)
            return try await self.idempotency.run(request: request, body: bytes, caller: caller, claim: .withPaymentWrites(answer: { try Self.answer(for: $0, created: false) })) {
                _ = try RequestBody(bytes, allowed: [])
                return try Self.answer(for: try await self.engine.void(paymentID: id, merchantID: caller.merchantID), created: false)
            }
        }
        v1.post("payments/:id/refunds") { request, context in
            let caller = try context.requireSecretKey()
            let id = try context.parameters.require("id")
            let bytes = try await Self.body(request, context)
            return try await self.idempotency.run(request: request, body: bytes, caller: caller, claim: .withPaymentWrites(answer: nil)) {
                let body = try RequestBody(bytes, allowed: ["amount", "reason"])
                let amount = try body.integer("amount")
                if let amount, amount <= 0 { throw APIError.invalid("amount must be positive", param: "amount") }
                let (loaded, refund) = try await self.engine.refund(
                    paymentID: id, merchantID: caller.merchantID, amount: amount, reason: try body.string("reason"))
                return APIResponse(.created, Self.refundJSON(refund, loaded))
            }
        }
        v1.get("payments/:id/refunds") { _, context in
            let caller = try context.requireSecretKey()
            let loaded = try await self.engine.load(try context.parameters.require("id"), merchantID: caller.merchantID)
            let refunds = loaded.payment.transactions.filter { $0.kind == .refund }.reversed().map { Self.refundJSON($0, loaded) }
            return Self.list(Array(refunds), hasMore: false, lastID: nil).response(status: .ok)
        }
    }

    /// Stripe's limit on a payment's description.
    static let maxDescriptionBytes = 1_000

    static func newPayment(_ body: RequestBody) throws(APIError) -> PaymentEngine.NewPayment {
        guard let amount = try body.integer("amount") else { throw APIError.missing("amount") }
        guard amount > 0 else { throw APIError.invalid("amount must be a positive integer of minor units", param: "amount") }
        let code = try body.requiredString("currency")
        guard code.utf8.count == 3, let currency = Currency(code: code) else {
            throw APIError.invalid("currency \(code) is not an ISO 4217 currency", param: "currency")
        }
        let capture: CaptureMode
        switch try body.string("capture") ?? "automatic" {
        case "automatic": capture = .automatic
        case "manual": capture = .manual
        default: throw APIError.invalid("capture must be automatic or manual", param: "capture")
        }
        let description = try body.string("description", maxBytes: maxDescriptionBytes)
        let initiator: ChargeInitiator
        if let text = try body.string("initiator") {
            guard let value = ChargeInitiator(rawValue: text) else {
                throw APIError.invalid("initiator must be customer, customer_saving_card or merchant", param: "initiator")
            }
            initiator = value
        } else {
            initiator = .customer
        }
        return PaymentEngine.NewPayment(
            amount: Money(minorUnits: amount, currency: currency), token: try body.requiredString("token"), captureMode: capture,
            gateway: try body.string("gateway"), description: description, metadata: try body.metadata(), initiator: initiator)
    }

    /// The answer to an operation on a payment: 201/200 normally, 202 while its outcome is
    /// being reconciled.
    static func answer(for loaded: PaymentEngine.Loaded, created: Bool) throws -> APIResponse {
        let status: HTTPResponse.Status = loaded.payment.status == .processing ? .accepted : (created ? .created : .ok)
        if let failure = loaded.payment.authorization.failure, created {
            let decline = Decline(
                code: failure.code, gatewayCode: failure.gatewayCode ?? "declined",
                message: failure.gatewayMessage ?? "the payment was declined")
            throw APIError(PaymentError(.declined(decline), decline.message, gateway: loaded.record.gateway, payment: loaded))
        }
        return APIResponse(status, PaymentView.json(loaded))
    }

    static func refundJSON(_ refund: Transaction, _ loaded: PaymentEngine.Loaded) -> JSONValue {
        guard case .object(var object) = PaymentView.transaction(refund, currency: loaded.record.currency) else { return .null }
        object["object"] = .string("refund")
        object["payment"] = .string(loaded.payment.id)
        return .object(object)
    }

    static func list(_ items: [JSONValue], hasMore: Bool, lastID: String?) -> JSONValue {
        .object(["object": .string("list"), "data": .array(items), "has_more": .bool(hasMore), "next_cursor": hasMore ? .string(lastID) : .null])
    }

    static func limit(_ query: Hummingbird.Parameters) throws(APIError) -> Int {
        guard let text = query.get("limit") else { return 10 }
        guard let limit = Int(text), (1...100).contains(limit) else {
            throw APIError.invalid("limit must be an integer from 1 to 100", param: "limit")
        }
        return limit
    }

    /// The body of a `POST`, read whole (up to the upload limit) after its media type is
    /// checked: JSON in UTF-8 only (415 otherwise), so no route parses a form or a UTF-16
    /// document as JSON. A body of nothing but whitespace needs no Content-Type: clients
    /// send none for the operations that take no parameters.
    static func body(_ request: Request, _ context: TillRequestContext) async throws -> [UInt8] {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        let bytes = Array(buffer.readableBytesView)
        if !bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            try RequestBody.checkMediaType(request.headers[values: .contentType])
        }
        return bytes
    }
}
