import Foundation
import TillPayments
import Hummingbird
import TillCore
import TillGateway
import TillStore

extension TillServer {
    /// `GET /v1/disputes[?payment=pay_…]`, `GET /v1/disputes/{id}`,
    /// `POST /v1/disputes/{id}/evidence`, `POST /v1/disputes/{id}/accept`.
    func addDisputeRoutes(to v1: RouterGroup<TillRequestContext>) {
        v1.get("disputes") { request, context in
            let caller = try context.requireSecretKey()
            let query = request.uri.queryParameters
            let limit = try Self.limit(query)
            var all = try await self.engine.disputes(merchantID: caller.merchantID, paymentID: try Self.eventQueryValue(query, "payment"))
            if let cursor = try Self.eventQueryValue(query, "starting_after") {
                guard let index = all.firstIndex(where: { $0.1.id == cursor }) else {
                    throw APIError.invalid("starting_after names no dispute of this list", param: "starting_after")
                }
                all.removeFirst(index + 1)
            }
            let page = all.prefix(limit)
            let items = page.map { Self.disputeJSON($0.1, $0.0) }
            return Self.list(items, hasMore: all.count > limit, lastID: page.last?.1.id).response(status: .ok)
        }
        v1.get("disputes/:id") { _, context in
            let caller = try context.requireSecretKey()
            let (loaded, dispute) = try await self.engine.loadDispute(try context.parameters.require("id"), merchantID: caller.merchantID)
            return Self.disputeJSON(dispute, loaded).response(status: .ok)
        }
        v1.post("disputes/:id/evidence") { request, context in
            let caller = try context.requireSecretKey()
            let id = try context.parameters.require("id")
            let bytes = try await Self.body(request, context)
            return try await self.idempotency.run(request: request, body: bytes, caller: caller) {
                let evidence = try Self.evidence(try RequestBody(bytes, allowed: Set(Self.evidenceFields)))
                let (loaded, dispute) = try await self.engine.submitEvidence(disputeID: id, merchantID: caller.merchantID, evidence: evidence)
                return APIResponse(.ok, Self.disputeJSON(dispute, loaded))
            }
        }
        v1.post("disputes/:id/accept") { request, context in
            let caller = try context.requireSecretKey()
            let id = try context.parameters.require("id")
            let bytes = try await Self.body(request, context)
            return try await self.idempotency.run(request: request, body: bytes, caller: caller) {
                _ = try RequestBody(bytes, allowed: [])
                let (loaded, dispute) = try await self.engine.acceptDispute(disputeID: id, merchantID: caller.merchantID)
                return APIResponse(.ok, Self.disputeJSON(dispute, loaded))
            }
        }
    }

    /// TillGateway's ``DisputeEvidence`` fields, as the API spells them.
    static let evidenceFields = [
        "product_description", "customer_name", "customer_email", "customer_communication", "shipping_carrier",
        "shipping_tracking_number", "refund_policy", "uncategorized_text",
    ]

    /// Each evidence text, in UTF-8 bytes: all of them fit a request body together.
    static let maxEvidenceBytes = 20_000

    static func evidence(_ body: RequestBody) throws(APIError) -> DisputeEvidence {
        var texts: [String: String] = [:]
        for field in evidenceFields {
            guard let text = try body.string(field, maxBytes: maxEvidenceBytes) else { continue }
            guard !text.isEmpty else { throw APIError.invalid("\(field) must not be empty", param: field) }
            texts[field] = text
        }
        guard !texts.isEmpty else {
            throw APIError(
                .badRequest, .invalidRequest, code: "parameter_missing",
                "send at least one evidence field: \(evidenceFields.joined(separator: ", "))")
        }
        return DisputeEvidence(
            productDescription: texts["product_description"], customerName: texts["customer_name"],
            customerEmail: texts["customer_email"], customerCommunication: texts["customer_communication"],
            shippingCarrier: texts["shipping_carrier"], shippingTrackingNumber: texts["shipping_tracking_number"],
            refundPolicy: texts["refund_policy"], uncategorizedText: texts["uncategorized_text"])
    }

    /// A dispute with the payment's amounts that it moved.
    static func disputeJSON(_ dispute: Dispute, _ loaded: PaymentEngine.Loaded) -> JSONValue {
        guard case .object(var object) = PaymentView.dispute(dispute, paymentID: loaded.payment.id, currency: loaded.record.currency)
        else { return .null }
        let moved = loaded.payment.transactions.filter { $0.disputeID == dispute.id }
        object["transactions"] = .array(moved.map { PaymentView.transaction($0, currency: loaded.record.currency) })
        object["amount_charged_back"] = .int(loaded.payment.chargedBackMinorUnits(disputeID: dispute.id))
        return .object(object)
    }
}
