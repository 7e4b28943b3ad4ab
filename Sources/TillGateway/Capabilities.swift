import TillCore

/// What a gateway can do. The engine checks these before any call, so an operation a
/// gateway cannot do is refused without touching the network.
public struct GatewayCapabilities: Sendable, Hashable {
    /// A capture for less than the authorized amount.
    public var partialCapture: Bool
    /// More than one capture against one authorization.
    public var multipleCaptures: Bool
    /// A refund for less than the captured amount.
    public var partialRefund: Bool
    /// More than one refund against one capture.
    public var multipleRefunds: Bool
    /// Releasing an authorization.
    public var void: Bool
    /// 3-D Secure challenges (a `requiresAction` authorization).
    public var threeDSecure: Bool
    /// Submitting evidence for and accepting disputes.
    public var disputes: Bool
    /// The currencies it accepts; `nil` means every ISO 4217 currency.
    public var currencies: Set<Currency>?

    public init(
        partialCapture: Bool = true, multipleCaptures: Bool = false, partialRefund: Bool = true,
        multipleRefunds: Bool = true, void: Bool = true, threeDSecure: Bool = false, disputes: Bool = false,
        currencies: Set<Currency>? = nil
    ) {
        self.partialCapture = partialCapture
        self.multipleCaptures = multipleCaptures
        self.partialRefund = partialRefund
        self.multipleRefunds = multipleRefunds
        self.void = void
        self.threeDSecure = threeDSecure
        self.disputes = disputes
        self.currencies = currencies
    }

    public func supports(_ currency: Currency) -> Bool {
        currencies?.contains(currency) ?? true
    }
}

/// An operation the engine refused because the gateway cannot do it.
public struct UnsupportedOperation: Error, Sendable, Hashable, CustomStringConvertible {
    public var gateway: String
    public var operation: String
    public var reason: String

    public var description: String { "\(gateway) cannot \(operation): \(reason)" }

    /// As a decline, for recording on a transaction.
    public var decline: Decline {
        Decline(code: .unsupported, gatewayCode: "unsupported", message: description)
    }
}

extension GatewayCapabilities {
    /// Why `gateway` cannot authorize `amount`, or `nil` when it can.
    public func refusal(authorizing amount: Money, gateway: String) -> UnsupportedOperation? {
        supports(amount.currency)
            ? nil
            : UnsupportedOperation(
                gateway: gateway, operation: "authorize", reason: "currency \(amount.currency.code) is not supported")
    }

    /// Why `gateway` cannot capture `amount` of an authorization of `authorized` of which
    /// `alreadyCaptured` was captured, or `nil` when it can.
    public func refusal(
        capturing amount: Money, authorized: Money, alreadyCaptured: Money, gateway: String
    ) -> UnsupportedOperation? {
        if alreadyCaptured.minorUnits > 0 && !multipleCaptures {
            return UnsupportedOperation(
                gateway: gateway, operation: "capture", reason: "it allows one capture per authorization")
        }
        if amount.minorUnits < authorized.minorUnits && !partialCapture {
            return UnsupportedOperation(
                gateway: gateway, operation: "capture", reason: "it does not capture less than the authorized amount")
        }
        return nil
    }

    /// Why `gateway` cannot refund `amount` of `captured` of which `alreadyRefunded` was
    /// refunded, or `nil` when it can.
    public func refusal(
        refunding amount: Money, captured: Money, alreadyRefunded: Money, gateway: String
    ) -> UnsupportedOperation? {
        if alreadyRefunded.minorUnits > 0 && !multipleRefunds {
            return UnsupportedOperation(gateway: gateway, operation: "refund", reason: "it allows one refund per capture")
        }
        if amount.minorUnits < captured.minorUnits && !partialRefund {
            return UnsupportedOperation(
                gateway: gateway, operation: "refund", reason: "it does not refund less than the captured amount")
        }
        return nil
    }

    /// Why `gateway` cannot void, or `nil` when it can.
    public func refusalToVoid(gateway: String) -> UnsupportedOperation? {
        void ? nil : UnsupportedOperation(gateway: gateway, operation: "void", reason: "it cannot release authorizations")
    }

    /// Why `gateway` cannot handle disputes, or `nil` when it can.
    public func refusalForDisputes(gateway: String) -> UnsupportedOperation? {
        disputes
            ? nil : UnsupportedOperation(gateway: gateway, operation: "respond to disputes", reason: "not supported")
    }
}
