import Foundation
import Logging
import TillBilling
import TillCore

/// Billing's objects as the API shows them and merchant webhooks carry them: snake_case,
/// amounts in minor units beside a lowercase currency, times in RFC 3339 UTC.
public enum BillingViews {
    static func money(_ money: Money) -> JSONValue { .int(money.minorUnits) }

    static func currency(_ currency: Currency) -> JSONValue { .string(currency.code.lowercased()) }

    static func date(_ date: Date?) -> JSONValue { date.map { .date($0) } ?? .null }

    static func metadata(_ metadata: [String: String]) -> JSONValue { .object(metadata.mapValues { .string($0) }) }

    static func period(_ period: BillingPeriod?) -> JSONValue {
        guard let period else { return .null }
        return .object(["start": .date(period.start), "end": .date(period.end)])
    }

    public static func product(_ product: Product) -> JSONValue {
        .object([
            "id": .string(product.id), "object": .string("product"), "name": .string(product.name),
            "description": .string(product.description), "active": .bool(product.active),
            "metadata": metadata(product.metadata), "created_at": .date(product.createdAt),
        ])
    }

    public static func price(_ price: Price) -> JSONValue {
        var options: JSONObject = [:]
        for amount in price.unitAmounts.dropFirst() {
            options[amount.currency.code.lowercased()] = .object(["unit_amount": money(amount)])
        }
        let recurring: JSONValue = price.kind.recurrence.map {
            .object(["interval": .string($0.interval.rawValue), "interval_count": .int(Int64($0.count))])
        } ?? .null
        return .object([
            "id": .string(price.id), "object": .string("price"), "product": .string(price.productID),
            "currency": currency(price.primaryCurrency), "unit_amount": money(price.unitAmounts[0]),
            "currency_options": .object(options), "type": .string(price.kind.recurrence == nil ? "one_time" : "recurring"),
            "recurring": recurring, "billing_scheme": .string(price.scheme.rawValue),
            "tax_behavior": .string(price.taxBehavior.rawValue), "nickname": .string(price.nickname),
            "active": .bool(price.active), "created_at": .date(price.createdAt),
            "usage_type": .string(price.isMetered ? "metered" : "licensed"),
            "usage": price.usage.map(usage) ?? .null,
        ])
    }

    static func usage(_ usage: MeteredPricing) -> JSONValue {
        var object: JSONObject = ["billable_metric": .string(usage.metricID), "usage_model": .string(usage.model.name)]
        switch usage.model {
        case .perUnit(let unit):
            object["unit_amount_decimal"] = .string(unit.description)
        case .package(let size, let amount, let free):
            object["package_size"] = .int(size)
            object["package_amount"] = .int(amount)
            object["free_units"] = .int(free)
        case .graduated(let tiers), .volume(let tiers):
            object["tiers"] = .array(
                tiers.map { tier in
                    .object([
                        "up_to": .string(tier.upTo?.description ?? "inf"),
                        "unit_amount_decimal": .string(tier.unitAmount.description), "flat_amount": .int(tier.flatAmount),
                    ])
                })
        }
        return .object(object)
    }

    public static func email(_ email: BillingEmail) -> JSONValue {
        .object([
            "id": .string(email.id), "object": .string("email"), "customer": .string(email.customerID),
            "invoice": .string(email.invoiceID), "credit_note": .string(email.creditNoteID),
            "purpose": .string(email.purpose.rawValue), "notice": .string(email.notice), "to": .string(email.to),
            "locale": .string(email.locale), "status": .string(email.status.rawValue), "attempts": .int(Int64(email.attempts)),
            "next_attempt_at": date(email.nextAttemptAt), "last_error": .string(email.lastError),
            "message_id": .string(email.messageID), "created_at": .date(email.createdAt), "sent_at": date(email.sentAt),
        ])
    }

