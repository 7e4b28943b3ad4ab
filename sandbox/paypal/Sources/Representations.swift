import Foundation
import SandboxSupport
import TillCore

/// Renders the gateway's records in PayPal's shapes (`order`, `authorization-2`,
/// `capture-2`, `refund`, `dispute`), with absolute HATEOAS links.
struct Renderer {
    var base: String

    private func link(_ path: String, _ rel: String, _ method: String = "GET") -> JSON {
        .object([("href", .string(base + path)), ("rel", .string(rel)), ("method", .string(method))])
    }

    private static let sellerProtection: JSON = .object([
        ("status", .string("ELIGIBLE")),
        ("dispute_categories", .array([.string("ITEM_NOT_RECEIVED"), .string("UNAUTHORIZED_TRANSACTION")])),
    ])

    private static func processor(_ code: String) -> JSON {
        let approved = code == "0000"
        return .object([
            ("avs_code", .string(approved ? "Y" : "N")),
            ("cvv_code", .string(code == "5110" ? "N" : "M")),
            ("response_code", .string(code)),
        ])
    }

    /// `{id, status, links}`: what `Prefer: return=minimal` asks for.
    static func minimal(_ full: JSON) -> JSON {
        .object(["id": full["id"], "status": full["status"], "links": full["links"]])
    }

    func authorization(_ auth: AuthorizationRecord, inOrder: Bool = false) -> JSON {
        let path = "/v2/payments/authorizations/\(auth.id)"
        var links = [link(path, "self")]
        if auth.status == "CREATED" || auth.status == "PARTIALLY_CAPTURED" {
            links.append(link(path + "/capture", "capture", "POST"))
            links.append(link(path + "/void", "void", "POST"))
            if auth.status == "CREATED" { links.append(link(path + "/reauthorize", "reauthorize", "POST")) }
        }
        links.append(link("/v2/checkout/orders/\(auth.orderID)", "up"))
        return .object([
            "id": .string(auth.id),
            "status": .string(auth.status),
            "amount": auth.amount.paypalJSON,
            "invoice_id": auth.invoiceID.map(JSON.string),
            "custom_id": auth.customID.map(JSON.string),
            "seller_protection": Self.sellerProtection,
            "expiration_time": .string(auth.expirationTime.paypalString),
            "processor_response": inOrder ? Self.processor(auth.processorCode) : nil,
            "supplementary_data": inOrder
                ? nil : .object([("related_ids", .object([("order_id", .string(auth.orderID))]))]),
            "links": .array(links),
            "create_time": .string(auth.createTime.paypalString),
            "update_time": .string(auth.updateTime.paypalString),
        ])
    }

    func capture(_ capture: CaptureRecord, inOrder: Bool = false) -> JSON {
        let path = "/v2/payments/captures/\(capture.id)"
        var links = [link(path, "self")]
        if capture.status == "COMPLETED" || capture.status == "PARTIALLY_REFUNDED" {
            links.append(link(path + "/refund", "refund", "POST"))
        }
        if let authorization = capture.authorizationID {
            links.append(link("/v2/payments/authorizations/\(authorization)", "up"))
        } else {
            links.append(link("/v2/checkout/orders/\(capture.orderID)", "up"))
        }
        var related: [(String, JSON)] = [("order_id", .string(capture.orderID))]
        if let authorization = capture.authorizationID { related.append(("authorization_id", .string(authorization))) }
        return .object([
            "id": .string(capture.id),
            "status": .string(capture.status),
            "amount": capture.amount.paypalJSON,
            "final_capture": .bool(capture.finalCapture),
            "invoice_id": capture.invoiceID.map(JSON.string),
            "custom_id": capture.customID.map(JSON.string),
            "seller_protection": Self.sellerProtection,
            // The sandbox charges no fees, so reconciliation is exact.
            "seller_receivable_breakdown": .object([
                ("gross_amount", capture.amount.paypalJSON),
                ("paypal_fee", Money.zero(capture.amount.currency).paypalJSON),
                ("net_amount", capture.amount.paypalJSON),
            ]),
            "processor_response": Self.processor(capture.processorCode),
            "supplementary_data": inOrder ? nil : .object([("related_ids", .object(related))]),
            "links": .array(links),
            "create_time": .string(capture.createTime.paypalString),
            "update_time": .string(capture.updateTime.paypalString),
        ])
    }

    func refund(_ refund: RefundRecord, totalRefunded: Money? = nil) -> JSON {
        let path = "/v2/payments/refunds/\(refund.id)"
        return .object([
            "id": .string(refund.id),
            "status": .string(refund.status),
            "amount": refund.amount.paypalJSON,
            "invoice_id": refund.invoiceID.map(JSON.string),
            "custom_id": refund.customID.map(JSON.string),
            "note_to_payer": refund.noteToPayer.map(JSON.string),
            "seller_payable_breakdown": .object([
                "gross_amount": refund.amount.paypalJSON,
                "paypal_fee": Money.zero(refund.amount.currency).paypalJSON,
                "net_amount": refund.amount.paypalJSON,
                "total_refunded_amount": totalRefunded?.paypalJSON,
            ]),
            "links": .array([link(path, "self"), link("/v2/payments/captures/\(refund.captureID)", "up")]),
            "create_time": .string(refund.createTime.paypalString),
            "update_time": .string(refund.updateTime.paypalString),
        ])
    }

