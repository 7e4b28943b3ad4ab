import Foundation
import Logging
import SandboxSupport
import Synchronization
import TillCore
import TillGateway
import TillPayments
import TillStore
import TillTesting
import Testing

/// Cards that count their detokenizations: the engine detokenizes once per gateway
/// authorization attempt, so this counts the calls that no ledger shows (a decline moves no
/// money).
final class CountingCards: CardSource {
    let cards: MemoryCards
    private let count = Mutex(0)

    init(_ cards: [String: (merchant: String, number: String)]) { self.cards = MemoryCards(cards: cards) }

    var detokenizations: Int { count.withLock { $0 } }

    func brand(token: String, merchantID: String) async throws -> String? {
        try await cards.brand(token: token, merchantID: merchantID)
    }

    func card(token: String, merchantID: String, purpose: String) async throws -> CardDetails {
        count.withLock { $0 += 1 }
        return try await cards.card(token: token, merchantID: merchantID, purpose: purpose)
    }
}

extension EngineHarness {
    /// Another engine on the same store and gateway: a second daemon, which shares none of
    /// the first one's in-process locks.
    func engine(cards: any CardSource) -> PaymentEngine {
        let all = [gateways.gateway.name: gateways.gateway]
        var logger = Logger(label: "engine-tests")
        logger.logLevel = .critical
        return PaymentEngine(
            store: store, cards: cards, gateways: all,
            router: GatewayRouter(
                gateways: all, routing: RoutingTable(rules: [], fallback: [gateways.gateway.name]), breaker: CircuitBreaker()),
            logger: logger)
    }

    func authorizations() async throws -> [LedgerEntry] {
        try await gateways.admin.ledger().filter { $0.kind == .authorization }
    }
}

@Suite("TillPayments: caller idempotency keys and merchant-initiated charges")
struct CallerIdempotencyTests {
    static let cards: [String: (merchant: String, number: String)] = [
        "tok_ok": ("m_1", TestCards.approved.number), "tok_other": ("m_1", TestCards.approved.number),
        "tok_declined": ("m_1", TestCards.number(for: .declineInsufficientFunds)),
        "tok_3ds": ("m_1", TestCards.number(for: .requiresAuthentication)),
        "tok_m2": ("m_2", TestCards.approved.number),
    ]

    static func new(
        _ cents: Int64 = 2_500, token: String = "tok_ok", key: String?, initiator: ChargeInitiator = .customer
    ) -> PaymentEngine.NewPayment {
        .init(
            amount: EngineHarness.usd(cents), token: token, captureMode: .manual, initiator: initiator, idempotencyKey: key)
    }

    @Test("the same key twice makes one payment and one gateway call; the key is the merchant's own")
    func sameKeyTwice() async throws {
        let harness = try await EngineHarness.start()
        defer { Task { await harness.stop() } }
        let cards = CountingCards(Self.cards)
        let engine = harness.engine(cards: cards)
        let first = try await engine.create(Self.new(key: "inv_1-attempt-1"), merchantID: "m_1")
        #expect(first.payment.status == .authorized)
        let again = try await engine.create(Self.new(key: "inv_1-attempt-1"), merchantID: "m_1")
        #expect(again.payment.id == first.payment.id)
        #expect(again.payment.status == .authorized)
        #expect(again.record.version == first.record.version)
        #expect(try await harness.authorizations().count == 1)
        #expect(cards.detokenizations == 1)
        #expect(try await engine.payment(idempotencyKey: "inv_1-attempt-1", merchantID: "m_1")?.payment.id == first.payment.id)
        #expect(try await engine.payment(idempotencyKey: "inv_1-attempt-2", merchantID: "m_1") == nil)

        // Another merchant's key of the same spelling names nothing of m_1's.
        #expect(try await engine.payment(idempotencyKey: "inv_1-attempt-1", merchantID: "m_2") == nil)
        let theirs = try await engine.create(Self.new(token: "tok_m2", key: "inv_1-attempt-1"), merchantID: "m_2")
        #expect(theirs.payment.id != first.payment.id)
        #expect(try await harness.authorizations().count == 2)

        // A later key makes a new payment.
        let next = try await engine.create(Self.new(key: "inv_1-attempt-2"), merchantID: "m_1")
        #expect(next.payment.id != first.payment.id)
        // No key: every call is a payment of its own.
        let plain = try await engine.create(Self.new(key: nil), merchantID: "m_1")
        #expect(plain.payment.id != next.payment.id)
        #expect(try await harness.authorizations().count == 4)
    }

