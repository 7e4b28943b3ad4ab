import Foundation
import Logging
import TillAudit
import TillCore
import TillGateway
import TillStore

/// Drives payments through the state machine and the gateways, writing before it calls.
///
/// Every gateway call follows the same three steps, each its own durable commit:
/// 1. the state machine appends a `pending` transaction, which is saved with the gateway
///    idempotency key derivable from it;
/// 2. the gateway is called with that key;
/// 3. the outcome is applied and saved.
/// A crash between 1 and 3 leaves a `pending` transaction that reconciliation resolves by
/// asking the gateway, and the deterministic key means a repeated call cannot act twice.
/// Operations on one payment are serialised.
public final class PaymentEngine: Sendable {
    let store: any PaymentStore
    let cards: any CardSource
    let gateways: [String: any PaymentGateway]
    let router: GatewayRouter
    let now: @Sendable () -> Date
    let logger: Logger
    let audit: AuditTrail
    let locks = KeyedLock()
    /// When this process started: a `pending` transaction last touched before it was left
    /// by a previous process (a crash), so nothing here is still working on it.
    let startedAt: Date

    public init(
        store: any PaymentStore, cards: any CardSource, gateways: [String: any PaymentGateway], router: GatewayRouter,
        audit: AuditTrail? = nil, now: @escaping @Sendable () -> Date = { Date() }, logger: Logger
    ) {
        self.audit = audit ?? AuditTrail(log: nil, logger: logger)
        self.store = store
        self.cards = cards
        self.gateways = gateways
        self.router = router
        self.now = now
        self.logger = logger
        self.startedAt = now()
    }

    /// A payment as loaded: its row and its decoded state.
    public struct Loaded: Sendable {
        public var record: PaymentRecord
        public var payment: Payment
    }

    // MARK: Authorize

    public struct NewPayment: Sendable {
        public var amount: Money
        public var token: String
        public var captureMode: CaptureMode
        public var gateway: String?
        public var description: String?
        public var metadata: [String: String]
        /// Who starts the charge; the gateways flag a merchant-initiated one as such.
        public var initiator: ChargeInitiator
        /// The caller's own key for this payment, scoped to the merchant: a second `create`
        /// with it returns the payment the first made, and calls no gateway. Billing passes
        /// `inv_…-attempt-N`, so a crash or a second daemon never charges an attempt twice.
        public var idempotencyKey: String?

        public init(
            amount: Money, token: String, captureMode: CaptureMode, gateway: String? = nil, description: String? = nil,
            metadata: [String: String] = [:], initiator: ChargeInitiator = .customer, idempotencyKey: String? = nil
        ) {
            self.amount = amount
            self.token = token
            self.captureMode = captureMode
            self.gateway = gateway
            self.description = description
            self.metadata = metadata
            self.initiator = initiator
            self.idempotencyKey = idempotencyKey
        }
    }

