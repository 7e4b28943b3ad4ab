import Foundation
import SandboxSupport
import Testing

@Suite("Idempotency store")
struct IdempotencyStoreTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let response = StoredResponse(
        status: 200, headers: [.init(name: "Content-Type", value: "application/json")], body: Array("{}".utf8))

    @Test("first use proceeds, a concurrent duplicate is in flight, a replay returns the stored response")
    func lifecycle() {
        let store = IdempotencyStore()
        #expect(store.begin(scope: "sk_1", key: "k", fingerprint: "a", now: now) == .proceed)
        #expect(store.begin(scope: "sk_1", key: "k", fingerprint: "a", now: now) == .inFlight)
        store.complete(scope: "sk_1", key: "k", response: response, now: now)
        #expect(store.begin(scope: "sk_1", key: "k", fingerprint: "a", now: now) == .replay(response))
    }

    @Test("the same key with other parameters is a mismatch, before and after completion")
    func mismatch() {
        let store = IdempotencyStore()
        #expect(store.begin(scope: "s", key: "k", fingerprint: "a", now: now) == .proceed)
        #expect(store.begin(scope: "s", key: "k", fingerprint: "b", now: now) == .mismatch)
        store.complete(scope: "s", key: "k", response: response, now: now)
        #expect(store.begin(scope: "s", key: "k", fingerprint: "b", now: now) == .mismatch)
    }

    @Test("keys are scoped, abandoned keys run afresh, and old keys expire")
    func scopeAbandonExpiry() {
        let store = IdempotencyStore(retention: 60)
        #expect(store.begin(scope: "s1", key: "k", fingerprint: "a", now: now) == .proceed)
        #expect(store.begin(scope: "s2", key: "k", fingerprint: "b", now: now) == .proceed)
        store.abandon(scope: "s1", key: "k")
        #expect(store.begin(scope: "s1", key: "k", fingerprint: "c", now: now) == .proceed)
        store.complete(scope: "s1", key: "k", response: response, now: now)
        #expect(store.begin(scope: "s1", key: "k", fingerprint: "d", now: now.addingTimeInterval(61)) == .proceed)
    }
}

@Suite("Fault rules")
struct FaultInjectorTests {
    @Test("a counted rule fires that many times on matching calls only, then retires")
    func counted() {
        let faults = FaultInjector()
        faults.add(FaultRule(kind: .error, status: 503, count: 2, path: "/v1/payment_intents", method: "POST"))
        #expect(faults.take(method: "GET", path: "/v1/payment_intents") == nil)
        #expect(faults.take(method: "POST", path: "/v1/refunds") == nil)
        #expect(faults.take(method: "post", path: "/v1/payment_intents/pi_1/capture")?.status == 503)
        #expect(faults.take(method: "POST", path: "/v1/payment_intents")?.status == 503)
        #expect(faults.take(method: "POST", path: "/v1/payment_intents") == nil)
        #expect(faults.active.isEmpty)
    }

    @Test("invalid rules say what is wrong", arguments: [
        FaultRule(kind: .latency), FaultRule(kind: .latency, latencyMilliseconds: -1),
        FaultRule(kind: .error, status: 404), FaultRule(kind: .error, count: 0),
        FaultRule(kind: .dropAfterCommit, share: 0), FaultRule(kind: .dropAfterCommit, share: 1.5),
    ])
    func invalid(rule: FaultRule) {
        #expect(rule.validationError != nil)
    }

    @Test("rules decode from the admin API's JSON")
    func decoding() throws {
        let json = #"{"kind":"drop_after_commit","count":1,"path":"/v2/checkout"}"#
        let rule = try JSONDecoder().decode(FaultRule.self, from: Data(json.utf8))
        #expect(rule == FaultRule(kind: .dropAfterCommit, count: 1, path: "/v2/checkout"))
        #expect(rule.validationError == nil)
    }
}

@Suite("Ledger and clock")
struct LedgerClockTests {
    @Test("entries are numbered in order and survive concurrent writers")
    func ledger() async {
        let ledger = Ledger()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask {
                    ledger.record(.capture, object: "ch_\(i)", payment: "pi_\(i)", amount: 100, currency: "USD", at: Date())
                }
            }
        }
        let entries = ledger.all
        #expect(entries.map(\.sequence) == Array(1...200))
        #expect(Set(entries.map(\.object)).count == 200)
        #expect(entries.allSatisfy { $0.currency == "usd" })
        ledger.reset()
        #expect(ledger.all.isEmpty)
    }

    @Test("the clock only moves forward")
    func clock() {
        let clock = SandboxClock()
        let before = clock.now
        clock.advance(by: 3600)
        #expect(clock.now.timeIntervalSince(before) >= 3600)
        clock.advance(by: -7200)
        #expect(clock.now.timeIntervalSince(before) >= 3600)
    }

    @Test("webhook retries back off exponentially up to the cap")
    func backoff() {
        let policy = WebhookDispatcher.RetryPolicy(maxAttempts: 8, initialDelay: .milliseconds(100), maxDelay: .seconds(1))
        #expect((1...6).map { policy.delay(after: $0) } == [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1),
        ])
    }
}