    @Test("the same key with another amount, currency or token is refused, and calls nothing")
    func reusedKey() async throws {
        let harness = try await EngineHarness.start()
        defer { Task { await harness.stop() } }
        let cards = CountingCards(Self.cards)
        let engine = harness.engine(cards: cards)
        _ = try await engine.create(Self.new(key: "inv_2-attempt-1"), merchantID: "m_1")
        let different: [PaymentEngine.NewPayment] = [
            Self.new(2_600, key: "inv_2-attempt-1"),
            .init(
                amount: Money(minorUnits: 2_500, currency: .eur), token: "tok_ok", captureMode: .manual,
                idempotencyKey: "inv_2-attempt-1"),
            Self.new(token: "tok_other", key: "inv_2-attempt-1"),
        ]
        for request in different {
            do {
                _ = try await engine.create(request, merchantID: "m_1")
                Issue.record("a reused key was accepted")
            } catch {
                guard case .invalidParameter(param: "idempotency_key", code: "idempotency_key_reused") = error.reason else {
                    Issue.record("\(error)")
                    continue
                }
            }
        }
        #expect(try await harness.authorizations().count == 1)
        #expect(cards.detokenizations == 1)

        for bad in ["", String(repeating: "k", count: 256), "inv 4242424242424242"] {
            await #expect(throws: PaymentError.self) { _ = try await engine.create(Self.new(key: bad), merchantID: "m_1") }
        }
    }

    @Test("concurrent calls with one key, in one daemon and in two, make one payment and one gateway call")
    func concurrentDuplicates() async throws {
        let harness = try await EngineHarness.start()
        defer { Task { await harness.stop() } }
        let cards = CountingCards(Self.cards)
        // Two engines on one store: their in-process locks know nothing of each other, so the
        // store's unique child key is what decides.
        let engines = [harness.engine(cards: cards), harness.engine(cards: cards)]
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<8 {
                group.addTask {
                    try await engines[index % 2].create(Self.new(key: "inv_3-attempt-1"), merchantID: "m_1").payment.id
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(ids.count == 1)
        let payments = try await harness.store.payments(merchantID: "m_1", status: nil, startingAfter: nil, limit: 100)
        #expect(payments.items.count == 1)
        #expect(try await harness.authorizations().count == 1)
        #expect(cards.detokenizations == 1)
    }

    @Test("a declined first attempt stays the declined payment; the gateway is not asked again")
    func declinedStaysDeclined() async throws {
        let harness = try await EngineHarness.start()
        defer { Task { await harness.stop() } }
        let cards = CountingCards(Self.cards)
        let engine = harness.engine(cards: cards)
        let first = try await engine.create(Self.new(token: "tok_declined", key: "inv_4-attempt-1"), merchantID: "m_1")
        #expect(first.payment.status == .declined)
        let again = try await engine.create(Self.new(token: "tok_declined", key: "inv_4-attempt-1"), merchantID: "m_1")
        #expect(again.payment.id == first.payment.id)
        #expect(again.payment.status == .declined)
        #expect(again.payment.authorization.failure?.code == .insufficientFunds)
        #expect(cards.detokenizations == 1)
    }

    @Test("the initiator reaches the gateway; a merchant-initiated charge on a 3-D Secure card declines")
    func initiatorPassesThrough() async throws {
        let harness = try await EngineHarness.start()
        defer { Task { await harness.stop() } }
        let engine = harness.engine(cards: CountingCards(Self.cards))
        for initiator in ChargeInitiator.allCases {
            let created = try await engine.create(Self.new(key: nil, initiator: initiator), merchantID: "m_1")
            #expect(created.payment.status == .authorized)
            let entry = try await harness.authorizations().first { $0.payment == created.record.gatewayPaymentReference }
            #expect(entry?.initiator == initiator.rawValue)
        }
        // On-session, the card asks for a challenge; off-session, nobody could answer one.
        let present = try await engine.create(Self.new(token: "tok_3ds", key: nil), merchantID: "m_1")
        #expect(present.payment.status == .requiresAction)
        let absent = try await engine.create(Self.new(token: "tok_3ds", key: nil, initiator: .merchant), merchantID: "m_1")
        #expect(absent.payment.status == .declined)
        #expect(absent.payment.authorization.failure?.code == .authenticationRequired)
        #expect(absent.payment.authorization.failure?.gatewayCode == "authentication_required")
    }
}