    public static func metric(_ metric: BillableMetric) -> JSONValue {
        .object([
            "id": .string(metric.id), "object": .string("billable_metric"), "code": .string(metric.code),
            "name": .string(metric.name), "aggregation": .string(metric.aggregation.rawValue),
            "property": .string(metric.property),
            "filters": .array(metric.filters.map { .object(["key": .string($0.key), "values": .array($0.values.map { .string($0) })]) }),
            "created_at": .date(metric.createdAt),
        ])
    }

    public static func usage(_ items: [BillingEngine.ItemUsage], subscriptionID: String) -> JSONValue {
        .object([
            "object": .string("usage_summary"), "subscription": .string(subscriptionID),
            "data": .array(
                items.map { item in
                    .object([
                        "subscription_item": .string(item.itemID), "price": .string(item.price.id),
                        "billable_metric": .string(item.metric.id), "code": .string(item.metric.code),
                        "period": period(item.period), "quantity": .string(item.quantity.description),
                        "amount": money(item.amount), "currency": currency(item.amount.currency),
                        "breakdown": .array(item.breakdown.map { .string($0) }),
                    ])
                }),
        ])
    }

    public static func taxRate(_ rate: TaxRate) -> JSONValue {
        .object([
            "id": .string(rate.id), "object": .string("tax_rate"), "display_name": .string(rate.displayName),
            "percentage": .string(rate.percentage.decimalString), "inclusive": .bool(rate.behavior == .inclusive),
        ])
    }

    public static func customer(_ customer: Customer) -> JSONValue {
        let address: JSONValue = customer.address.map { address in
            .object([
                "line1": .string(address.line1), "line2": .string(address.line2), "city": .string(address.city),
                "postal_code": .string(address.postalCode), "state": .string(address.state),
                "country": .string(address.country),
            ])
        } ?? .null
        let hold: JSONValue = customer.hold.map { hold in
            .object(["reason": .string(hold.reason), "invoice": .string(hold.invoiceID), "since": .date(hold.since)])
        } ?? .null
        return .object([
            "id": .string(customer.id), "object": .string("customer"), "email": .string(customer.email),
            "name": .string(customer.name), "address": address, "preferred_locale": .string(customer.locale),
            "timezone": .string(customer.timeZone), "currency": customer.currency.map(currency) ?? .null,
            "default_payment_method": .string(customer.paymentMethod?.token),
            "balance": .int(-customer.creditBalance), "credit_balance": .int(customer.creditBalance),
            "test_clock": .string(customer.testClockID), "billing_hold": hold, "metadata": metadata(customer.metadata),
            "created_at": .date(customer.createdAt),
        ])
    }

    public static func subscription(_ subscription: Subscription) throws(BillingError) -> JSONValue {
        let items: [JSONValue] = subscription.items.map { item in
            .object([
                "id": .string(item.id), "object": .string("subscription_item"), "price": .string(item.priceID),
                "quantity": .int(item.quantity),
            ])
        }
        let pending: JSONValue = subscription.pendingChange.map { change in
            .object([
                "items": .array(change.items.map { .object(["id": .string($0.id), "price": .string($0.priceID), "quantity": .int($0.quantity)]) }),
                "effective_at": .date(subscription.schedule.current.end),
            ])
        } ?? .null
        return .object([
            "id": .string(subscription.id), "object": .string("subscription"), "customer": .string(subscription.customerID),
            "status": .string(subscription.status.rawValue), "currency": currency(subscription.currency),
            "items": .object(["data": .array(items)]),
            "interval": .string(subscription.schedule.recurrence.interval.rawValue),
            "interval_count": .int(Int64(subscription.schedule.recurrence.count)),
            "billing_cycle_anchor": .date(subscription.schedule.anchor),
            "billing_alignment": .string(subscription.alignment.rawValue),
            "current_period_start": .date(subscription.schedule.current.start),
            "current_period_end": .date(subscription.schedule.current.end),
            "collection_method": .string(subscription.collection.rawValue),
            "days_until_due": .int(Int64(subscription.daysUntilDue)),
            "default_tax_rates": .array(subscription.taxRateIDs.map { .string($0) }),
            "trial_end": date(subscription.trialEnd), "cancel_at_period_end": .bool(subscription.cancelAtPeriodEnd),
            "canceled_at": date(subscription.canceledAt), "ended_at": date(subscription.endedAt),
            "paused_at": date(subscription.pausedAt), "pending_update": pending,
            "latest_invoice": .string(subscription.latestInvoiceID), "metadata": metadata(subscription.metadata),
            "created_at": .date(subscription.createdAt),
        ])
    }

