import Foundation
import TillCore
import TillStore

/// How the API shows payments, transactions and disputes: snake_case fields, amounts in
/// minor units with a lowercase ISO currency, RFC 3339 times. Never card data: the token
/// stands for the card.
public enum PaymentView {
    public static func json(_ loaded: PaymentEngine.Loaded) -> JSONValue { .object(object(loaded)) }

    public static func object(_ loaded: PaymentEngine.Loaded) -> JSONObject {
        let payment = loaded.payment
        let record = loaded.record
        let currency = JSONValue.string(record.currency)
        var object: JSONObject = [
            "id": .string(payment.id),
            "object": .string("payment"),
            "status": .string(payment.status.apiName),
            "amount": .int(payment.amount.minorUnits),
            "currency": currency,
            "amount_authorized": .int(payment.authorized.minorUnits),
            "amount_captured": .int(payment.captured.minorUnits),
            "amount_refunded": .int(payment.refunded.minorUnits),
            "amount_disputed": .int(payment.chargedBack.minorUnits),
            "capture": .string(record.captureMode),
            "gateway": .string(record.gateway),
            "gateway_payment_reference": .string(record.gatewayPaymentReference),
            "token": .string(record.token),
            "description": .string(record.description),
            "metadata": metadata(record.metadata),
            "created_at": .date(record.createdAt),
            "updated_at": .date(record.updatedAt),
            "transactions": .array(payment.transactions.map { transaction($0, currency: record.currency) }),
            "disputes": .array(payment.disputes.map { dispute($0, paymentID: payment.id, currency: record.currency) }),
        ]
        if let url = record.nextActionURL {
            object["next_action"] = .object(["type": .string("redirect_to_url"), "redirect_url": .string(url)])
        }
        if let failure = payment.authorization.failure {
            object["last_error"] = .object(failureObject(failure))
        }
        return object
    }

    public static func transaction(_ transaction: Transaction, currency: String) -> JSONValue {
        var object: JSONObject = [
            "id": .string(transaction.id),
            "object": .string("transaction"),
            "type": .string(transaction.kind.apiName),
            "status": .string(transaction.status.rawValue),
            "amount": .int(transaction.amount.minorUnits),
            "currency": .string(currency),
            "origin": .string(transaction.origin.rawValue),
            "gateway_reference": .string(transaction.gatewayReference),
            "created_at": .date(transaction.createdAt),
            "updated_at": .date(transaction.updatedAt),
        ]
        if transaction.kind == .capture { object["final"] = .bool(transaction.isFinalCapture) }
        if let dispute = transaction.disputeID { object["dispute"] = .string(dispute) }
        if let failure = transaction.failure { object["failure"] = .object(failureObject(failure)) }
        return .object(object)
    }

    public static func dispute(_ dispute: Dispute, paymentID: String, currency: String) -> JSONValue {
        .object([
            "id": .string(dispute.id),
            "object": .string("dispute"),
            "payment": .string(paymentID),
            "stage": .string(dispute.stage.apiName),
            "status": .string(dispute.status.apiName),
            "amount": .int(dispute.amount.minorUnits),
            "currency": .string(currency),
            "reason": .string(dispute.reason),
            "gateway_reference": .string(dispute.gatewayReference),
            "opened_at": .date(dispute.openedAt),
            "evidence_submitted_at": dispute.evidenceSubmittedAt.map(JSONValue.date) ?? .null,
            "closed_at": dispute.closedAt.map(JSONValue.date) ?? .null,
        ])
    }

    public static func failureObject(_ failure: TransactionFailure) -> JSONObject {
        [
            "code": .string(failure.code.rawValue),
            "gateway_code": .string(failure.gatewayCode),
            "gateway_message": .string(failure.gatewayMessage),
        ]
    }

    public static func metadata(_ text: String) -> JSONValue {
        (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .object([:])
    }
}