    /// Creates and authorizes a payment (and captures it, for automatic capture).
    ///
    /// A declined authorization is no error: the payment is saved `declined`, and
    /// `authorization.failure` carries the decline taxonomy and the gateway's code. Throws
    /// ``PaymentError`` for what refuses the request itself (an unknown token, gateway or
    /// currency) and for a declined automatic capture.
    ///
    /// With ``NewPayment/idempotencyKey``, a payment made earlier under the key is returned as
    /// it stands (declined stays declined) without calling a gateway; the same key with
    /// another amount, currency or token is refused (`idempotency_key_reused`).
    public func create(_ request: NewPayment, merchantID: String) async throws(PaymentError) -> Loaded {
        try await typed {
            let idempotencyChildKey = try request.idempotencyKey.map { try Self.idempotencyChildKey($0, merchantID: merchantID) }
            if let idempotencyChildKey, let existing = try await existingPayment(idempotencyChildKey, merchantID: merchantID) {
                return try Self.matching(existing, request)
            }
            guard let brand = try await cards.brand(token: request.token, merchantID: merchantID) else {
                throw PaymentError(.invalidParameter(param: "token", code: "token_invalid"), "no such token")
            }
            if let preferred = request.gateway, gateways[preferred] == nil {
                throw PaymentError(.invalidParameter(param: "gateway", code: "parameter_invalid"), "no gateway is named \(preferred)")
            }
            let routing = RoutingContext(
                amount: request.amount, cardBrand: brand, merchantID: merchantID, preferredGateway: request.gateway)
            guard let first = router.candidates(for: routing).usable.first else {
                throw PaymentError(
                    .invalidParameter(param: "currency", code: "no_gateway"),
                    "no configured gateway can take a \(request.amount.currency.code) payment")
            }

            let id = Identifiers.make("pay")
            let authorizationID = Identifiers.make("txn")
            let date = now()
            let payment: Payment
            do {
                payment = try Payment(id: id, amount: request.amount, authorizationID: authorizationID, at: date)
            } catch let error as CheckoutError {
                throw PaymentError.refused(error)
            }
            let metadata = String(decoding: JSONValue.object(request.metadata.mapValues { .string($0) }).data, as: UTF8.self)
            var loaded = Loaded(
                record: PaymentRecord(
                    id: id, merchantId: merchantID, gateway: first.name, captureMode: request.captureMode.rawValue,
                    token: request.token, description: request.description, metadata: metadata, state: Data(), status: "",
                    amount: request.amount.minorUnits, currency: request.amount.currency.code.lowercased(), inFlight: true,
                    version: 1, createdAt: date, updatedAt: date),
                payment: payment)
            try stamp(&loaded, at: date)
            let claim = PaymentWrites.companion?.idempotencyRecord(forWriteOf: loaded)
            let write = PaymentWrite(
                payment: loaded.record, childKeys: [authorizationID] + (idempotencyChildKey.map { [$0] } ?? []),
                idempotencyClaim: claim)
            let firstCard: CardDetails
            if let idempotencyChildKey {
                // The key is taken in the same commit as the payment, or not at all: a
                // concurrent call with it (another task, another daemon) loses the insert
                // before it detokenizes (which would take the CVC) or calls anything, and
                // answers with the winner's payment.
                do {
                    try await store.insert(write)
                } catch let conflict as StoreConflict where conflict == .duplicateChildKey(key: idempotencyChildKey) {
                    guard let existing = try await existingPayment(idempotencyChildKey, merchantID: merchantID) else {
                        throw PaymentError(
                            .internalFailure(description: "StoreConflict"), "the payment under this idempotency key vanished")
                    }
                    return try Self.matching(existing, request)
                }
                if let claim { PaymentWrites.companion?.saved(claim) }
                firstCard = try await cards.card(token: request.token, merchantID: merchantID, purpose: "authorize \(id)")
            } else {
                // Both must be durable before the gateway call and neither needs the other, so the
                // detokenization (and its audit entry) is written while the pending authorization is:
                // one disk flush of waiting instead of two.
                async let detokenized = cards.card(token: request.token, merchantID: merchantID, purpose: "authorize \(id)")
                try await store.insert(write)
                if let claim { PaymentWrites.companion?.saved(claim) }
                firstCard = try await detokenized
            }

            let created = loaded
            return try await locks.withLock(id) {
                var current = created
                let authorization = current.payment.authorization
                let result = try await router.authorize(routing) { gateway, attempt in
                    var card = firstCard
                    if attempt > 1 {
                        // The previous gateway certainly did not process the request: the same
                        // pending authorization moves to the next one, durably, before the call.
                        current.record.gateway = gateway.name
                        try await self.save(&current, events: [])
                        card = try await self.cards.card(
                            token: request.token, merchantID: merchantID, purpose: "authorize \(id)")
                    }
                    return AuthorizeRequest(
                        reference: self.reference(current.payment, authorization), amount: request.amount, card: card,
                        captureMode: .manual, description: request.description,
                        metadata: request.metadata, initiator: request.initiator)
                }
                try await applyAuthorization(result, to: &current)
                if request.captureMode == .automatic, current.payment.status == .authorized {
                    try await captureLocked(&current, amount: nil, final: true)
                }
                return current
            }
        }
    }