    public static func invoice(_ invoice: Invoice) throws(BillingError) -> JSONValue {
        let totals = try invoice.computedTotals()
        var computed: [String: ComputedLine] = [:]
        for line in totals.lines { computed[line.id] = line }
        let lines: [JSONValue] = invoice.lines.map { line in
            let math = computed[line.id]
            return .object([
                "id": .string(line.id), "object": .string("line_item"), "description": .string(line.description),
                "quantity": .int(line.quantity), "unit_amount": line.unitAmount.map(money) ?? .null,
                "amount": money(line.amount), "discount_amount": math.map { money($0.discountAmount) } ?? .int(0),
                "amount_excluding_tax": math.map { money($0.amountExcludingTax) } ?? money(line.amount),
                "tax_amounts": .array((math?.taxes ?? []).map(taxAmount)),
                "total": math.map { money($0.total) } ?? money(line.amount),
                "period": period(line.period), "price": .string(line.priceID),
                "subscription_item": .string(line.subscriptionItemID), "proration": .bool(line.proration),
                "tax_rates": .array(line.taxRates.map { .string($0.id) }),
                "usage_quantity": .string(line.usageQuantity?.description),
            ])
        }
        let attempts: [JSONValue] = invoice.attempts.map { attempt in
            .object([
                "number": .int(Int64(attempt.number)), "idempotency_key": .string(attempt.idempotencyKey),
                "amount": money(attempt.amount), "status": .string(attempt.status.rawValue),
                "payment": .string(attempt.paymentID), "failure_code": .string(attempt.failureCode),
                "failure_message": .string(attempt.failureMessage), "started_at": .date(attempt.startedAt),
                "finished_at": date(attempt.finishedAt),
            ])
        }
        return .object([
            "id": .string(invoice.id), "object": .string("invoice"), "number": .string(invoice.number),
            "status": .string(invoice.status.rawValue), "customer": .string(invoice.customerID),
            "subscription": .string(invoice.subscriptionID), "billing_reason": .string(invoice.reason.rawValue),
            "currency": currency(invoice.currency), "lines": .object(["data": .array(lines)]),
            "subtotal": money(totals.subtotal), "total_discount": money(totals.totalDiscount),
            "total_excluding_tax": money(totals.totalExcludingTax), "tax": money(totals.tax),
            "total_tax_amounts": .array(totals.taxes.map(taxAmount)), "total": money(totals.total),
            "credit_applied": money(invoice.creditApplied), "amount_due": money(try invoice.amountDue()),
            "amount_paid": money(invoice.amountPaid), "amount_credited": money(invoice.amountCredited),
            "amount_remaining": money(try invoice.amountRemaining()),
            "rounding": .object(["mode": .string(totals.rounding.mode.apiName), "tax": .string(totals.rounding.tax.rawValue)]),
            "collection_method": .string(invoice.collection.rawValue), "due_date": date(invoice.dueDate),
            "due_date_local": .string(invoice.dueDateLocal), "timezone": .string(invoice.timeZone),
            "locale": .string(invoice.locale), "attempt_count": .int(Int64(invoice.attempts.count)),
            "attempts": .array(attempts), "next_payment_attempt": date(invoice.nextAttemptAt),
            "notices_sent": .array((invoice.notices ?? []).map { .string($0) }), "next_notice_at": date(invoice.nextNoticeAt),
            "late_fee_invoice": .string(invoice.lateFeeInvoiceID),
            "held": .bool(invoice.held), "period_start": date(invoice.periodStart), "period_end": date(invoice.periodEnd),
            "memo": .string(invoice.memo), "metadata": metadata(invoice.metadata), "created_at": .date(invoice.createdAt),
            "finalized_at": date(invoice.finalizedAt), "paid_at": date(invoice.paidAt), "voided_at": date(invoice.voidedAt),
        ])
    }

