import Foundation
import TillCore

let epoch = Date(timeIntervalSince1970: 1_767_225_600)

func at(_ seconds: Int) -> Date { epoch.addingTimeInterval(TimeInterval(seconds)) }

func usd(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: .usd) }

/// A fresh payment of `amount` cents with its authorization pending.
func newPayment(_ amount: Int64 = 1000) throws -> Payment {
    try Payment(id: "pay_1", amount: usd(amount), authorizationID: "txn_auth", at: epoch)
}

/// A payment whose authorization of `amount` cents succeeded.
func authorizedPayment(_ amount: Int64 = 1000) throws -> Payment {
    var payment = try newPayment(amount)
    try payment.resolve(transaction: "txn_auth", outcome: .succeeded(gatewayReference: "ch_1"), at: at(1))
    return payment
}

/// Captures `amount` and records success.
func capture(_ payment: inout Payment, _ amount: Int64, id: String, final: Bool = false) throws {
    try payment.beginCapture(transactionID: id, amount: usd(amount), final: final, at: at(2))
    try payment.resolve(transaction: id, outcome: .succeeded(gatewayReference: "gw_\(id)"), at: at(3))
}

/// Refunds `amount` and records success.
func refund(_ payment: inout Payment, _ amount: Int64, id: String) throws {
    try payment.beginRefund(transactionID: id, amount: usd(amount), at: at(4))
    try payment.resolve(transaction: id, outcome: .succeeded(gatewayReference: "gw_\(id)"), at: at(5))
}

let decline = TransactionFailure(code: .insufficientFunds, gatewayCode: "card_declined", gatewayMessage: "Your card has insufficient funds.")

/// One payment of 1000 cents in each status.
func paymentIn(_ status: PaymentStatus) throws -> Payment {
    var p = try newPayment()
    switch status {
    case .processing:
        break
    case .requiresAction:
        try p.resolve(transaction: "txn_auth", outcome: .requiresAction, at: at(1))
    case .declined:
        try p.resolve(transaction: "txn_auth", outcome: .failed(decline), at: at(1))
    case .failed:
        try p.resolve(transaction: "txn_auth", outcome: .failed(TransactionFailure(code: .processingError)), at: at(1))
    case .authorized:
        p = try authorizedPayment()
    case .partiallyCaptured:
        p = try authorizedPayment()
        try capture(&p, 400, id: "txn_c1")
    case .captured:
        p = try authorizedPayment()
        try capture(&p, 1000, id: "txn_c1")
    case .partiallyRefunded:
        p = try authorizedPayment()
        try capture(&p, 1000, id: "txn_c1")
        try refund(&p, 300, id: "txn_r1")
    case .refunded:
        p = try authorizedPayment()
        try capture(&p, 1000, id: "txn_c1")
        try refund(&p, 1000, id: "txn_r1")
    case .voided:
        p = try authorizedPayment()
        try p.beginVoid(transactionID: "txn_v1", at: at(2))
        try p.resolve(transaction: "txn_v1", outcome: .succeeded(gatewayReference: nil), at: at(3))
    case .expired:
        p = try authorizedPayment()
        try p.expireAuthorization(at: at(9))
    case .disputed:
        p = try authorizedPayment()
        try capture(&p, 1000, id: "txn_c1")
        try p.openDispute(id: "dp_1", amount: usd(500), at: at(6))
    case .chargedBack:
        p = try authorizedPayment()
        try capture(&p, 1000, id: "txn_c1")
        try p.openDispute(id: "dp_1", amount: usd(500), at: at(6))
        try p.closeDispute(id: "dp_1", outcome: .lost, transactionID: "txn_cb1", at: at(7))
    }
    return p
}

/// Runs `body` on `payment` expecting a refusal; returns the error and whether the payment
/// was left exactly as it was.
func refusal(
    _ payment: inout Payment, _ body: (inout Payment) throws(CheckoutError) -> Void
) -> (error: CheckoutError?, unchanged: Bool) {
    let before = payment
    do {
        try body(&payment)
        return (nil, payment == before)
    } catch {
        return (error, payment == before)
    }
}