    /// The payment a merchant made under `idempotencyKey` with ``create(_:merchantID:)``, or `nil`.
    public func payment(idempotencyKey: String, merchantID: String) async throws(PaymentError) -> Loaded? {
        try await typed {
            try await existingPayment(Self.idempotencyChildKey(idempotencyKey, merchantID: merchantID), merchantID: merchantID)
        }
    }

    /// The payment under an idempotency child key, once any operation on it running in this
    /// process has finished (the first `create` still calling its gateway, say), so the
    /// answer is as settled as it can be here.
    private func existingPayment(_ childKey: String, merchantID: String) async throws -> Loaded? {
        guard let record = try await store.payment(childKey: childKey), record.merchantId == merchantID else { return nil }
        return try await locks.withLock(record.id) {
            guard let fresh = try await self.store.payment(id: record.id, merchantID: merchantID) else { return nil }
            return try Self.decode(fresh)
        }
    }

    /// The child key that records a caller's idempotency key: the prefix keeps it apart from
    /// Till's ids and the gateways' references, and the merchant id scopes it to its merchant.
    static func idempotencyChildKey(_ key: String, merchantID: String) throws(PaymentError) -> String {
        // Bytes, not characters, as for the API's Idempotency-Key; and a key is stored as it
        // is, so no card number may ride in it.
        guard !key.isEmpty, key.utf8.count <= 255, !PANScreen.containsCardNumber(key) else {
            throw PaymentError(
                .invalidParameter(param: "idempotency_key", code: "parameter_invalid"),
                "an idempotency key is 1 to 255 bytes and holds no card number")
        }
        return "idem:\(merchantID):\(key)"
    }

    /// The payment made earlier under the request's key, if it is the same request.
    private static func matching(_ existing: Loaded, _ request: NewPayment) throws(PaymentError) -> Loaded {
        let record = existing.record
        guard record.amount == request.amount.minorUnits, record.currency == request.amount.currency.code.lowercased(),
            record.token == request.token
        else {
            throw PaymentError(
                .invalidParameter(param: "idempotency_key", code: "idempotency_key_reused"),
                "this idempotency key was already used for payment \(record.id) with a different amount, currency or token")
        }
        return existing
    }

    private func applyAuthorization(_ result: GatewayRouter.Result, to loaded: inout Loaded) async throws {
        let authorization = loaded.payment.authorization
        let outcome: TransactionOutcome
        switch result.final?.outcome {
        case .succeeded(let value)?:
            loaded.record.gatewayPaymentReference = value.gatewayPaymentReference
            loaded.record.gatewayAuthorizationReference = value.gatewayAuthorizationReference
            switch value.state {
            case .authorized, .captured:
                outcome = .succeeded(gatewayReference: value.gatewayAuthorizationReference ?? value.gatewayPaymentReference)
            case .requiresAction(let url):
                loaded.record.nextActionURL = url
                outcome = .requiresAction
            }
        case .declined(let decline)?:
            loaded.record.gatewayPaymentReference = decline.gatewayReference ?? loaded.record.gatewayPaymentReference
            outcome = .failed(decline.transactionFailure)
        case .notProcessed(let failure)?:
            outcome = .failed(
                TransactionFailure(code: .processingError, gatewayCode: "not_processed", gatewayMessage: failure.description))
        case .unknown?:
            outcome = .unknown
        case nil:
            let reasons = result.skipped.map { "\($0.gateway): \($0.reason)" }.joined(separator: "; ")
            outcome = .failed(
                TransactionFailure(code: .processingError, gatewayCode: "no_gateway_available", gatewayMessage: reasons))
        }
        try resolve(&loaded, authorization.id, outcome)
        if case .succeeded(let value)? = result.final?.outcome, case .captured(let captureReference) = value.state {
            // A gateway that captured at once: record what it did.
            _ = try? loaded.payment.recordCapture(
                transactionID: Identifiers.make("txn"), amount: value.amount, gatewayReference: captureReference, final: true,
                at: now())
        }
        // Gateway events name the gateway's payment; let them find ours.
        let keys = [loaded.record.gatewayPaymentReference, loaded.record.gatewayAuthorizationReference].compactMap { $0 }
        try await save(&loaded, childKeys: keys, events: [])
    }

