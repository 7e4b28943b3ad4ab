import Foundation
import Logging
import TillBilling
import TillCore
import TillPayments
import TillStore

/// How a collection attempt ended, as billing needs to know it.
enum AttemptResult: Sendable {
    case succeeded(paymentID: String)
    case failed(paymentID: String?, code: String, message: String)
    /// Not known yet (the gateway's answer was lost, or the payment is processing): the
    /// attempt stays pending and is asked again under the same key.
    case pending(paymentID: String?)
}

extension BillingEngine {
    /// Charges an invoice's pending attempt through the payment engine and records how it
    /// ended. The attempt's key makes the payment engine answer a repeated call with the
    /// payment it already made, so calling this again (after a crash, from a second daemon)
    /// never charges twice.
    func collect(invoiceID: String, merchantID: String, at now: Date) async {
        do {
            let invoice = try await read(Invoice.self, invoiceID, merchantID: merchantID).value
            guard let attempt = invoice.attempts.last, attempt.status == .pending else { return }
            let customer = try await read(Customer.self, invoice.customerID, merchantID: merchantID).value
            let result = await charge(attempt, invoice: invoice, customer: customer, merchantID: merchantID)
            try await record(result, attempt: attempt.number, invoiceID: invoiceID, merchantID: merchantID, at: now)
        } catch {
            logger.error("collecting an invoice failed", metadata: ["invoice": "\(invoiceID)", "error": "\(error)"])
        }
    }

    func charge(_ attempt: CollectionAttempt, invoice: Invoice, customer: Customer, merchantID: String) async -> AttemptResult {
        guard let method = customer.paymentMethod else {
            return .failed(paymentID: nil, code: "payment_method_missing", message: "the customer has no saved payment method")
        }
        let request = PaymentEngine.NewPayment.immediateCharge(
            amount: attempt.amount, token: method.token,
            description: "Invoice \(invoice.number ?? invoice.id)",
            metadata: ["invoice": invoice.id, "customer": customer.id].merging(
                invoice.subscriptionID.map { ["subscription": $0] } ?? [:]) { first, _ in first },
            // Card networks want the first charge of a saved card made with the customer
            // present, and the later ones flagged as merchant-initiated.
            initiator: method.customerInitiatedChargeDone ? .merchant : .customerSavingCard,
            idempotencyKey: attempt.idempotencyKey)
        do throws(PaymentError) {
            let loaded = try await payments.create(request, merchantID: merchantID)
            return Self.result(of: loaded)
        } catch {
            if let loaded = error.payment, case .declined = error.reason {
                return Self.result(of: loaded)
            }
            switch error.reason {
            case .declined:
                return .failed(paymentID: error.payment?.record.id, code: "card_declined", message: error.message)
            case .outcomeUnknown, .internalFailure:
                return .pending(paymentID: error.payment?.record.id)
            case .gatewayUnavailable, .gatewayNotConfigured:
                return .failed(paymentID: error.payment?.record.id, code: "gateway_unavailable", message: error.message)
            case .invalidParameter(let param, let code):
                return .failed(paymentID: nil, code: param == "token" ? "payment_method_invalid" : code, message: error.message)
            case .notFound, .refused, .disputeConflict:
                return .failed(paymentID: error.payment?.record.id, code: "payment_failed", message: error.message)
            }
        }
    }

    static func result(of loaded: PaymentEngine.Loaded) -> AttemptResult {
        let payment = loaded.payment
        switch payment.status {
        case .captured, .partiallyRefunded, .refunded, .disputed, .chargedBack, .partiallyCaptured:
            return .succeeded(paymentID: payment.id)
        case .declined, .failed, .voided, .expired:
            let failure = payment.transactions.last(where: { $0.failure != nil })?.failure
            return .failed(
                paymentID: payment.id, code: failure?.code.rawValue ?? "payment_failed",
                message: failure?.gatewayMessage ?? "the payment \(payment.status.apiName)")
        case .requiresAction:
            // Nobody is there to answer a challenge on a renewal; the customer pays the
            // open invoice themselves.
            return .failed(
                paymentID: payment.id, code: "authentication_required",
                message: "the card asks the customer to authenticate; they must pay this invoice themselves")
        case .processing, .authorized:
            return .pending(paymentID: payment.id)
        }
    }