    static func taxAmount(_ tax: LineTax) -> JSONValue {
        .object(["tax_rate": .string(tax.rateID), "taxable_amount": money(tax.taxableAmount), "amount": money(tax.amount)])
    }

    public static func creditNote(_ note: CreditNote) -> JSONValue {
        let lines: [JSONValue] = note.totals.lines.map { line in
            .object([
                "invoice_line": .string(line.invoiceLineID), "amount": money(line.amount),
                "tax_amounts": .array(line.taxes.map(taxAmount)), "total": money(line.total),
            ])
        }
        let refund: JSONValue = note.refund.map { refund in
            .object([
                "payment": .string(refund.paymentID), "amount": money(refund.amount), "status": .string(refund.status.rawValue),
                "refund": .string(refund.refundID), "failure_message": .string(refund.failureMessage),
            ])
        } ?? .null
        return .object([
            "id": .string(note.id), "object": .string("credit_note"), "number": .string(note.number),
            "invoice": .string(note.invoiceID), "customer": .string(note.customerID), "status": .string(note.status.rawValue),
            "currency": currency(note.currency), "lines": .object(["data": .array(lines)]),
            "subtotal": money(note.totals.subtotal), "tax": money(note.totals.tax), "total": money(note.totals.total),
            "outcome": .string(note.outcome.rawValue), "refund": refund, "reason": .string(note.reason),
            "memo": .string(note.memo), "created_at": .date(note.createdAt), "voided_at": date(note.voidedAt),
        ])
    }

    public static func testClock(_ clock: TestClock) -> JSONValue {
        .object([
            "id": .string(clock.id), "object": .string("test_clock"), "name": .string(clock.name),
            "frozen_time": .date(clock.frozenTime), "status": .string(clock.status.rawValue),
            "created_at": .date(clock.createdAt),
        ])
    }

    public static func settings(_ settings: BillingSettings) -> JSONValue {
        .object([
            "object": .string("billing_settings"), "invoice_prefix": .string(settings.invoicePrefix),
            "rounding_mode": .string(settings.rounding.mode.apiName), "tax_rounding": .string(settings.rounding.tax.rawValue),
            "retry_days": .array(settings.retryDays.map { .int(Int64($0)) }),
            "after_retries": .string(settings.afterRetries.rawValue), "incomplete_hours": .int(Int64(settings.incompleteHours)),
            "max_growth_factor": .int(settings.maxGrowthFactor),
            "max_invoice_amounts": .object(
                Dictionary(uniqueKeysWithValues: settings.maxInvoiceAmounts.map { ($0.key.code.lowercased(), JSONValue.int($0.value)) })),
            "usage_grace_days": .int(Int64(settings.usageGraceDays)),
            "reminder_days_before_due": .array(settings.reminderDaysBeforeDue.map { .int(Int64($0)) }),
            "overdue_notice_days": .array(settings.overdueNoticeDays.map { .int(Int64($0)) }),
            "late_fee": settings.lateFee.map { fee in
                .object([
                    "flat_amounts": .object(Dictionary(uniqueKeysWithValues: fee.flat.map { ($0.key.code.lowercased(), JSONValue.int($0.value)) })),
                    "basis_points": .int(fee.basisPoints),
                ])
            } ?? .null,
        ])
    }
}

extension RoundingMode {
    /// The API's snake_case name (`half_even`).
    public var apiName: String {
        switch self {
        case .halfEven: "half_even"
        case .halfUp: "half_up"
        case .halfDown: "half_down"
        case .up: "up"
        case .down: "down"
        case .ceiling: "ceiling"
        case .floor: "floor"
        }
    }

    public init?(apiName: String) {
        guard let mode = Self.allCases.first(where: { $0.apiName == apiName }) else { return nil }
        self = mode
    }
}