    // MARK: Capture, void, refund

    public func capture(paymentID: String, merchantID: String, amount: Int64?, final: Bool?) async throws(PaymentError) -> Loaded {
        try await typed {
            try await locks.withLock(paymentID) {
                var loaded = try await load(paymentID, merchantID: merchantID)
                try await captureLocked(&loaded, amount: amount, final: final ?? true)
                return loaded
            }
        }
    }

    func captureLocked(_ loaded: inout Loaded, amount: Int64?, final: Bool) async throws {
        let date = now()
        let transaction: Transaction
        do {
            transaction = try loaded.payment.beginCapture(
                transactionID: Identifiers.make("txn"), amount: amount.map { Money(minorUnits: $0, currency: loaded.payment.currency) },
                final: final, at: date)
        } catch {
            throw PaymentError.refused(error)
        }
        try await save(&loaded, childKeys: [transaction.id], events: [])
        let gateway = try gateway(for: loaded)
        let outcome = await gateway.checkedCapture(
            CaptureRequest(
                reference: reference(loaded.payment, transaction),
                gatewayPaymentReference: loaded.record.gatewayPaymentReference ?? "",
                gatewayAuthorizationReference: loaded.record.gatewayAuthorizationReference, amount: transaction.amount,
                isFinal: transaction.isFinalCapture),
            of: loaded.payment)
        try resolve(&loaded, transaction.id, Self.transactionOutcome(outcome) { $0.captureReference })
        try await save(&loaded, childKeys: outcome.reference { $0.captureReference }.map { [$0] } ?? [], events: [])
        try Self.throwIfRefused(outcome, loaded: loaded)
    }

    public func void(paymentID: String, merchantID: String) async throws(PaymentError) -> Loaded {
        try await typed {
            try await locks.withLock(paymentID) {
                var loaded = try await load(paymentID, merchantID: merchantID)
                let transaction: Transaction
                do {
                    transaction = try loaded.payment.beginVoid(transactionID: Identifiers.make("txn"), at: now())
                } catch let error as CheckoutError {
                    throw PaymentError.refused(error)
                }
                try await save(&loaded, childKeys: [transaction.id], events: [])
                let outcome = try await gateway(for: loaded).checkedVoid(
                    VoidRequest(
                        reference: reference(loaded.payment, transaction),
                        gatewayPaymentReference: loaded.record.gatewayPaymentReference ?? "",
                        gatewayAuthorizationReference: loaded.record.gatewayAuthorizationReference))
                try resolve(&loaded, transaction.id, Self.transactionOutcome(outcome) { $0.gatewayReference })
                try await save(&loaded, events: [])
                try Self.throwIfRefused(outcome, loaded: loaded)
                return loaded
            }
        }
    }

    public func refund(paymentID: String, merchantID: String, amount: Int64?, reason: String?) async throws(PaymentError) -> (Loaded, Transaction) {
        try await typed {
            try await locks.withLock(paymentID) {
                var loaded = try await load(paymentID, merchantID: merchantID)
                let transaction: Transaction
                do {
                    transaction = try loaded.payment.beginRefund(
                        transactionID: Identifiers.make("txn"),
                        amount: amount.map { Money(minorUnits: $0, currency: loaded.payment.currency) }, at: now())
                } catch let error as CheckoutError {
                    throw PaymentError.refused(error)
                }
                try await save(&loaded, childKeys: [transaction.id], events: [])
                // Refund from the latest capture; gateways that refund per payment ignore it.
                let capture = loaded.payment.transactions.last { $0.kind == .capture && $0.status == .succeeded }
                let outcome = try await gateway(for: loaded).checkedRefund(
                    RefundRequest(
                        reference: reference(loaded.payment, transaction),
                        gatewayPaymentReference: loaded.record.gatewayPaymentReference ?? "",
                        gatewayCaptureReference: capture?.gatewayReference, amount: transaction.amount, reason: reason),
                    of: loaded.payment)
                if case .succeeded(let result) = outcome, result.state == .pending {
                    // Accepted but not settled: stays pending until a webhook or reconciliation.
                    loaded.record.updatedAt = now()
                } else {
                    try resolve(&loaded, transaction.id, Self.transactionOutcome(outcome) { $0.refundReference })
                }
                try await save(&loaded, childKeys: outcome.reference { $0.refundReference }.map { [$0] } ?? [], events: [])
                try Self.throwIfRefused(outcome, loaded: loaded)
                return (loaded, loaded.payment.transaction(id: transaction.id) ?? transaction)
            }
        }
    }

