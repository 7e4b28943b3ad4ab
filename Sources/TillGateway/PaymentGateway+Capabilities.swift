import TillCore

extension PaymentGateway {
    /// Authorizes, unless the gateway cannot take the currency: then the refusal comes back
    /// as a decline (`unsupported`) and no call is made.
    public func checkedAuthorize(_ request: AuthorizeRequest) async -> GatewayOutcome<AuthorizationResult> {
        if let refusal = capabilities.refusal(authorizing: request.amount, gateway: name) {
            return .declined(refusal.decline)
        }
        return await authorize(request)
    }

    /// Captures, unless the gateway cannot do this capture of `payment` (a partial or a
    /// second capture it does not support): then no call is made.
    ///
    /// `payment` may already hold the pending transaction for this request (written before
    /// the call); it is not counted as an earlier capture.
    public func checkedCapture(_ request: CaptureRequest, of payment: Payment) async -> GatewayOutcome<CaptureResult> {
        let earlier = Self.liveAmount(of: .capture, in: payment, excluding: request.reference.transactionID)
        if let refusal = capabilities.refusal(
            capturing: request.amount, authorized: payment.amount, alreadyCaptured: earlier, gateway: name)
        {
            return .declined(refusal.decline)
        }
        return await capture(request)
    }

    /// Refunds, unless the gateway cannot do this refund of `payment` (a partial or a second
    /// refund it does not support): then no call is made.
    public func checkedRefund(_ request: RefundRequest, of payment: Payment) async -> GatewayOutcome<RefundResult> {
        let earlier = Self.liveAmount(of: .refund, in: payment, excluding: request.reference.transactionID)
        if let refusal = capabilities.refusal(
            refunding: request.amount, captured: payment.captured, alreadyRefunded: earlier, gateway: name)
        {
            return .declined(refusal.decline)
        }
        return await refund(request)
    }

    /// Voids, unless the gateway cannot release authorizations.
    public func checkedVoid(_ request: VoidRequest) async -> GatewayOutcome<VoidResult> {
        if let refusal = capabilities.refusalToVoid(gateway: name) { return .declined(refusal.decline) }
        return await void(request)
    }

    /// Submits dispute evidence, unless the gateway does not handle disputes.
    public func checkedSubmitDisputeEvidence(_ request: DisputeEvidenceRequest) async -> GatewayOutcome<DisputeResult> {
        if let refusal = capabilities.refusalForDisputes(gateway: name) { return .declined(refusal.decline) }
        return await submitDisputeEvidence(request)
    }

    /// Accepts a dispute, unless the gateway does not handle disputes.
    public func checkedAcceptDispute(_ request: DisputeAcceptRequest) async -> GatewayOutcome<DisputeResult> {
        if let refusal = capabilities.refusalForDisputes(gateway: name) { return .declined(refusal.decline) }
        return await acceptDispute(request)
    }

    /// What earlier operations of `kind` moved or may still move (succeeded or in flight),
    /// leaving out `transactionID`.
    private static func liveAmount(of kind: TransactionKind, in payment: Payment, excluding transactionID: String) -> Money {
        let units = payment.transactions
            .filter { $0.kind == kind && $0.status != .failed && $0.id != transactionID }
            .reduce(Int64(0)) { $0 &+ $1.amount.minorUnits }
        return Money(minorUnits: units, currency: payment.currency)
    }
}