    /// Writes an attempt's outcome, and what follows from it for the invoice, the
    /// subscription and the customer, in one transaction.
    func record(_ result: AttemptResult, attempt number: Int, invoiceID: String, merchantID: String, at now: Date) async throws {
        try await transact(merchantID: merchantID, actor: "billing", at: now) { billing in
            var invoice = try billing.load(Invoice.self, invoiceID)
            guard let index = invoice.value.attempts.firstIndex(where: { $0.number == number }),
                invoice.value.attempts[index].status == .pending
            else { return }
            var customer = try billing.customer(invoice.value.customerID)
            try billing.useClock(of: customer.value)
            let settings = try billing.settings()
            var subscription = try invoice.value.subscriptionID.flatMap { id throws in try billing.find(Subscription.self, id) }
            var attempt = invoice.value.attempts[index]
            switch result {
            case .pending(let paymentID):
                attempt.paymentID = paymentID ?? attempt.paymentID
                invoice.value.attempts[index] = attempt
                try billing.save(&invoice, dueAt: billing.now.addingTimeInterval(600))
                return
            case .succeeded(let paymentID):
                attempt.status = .succeeded
                attempt.paymentID = paymentID
                attempt.finishedAt = billing.now
                invoice.value.attempts[index] = attempt
                invoice.value.amountPaid = try billing.add(invoice.value.amountPaid, attempt.amount)
                try billing.markPaid(&invoice.value)
                customer.value.paymentMethod?.customerInitiatedChargeDone = true
                if var sub = subscription {
                    let before = sub.value.status
                    if try SubscriptionLifecycle.check(.paymentSucceeded, sub.value) == .allowed {
                        sub.value.status = .active
                    }
                    if sub.value.changeInvoiceID == invoiceID { sub.value.changeInvoiceID = nil }
                    try billing.save(&sub, dueAt: billing.dueAt(sub.value, settings: settings))
                    if before != sub.value.status {
                        billing.emit("customer.subscription.updated", try BillingViews.subscription(sub.value))
                    }
                    subscription = sub
                }
            case .failed(let paymentID, let code, let message):
                attempt.status = .failed
                attempt.paymentID = paymentID
                attempt.failureCode = code
                attempt.failureMessage = message
                attempt.finishedAt = billing.now
                invoice.value.attempts[index] = attempt
                let failures = invoice.value.attempts.filter { $0.status == .failed }
                let retryIndex = failures.count - 1
                let first = failures.first?.finishedAt ?? billing.now
                var exhausted = false
                let hard = Dunning.isHardDecline(code)
                if hard {
                    // Retrying cannot succeed: stop now, and the subscription (if any) takes
                    // the state the merchant chose for when retries run out.
                    invoice.value.nextAttemptAt = nil
                    exhausted = invoice.value.reason != .manual && subscription?.value.status != .incomplete
                    billing.audit("billing.dunning.stop", invoiceID, ["code": code, "reason": "hard_decline"])
                } else if invoice.value.reason == .manual || subscription?.value.status == .incomplete {
                    // One-off invoices and a subscription's first invoice wait for the
                    // customer (or the merchant) to pay; they are not retried on a schedule.
                    invoice.value.nextAttemptAt = nil
                } else if retryIndex < settings.retryDays.count {
                    let calendar = try customer.value.calendar()
                    invoice.value.nextAttemptAt = try calendar.boundary(
                        anchor: first, recurrence: try Recurrence(.day), index: settings.retryDays[retryIndex])
                } else {
                    invoice.value.nextAttemptAt = nil
                    exhausted = true
                }
                billing.emit("invoice.payment_failed", try BillingViews.invoice(invoice.value))
                billing.audit("billing.invoice.payment_failed", invoiceID, ["code": code, "attempt": "\(number)"])
                try billing.queueEmail(
                    .paymentFailed, customer: customer.value, invoice: invoice.value, notice: "attempt-\(number)")
                if var sub = subscription {
                    let before = sub.value.status
                    if exhausted {
                        // A hard decline on an active subscription passes through past_due.
                        if sub.value.status == .active, try SubscriptionLifecycle.check(.paymentFailed, sub.value) == .allowed {
                            sub.value.status = .pastDue
                        }
                        if try SubscriptionLifecycle.check(.retriesExhausted, sub.value) == .allowed {
                            sub.value.status = settings.afterRetries
                            if sub.value.status == .canceled {
                                sub.value.endedAt = billing.now
                                sub.value.canceledAt = billing.now
                            }
                        }
                        if sub.value.changeInvoiceID == invoiceID { sub.value.changeInvoiceID = nil }
                    } else if try SubscriptionLifecycle.check(.paymentFailed, sub.value) == .allowed {
                        sub.value.status = sub.value.status == .incomplete ? .incomplete : .pastDue
                    }
                    try billing.save(&sub, dueAt: billing.dueAt(sub.value, settings: settings))
                    if before != sub.value.status {
                        billing.emit(
                            sub.value.status == .canceled ? "customer.subscription.deleted" : "customer.subscription.updated",
                            try BillingViews.subscription(sub.value))
                    }
                }
            }
            try billing.save(&invoice, dueAt: billing.dueAt(invoice.value))
            try billing.save(&customer, dueAt: customer.record.dueAt)
        }
    }