    // MARK: Reading

    public func load(_ paymentID: String, merchantID: String) async throws(PaymentError) -> Loaded {
        try await typed {
            guard let record = try await store.payment(id: paymentID, merchantID: merchantID) else {
                throw PaymentError.notFound(.payment, id: paymentID)
            }
            return try Self.decode(record)
        }
    }

    public static func decode(_ record: PaymentRecord) throws(PaymentError) -> Loaded {
        do {
            return Loaded(record: record, payment: try Self.decoder.decode(Payment.self, from: record.state))
        } catch {
            throw PaymentError(.internalFailure(description: "\(error)"), "payment \(record.id) does not decode")
        }
    }

    /// Runs a public operation: its refusals are already ``PaymentError``s; anything else
    /// (the disk, the vault) becomes ``PaymentError/Reason/internalFailure(description:)``.
    func typed<T>(_ body: () async throws -> T) async throws(PaymentError) -> T {
        do {
            return try await body()
        } catch let error as PaymentError {
            throw error
        } catch {
            logger.error("payment operation failed", metadata: ["error": "\(String(reflecting: error))"])
            throw PaymentError(
                .internalFailure(description: String(describing: type(of: error))), "the operation could not be completed")
        }
    }

    // MARK: Shared steps

    func gateway(for loaded: Loaded) throws(PaymentError) -> any PaymentGateway {
        guard let gateway = gateways[loaded.record.gateway] else {
            throw PaymentError(
                .gatewayNotConfigured, "the payment's gateway \(loaded.record.gateway) is not configured in this daemon",
                gateway: loaded.record.gateway)
        }
        return gateway
    }

    func reference(_ payment: Payment, _ transaction: Transaction) -> TransactionReference {
        TransactionReference(
            paymentID: payment.id, transactionID: transaction.id, idempotencyKey: payment.idempotencyKey(for: transaction))
    }

    func resolve(_ loaded: inout Loaded, _ transactionID: String, _ outcome: TransactionOutcome) throws {
        do {
            _ = try loaded.payment.resolve(transaction: transactionID, outcome: outcome, at: now())
        } catch {
            logger.error(
                "gateway outcome contradicts the payment",
                metadata: ["payment": "\(loaded.payment.id)", "transaction": "\(transactionID)", "error": "\(error.message)"])
            throw PaymentError.refused(error)
        }
    }

