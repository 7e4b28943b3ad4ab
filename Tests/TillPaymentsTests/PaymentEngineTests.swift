import Foundation
import Logging
import SandboxSupport
import TillAudit
import TillCore
import TillCrypto
import TillGateway
import TillPayments
import TillStore
import TillTesting
import Testing

/// Cards by token, in memory: the engine sees only the protocol, as billing will.
struct MemoryCards: CardSource {
    let cards: [String: (merchant: String, number: String)]

    func brand(token: String, merchantID: String) async throws -> String? {
        guard let card = cards[token], card.merchant == merchantID else { return nil }
        return "visa"
    }

    func card(token: String, merchantID: String, purpose: String) async throws -> CardDetails {
        let number = cards[token]?.number ?? ""
        return CardDetails(
            number: SecureBytes(Array(number.utf8)), expiryMonth: 12, expiryYear: 2034, cvc: SecureBytes(Array("123".utf8)))
    }
}

/// The engine driven directly, without the HTTP server: a real SQLite store in a temporary
/// directory and the Stripe-like sandbox over loopback.
struct EngineHarness {
    let engine: PaymentEngine
    let store: Store
    let gateways: GatewayHarness
    let directory: String

    static func start() async throws -> EngineHarness {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("till-engine-\(UUID().uuidString)", isDirectory: true).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let database = try StoreDatabase.open(path: directory + "/till.sqlite", migrations: TillSchema.migrations)
        let store = Store(database: database)
        for merchant in ["m_1", "m_2"] { try await store.insert(merchant: MerchantRecord(id: merchant, name: merchant, createdAt: Date())) }
        let gateways = try await GatewayHarness.start(.stripe)
        let declined = TestCards.all.first { $0.behavior.decline == .insufficientFunds } ?? TestCards.approved
        let cards = MemoryCards(cards: [
            "tok_ok": ("m_1", TestCards.approved.number), "tok_declined": ("m_1", declined.number),
        ])
        let all = [gateways.gateway.name: gateways.gateway]
        var logger = Logger(label: "engine-tests")
        logger.logLevel = .critical
        let engine = PaymentEngine(
            store: store, cards: cards, gateways: all,
            router: GatewayRouter(
                gateways: all, routing: RoutingTable(rules: [], fallback: [gateways.gateway.name]), breaker: CircuitBreaker()),
            logger: logger)
        return EngineHarness(engine: engine, store: store, gateways: gateways, directory: directory)
    }

    func stop() async {
        await gateways.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func usd(_ cents: Int64) -> Money { Money(minorUnits: cents, currency: .usd) }
}

@Suite("TillPayments: the engine without the server")
struct PaymentEngineTests {
    @Test("a payment is created, captured and refunded by token, and saved")
    func lifecycle() async throws {
        let harness = try await EngineHarness.start()
        defer { Task { await harness.stop() } }
        let created = try await harness.engine.create(
            .init(amount: EngineHarness.usd(2_500), token: "tok_ok", captureMode: .manual), merchantID: "m_1")
        #expect(created.payment.status == .authorized)
        let captured = try await harness.engine.capture(paymentID: created.payment.id, merchantID: "m_1", amount: nil, final: nil)
        #expect(captured.payment.status == .captured)
        let (refunded, refund) = try await harness.engine.refund(
            paymentID: created.payment.id, merchantID: "m_1", amount: 1_000, reason: nil)
        #expect(refund.amount == EngineHarness.usd(1_000))
        #expect(refunded.payment.refunded == EngineHarness.usd(1_000))
        let stored = try #require(try await harness.store.payment(id: created.payment.id, merchantID: "m_1"))
        #expect(stored.version == refunded.record.version)
    }

    @Test("refusals are typed: not found, invalid token, state machine, gateway decline")
    func typedErrors() async throws {
        let harness = try await EngineHarness.start()
        defer { Task { await harness.stop() } }
        func reason(_ body: () async throws -> Void) async -> PaymentError.Reason? {
            do {
                try await body()
                return nil
            } catch let error as PaymentError {
                return error.reason
            } catch {
                Issue.record("not a PaymentError: \(error)")
                return nil
            }
        }
        // The public operations throw PaymentError and nothing else: this only compiles so.
        func typedLoad(_ id: String) async throws(PaymentError) -> PaymentEngine.Loaded {
            try await harness.engine.load(id, merchantID: "m_1")
        }
        await #expect(throws: PaymentError.self) { _ = try await typedLoad("pay_typed") }
        let missing = await reason { _ = try await harness.engine.load("pay_missing", merchantID: "m_1") }
        guard case .notFound(.payment, id: "pay_missing")? = missing else { Issue.record("\(String(describing: missing))"); return }

        // Another merchant's token is no token at all.
        let foreign = await reason {
            _ = try await harness.engine.create(.init(amount: EngineHarness.usd(100), token: "tok_ok", captureMode: .manual), merchantID: "m_2")
        }
        guard case .invalidParameter(param: "token", code: "token_invalid")? = foreign else { Issue.record("\(String(describing: foreign))"); return }

        let created = try await harness.engine.create(
            .init(amount: EngineHarness.usd(500), token: "tok_ok", captureMode: .manual), merchantID: "m_1")
        let overCapture = await reason {
            _ = try await harness.engine.capture(paymentID: created.payment.id, merchantID: "m_1", amount: 600, final: nil)
        }
        guard case .refused(let refusal)? = overCapture else { Issue.record("\(String(describing: overCapture))"); return }
        #expect(refusal.code == .amountExceedsLimit)

        // A declined authorization is a saved, failed payment (the API shows it with a 402);
        // the decline keeps Till's taxonomy and the gateway's own code.
        let declined = try await harness.engine.create(
            .init(amount: EngineHarness.usd(700), token: "tok_declined", captureMode: .automatic), merchantID: "m_1")
        #expect(declined.payment.status == .declined)
        #expect(declined.payment.authorization.failure?.code == .insufficientFunds)
        #expect(declined.payment.authorization.failure?.gatewayCode?.isEmpty == false)
        let voidFailed = await reason { _ = try await harness.engine.void(paymentID: declined.payment.id, merchantID: "m_1") }
        guard case .refused? = voidFailed else { Issue.record("\(String(describing: voidFailed))"); return }
    }
}