    static func mappedPayment<T>(_ body: () async throws(PaymentError) -> T) async throws(BillingError) -> T {
        do {
            return try await body()
        } catch {
            throw BillingError(.internalFailure, code: "internal_error", error.message)
        }
    }

    /// Finishes a credit note's pending refund through the payment engine.
    func refund(creditNoteID: String, merchantID: String) async {
        do {
            let note = try await read(CreditNote.self, creditNoteID, merchantID: merchantID).value
            guard let refund = note.refund, refund.status == .pending else { return }
            var outcome: CreditRefund.Status = .succeeded
            var refundID: String?
            var failure: String?
            let payment = try await Self.mappedPayment { () async throws(PaymentError) in
                try await payments.load(refund.paymentID, merchantID: merchantID)
            }
            let refunded = payment.payment.refundedMinorUnits
            if !refund.claimed {
                // Write before the call: what the payment had refunded before this one, so a
                // crash after the refund is recognised instead of refunded twice.
                try await transact(merchantID: merchantID, actor: "billing") { billing in
                    var stored = try billing.load(CreditNote.self, creditNoteID)
                    guard stored.value.refund?.claimed == false else { return }
                    stored.value.refund?.claimed = true
                    stored.value.refund?.refundedBefore = refunded
                    try billing.save(&stored, dueAt: stored.record.dueAt)
                }
            }
            if refund.claimed, refunded >= refund.refundedBefore + refund.amount.minorUnits {
                outcome = .succeeded
            } else { do throws(PaymentError) {
                let (_, transaction) = try await payments.refund(
                    paymentID: refund.paymentID, merchantID: merchantID, amount: refund.amount.minorUnits,
                    reason: "credit note \(note.number)")
                refundID = transaction.id
                if transaction.status == .failed {
                    outcome = .failed
                    failure = transaction.failure?.gatewayMessage ?? "the refund failed"
                }
            } catch {
                switch error.reason {
                case .outcomeUnknown, .internalFailure:
                    return
                default:
                    outcome = .failed
                    failure = error.message
                }
            } }
            let (status, id, message) = (outcome, refundID, failure)
            try await transact(merchantID: merchantID, actor: "billing") { billing in
                var stored = try billing.load(CreditNote.self, creditNoteID)
                guard stored.value.refund?.status == .pending else { return }
                stored.value.refund?.status = status
                stored.value.refund?.refundID = id
                stored.value.refund?.failureMessage = message
                try billing.save(&stored, dueAt: nil)
                billing.emit(
                    status == .succeeded ? "credit_note.refunded" : "credit_note.refund_failed",
                    BillingViews.creditNote(stored.value))
                billing.audit("billing.credit_note.refund", creditNoteID, ["status": status.rawValue])
            }
        } catch {
            logger.error("refunding a credit note failed", metadata: ["credit_note": "\(creditNoteID)", "error": "\(error)"])
        }
    }
}