    func order(_ order: OrderRecord, in state: GatewayState) -> JSON {
        let path = "/v2/checkout/orders/\(order.id)"
        var links = [link(path, "self")]
        switch order.status {
        case "CREATED":
            links.append(link("/_sandbox/checkout/\(order.id)/approve", "approve"))
        case "PAYER_ACTION_REQUIRED":
            links.append(link("/_sandbox/3ds/\(order.id)", "payer-action"))
        case "APPROVED":
            let action = order.intent == .capture ? "capture" : "authorize"
            links.append(link("\(path)/\(action)", action, "POST"))
        default:
            break
        }
        var payments: [(String, JSON)] = []
        let authorizations = order.authorizationIDs.compactMap { state.authorizations[$0] }
        if !authorizations.isEmpty {
            payments.append(("authorizations", .array(authorizations.map { authorization($0, inOrder: true) })))
        }
        let captures = order.captureIDs.compactMap { state.captures[$0] }
        if !captures.isEmpty {
            payments.append(("captures", .array(captures.map { capture($0, inOrder: true) })))
        }
        let refunds = captures.flatMap { $0.refundIDs }.compactMap { state.refunds[$0] }
        if !refunds.isEmpty { payments.append(("refunds", .array(refunds.map { refund($0) }))) }

        let source: JSON?
        if let card = order.card {
            source = .object([
                (
                    "card",
                    .object([
                        "name": card.name.map(JSON.string),
                        "last_digits": .string(card.lastDigits),
                        "brand": Self.brandName(card.brand).map(JSON.string),
                        "type": .string("CREDIT"),
                        "expiry": .string(card.expiry),
                    ])
                )
            ])
        } else if order.walletApproved {
            source = .object([
                (
                    "paypal",
                    .object([
                        ("email_address", .string("sb-buyer@personal.example.com")),
                        ("account_id", .string("SANDBOXBUYER1")),
                        ("account_status", .string("VERIFIED")),
                    ])
                )
            ])
        } else {
            source = nil
        }
        let unit: JSON = .object([
            "reference_id": .string(order.referenceID),
            "amount": order.amount.paypalJSON,
            "description": order.description.map(JSON.string),
            "custom_id": order.customID.map(JSON.string),
            "invoice_id": order.invoiceID.map(JSON.string),
            "soft_descriptor": order.softDescriptor.map(JSON.string),
            "payments": payments.isEmpty ? nil : .object(payments),
        ])
        return .object([
            "id": .string(order.id),
            "intent": .string(order.intent.rawValue),
            "status": .string(order.status),
            "payment_source": source,
            "purchase_units": .array([unit]),
            "create_time": .string(order.createTime.paypalString),
            "update_time": .string(order.updateTime.paypalString),
            "links": .array(links),
        ])
    }

    /// PayPal's `card_brand`; Diners Club cards run on the Discover network.
    static func brandName(_ brand: CardBrand?) -> String? {
        switch brand {
        case .visa: "VISA"
        case .mastercard: "MASTERCARD"
        case .amex: "AMEX"
        case .discover: "DISCOVER"
        case .jcb: "JCB"
        case .diners: "DISCOVER"
        case .unionpay: "CHINA_UNION_PAY"
        case nil: nil
        }
    }

    /// PayPal's `subsequent_action`: what provide-evidence and accept-claim answer.
    func subsequentAction(dispute id: String) -> JSON {
        .object([("links", .array([link("/v1/customer/disputes/\(id)", "self")]))])
    }

    func dispute(_ dispute: DisputeRecord) -> JSON {
        let reason: String =
            switch dispute.reason {
            case .fraudulent: "UNAUTHORISED"
            case .productNotReceived: "MERCHANDISE_OR_SERVICE_NOT_RECEIVED"
            case .general: "OTHER"
            }
        let status: String =
            dispute.merchantWon != nil
            ? "RESOLVED"
            : dispute.stage == .inquiry && dispute.evidence.isEmpty ? "WAITING_FOR_SELLER_RESPONSE" : "UNDER_REVIEW"
        let path = "/v1/customer/disputes/\(dispute.id)"
        var links = [link(path, "self")]
        if dispute.merchantWon == nil {
            links.append(link(path + "/provide-evidence", "provide_evidence", "POST"))
            links.append(link(path + "/accept-claim", "accept_claim", "POST"))
        }
        let outcome: JSON? = dispute.merchantWon.map { won in
            .object([
                "outcome_code": .string(won ? "RESOLVED_SELLER_FAVOUR" : dispute.accepted ? "ACCEPTED" : "RESOLVED_BUYER_FAVOUR"),
                "amount_refunded": won ? nil : dispute.amount.paypalJSON,
            ])
        }
        return .object([
            "dispute_id": .string(dispute.id),
            "create_time": .string(dispute.createTime.paypalString),
            "update_time": .string(dispute.updateTime.paypalString),
            "disputed_transactions": .array([
                .object([
                    "seller_transaction_id": .string(dispute.captureID),
                    "gross_amount": dispute.amount.paypalJSON,
                    "invoice_number": dispute.invoiceID.map(JSON.string),
                    "custom": dispute.customID.map(JSON.string),
                ])
            ]),
            "reason": .string(reason),
            "status": .string(status),
            "dispute_amount": dispute.amount.paypalJSON,
            "dispute_outcome": outcome,
            "dispute_life_cycle_stage": .string(dispute.stage == .inquiry ? "INQUIRY" : "CHARGEBACK"),
            "dispute_channel": .string(dispute.stage == .inquiry ? "INTERNAL" : "EXTERNAL"),
            "links": .array(links),
        ])
    }
}