    /// Saves the payment (bumping its version) with the events its status change causes.
    func save(
        _ loaded: inout Loaded, childKeys: [String] = [], events extra: [EventRecord],
        gatewayEvent: (gateway: String, eventID: String)? = nil
    ) async throws {
        let previousStatus = loaded.record.status
        let date = now()
        try stamp(&loaded, at: date)
        var events = extra
        if loaded.record.status != previousStatus {
            events.append(try event("payment.\(loaded.record.status)", loaded, at: date))
        }
        let expected = loaded.record.version
        let claim = PaymentWrites.companion?.idempotencyRecord(forWriteOf: loaded)
        let write = PaymentWrite(
            payment: loaded.record, childKeys: childKeys, events: events, gatewayEvent: gatewayEvent,
            idempotencyClaim: claim)
        let transition = ["from": previousStatus, "to": loaded.record.status, "gateway": loaded.record.gateway]
        func audited(_ result: AuditResult, _ details: [String: String]) async {
            await audit.record(
                actor: gatewayEvent.map { "gateway:\($0.gateway)" } ?? "till.engine", action: .paymentTransition,
                subject: write.payment.id, result: result, origin: write.payment.merchantId, details: details)
        }
        if loaded.record.status == previousStatus {
            try await store.update(write, expectedVersion: expected)
        } else if gatewayEvent == nil {
            // The engine's own step, under the payment's lock: nothing else can move the
            // version, so the commit fails only if the disk does. The audit entry is made
            // durable alongside it (one flush of waiting, not two); should the commit fail
            // after all, a second entry says so.
            async let recorded: Void = audited(.success, transition)
            do {
                try await store.update(write, expectedVersion: expected)
            } catch {
                await recorded
                await audited(.failure, transition.merging(["error": "the transition was not saved"]) { $1 })
                throw error
            }
            await recorded
        } else {
            // A gateway event may be a redelivery the store refuses: record only what was saved.
            try await store.update(write, expectedVersion: expected)
            await audited(.success, transition)
        }
        if let claim { PaymentWrites.companion?.saved(claim) }
        loaded.record.version = expected + 1
    }

    /// Copies the state machine's view into the row.
    private func stamp(_ loaded: inout Loaded, at date: Date) throws {
        loaded.record.state = try Self.encoder.encode(loaded.payment)
        loaded.record.status = loaded.payment.status.apiName
        // Also "in flight" while an automatic-capture payment still owes its capture (a crash
        // between the authorization and the capture), so reconciliation finishes the job.
        loaded.record.inFlight = loaded.payment.transactions.contains { $0.status.isInFlight } || Self.owesCapture(loaded)
        if loaded.payment.status != .requiresAction { loaded.record.nextActionURL = nil }
        loaded.record.updatedAt = date
    }

    /// An event about the payment, as the API and merchant webhooks show it.
    func event(_ type: String, _ loaded: Loaded, at date: Date) throws -> EventRecord {
        let id = Identifiers.make("evt")
        let body: JSONValue = .object([
            "id": .string(id), "object": .string("event"), "type": .string(type), "created_at": .date(date),
            "data": .object(["object": PaymentView.json(loaded)]),
        ])
        return EventRecord(
            id: id, merchantId: loaded.record.merchantId, type: type, paymentId: loaded.record.id, body: body.data,
            createdAt: date)
    }

    /// An automatic-capture payment that is authorized and has not attempted its capture.
    static func owesCapture(_ loaded: Loaded) -> Bool {
        loaded.record.captureMode == CaptureMode.automatic.rawValue && loaded.payment.status == .authorized
            && !loaded.payment.transactions.contains { $0.kind == .capture }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static let decoder = JSONDecoder()

    /// The state machine's view of a gateway outcome. `notProcessed` fails the transaction:
    /// the gateway certainly did nothing, so the caller may simply try again.
    static func transactionOutcome<T>(_ outcome: GatewayOutcome<T>, reference: (T) -> String?) -> TransactionOutcome {
        switch outcome {
        case .succeeded(let value): .succeeded(gatewayReference: reference(value))
        case .declined(let decline): .failed(decline.transactionFailure)
        case .notProcessed(let failure):
            .failed(TransactionFailure(code: .processingError, gatewayCode: "not_processed", gatewayMessage: failure.description))
        case .unknown: .unknown
        }
    }

    /// Throws the gateway's refusal (the payment is already saved, and goes with the error).
    /// An unknown outcome is no error here: the payment stays pending for reconciliation.
    static func throwIfRefused<T>(_ outcome: GatewayOutcome<T>, loaded: Loaded) throws(PaymentError) {
        if let error = PaymentError.refusal(
            outcome, gateway: loaded.record.gateway, payment: loaded, unknownIsError: false, subject: "nothing was charged")
        {
            throw error
        }
    }
}

extension GatewayOutcome {
    /// The success's reference, if it succeeded.
    func reference(_ pick: (Success) -> String?) -> String? { value.flatMap(pick) }
}
