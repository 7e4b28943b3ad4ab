import Foundation
import SandboxSupport
import Synchronization
import TillHTTP

/// The daemon's API as the load clients call it.
struct LoadClient: Sendable {
    let http: HTTPClient
    let base: String
    let secretKey: String
    let publishableKey: String

    /// An answer, or the transport failure that replaced it.
    struct Reply {
        var status: Int?
        var json: [String: Any]
        var transportFailure: String?

        var isSuccess: Bool { status.map { (200..<300).contains($0) } ?? false }

        /// The error class the summary counts this answer under.
        var outcome: String {
            guard let status else { return "transport \(transportFailure ?? "failure")" }
            switch status {
            case 202: return "202 accepted, outcome pending"
            case 200..<300: return "ok"
            default:
                let code = (json["error"] as? [String: Any])?["code"] as? String
                return "\(status)" + (code.map { " \($0)" } ?? "")
            }
        }
    }

    func call(_ method: HTTPMethod, _ path: String, json body: String? = nil, publishable: Bool = false) async -> Reply {
        var headers: HTTPHeaders = ["Authorization": "Bearer \(publishable ? publishableKey : secretKey)"]
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }
        do {
            let response = try await http.execute(
                HTTPRequest(method: method, url: base + path, headers: headers, body: body.map { Array($0.utf8) }))
            let json = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
            return Reply(status: response.status, json: json ?? [:])
        } catch {
            return Reply(status: nil, json: [:], transportFailure: error.phase.description)
        }
    }
}

/// Counts of operations and of their outcomes, shared by the clients.
final class LoadStats: Sendable {
    struct Counts: Sendable {
        /// Operation name to how many ran.
        var operations: [String: Int] = [:]
        /// Outcome class (`ok`, `402 card_declined`, `transport timeout`, ...) to count.
        var outcomes: [String: Int] = [:]

        var total: Int { operations.values.reduce(0, +) }
    }

    private let counts = Mutex(Counts())

    func record(_ operation: String, _ reply: LoadClient.Reply) {
        let outcome = reply.outcome
        counts.withLock {
            $0.operations[operation, default: 0] += 1
            $0.outcomes[outcome, default: 0] += 1
        }
    }

    var snapshot: Counts { counts.withLock { $0 } }
}

/// Payments that carry the dispute test card, waiting for their dispute to arrive.
final class DisputeQueue: Sendable {
    private let waiting = Mutex<[(payment: String, since: ContinuousClock.Instant)]>([])

    func add(_ payment: String) { waiting.withLock { $0.append((payment, .now)) } }

    /// The oldest payment that has waited at least `age`, taken off the queue.
    func take(olderThan age: Duration) -> (payment: String, since: ContinuousClock.Instant)? {
        waiting.withLock { queue in
            guard let first = queue.first, ContinuousClock.now - first.since >= age else { return nil }
            return queue.removeFirst()
        }
    }

    func putBack(_ entry: (payment: String, since: ContinuousClock.Instant)) { waiting.withLock { $0.append(entry) } }
}

/// `concurrency` clients, each running payment stories one after another until the deadline.
struct LoadDriver: Sendable {
    let client: LoadClient
    let concurrency: Int

    /// What one story does with its payment. Each client walks the list in its own order,
    /// alternating gateways, so every mix appears on both.
    enum Story: CaseIterable {
        case automaticThenRefund, manualCapture, partialCaptureThenRefund, manualVoid, dispute, decline

        var card: String {
            switch self {
            case .dispute: TestCards.number(for: .disputeFraudulent)
            case .decline: TestCards.number(for: .declineGeneric)
            default: TestCards.approved.number
            }
        }

        var capture: String {
            switch self {
            case .automaticThenRefund, .dispute, .decline: "automatic"
            default: "manual"
            }
        }
    }

    func run(until deadline: ContinuousClock.Instant) async -> LoadStats.Counts {
        let stats = LoadStats()
        let disputes = DisputeQueue()
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var round = 0
                    while ContinuousClock.now < deadline {
                        await story(worker: worker, round: round, stats: stats, disputes: disputes)
                        await followDispute(stats: stats, disputes: disputes)
                        round += 1
                    }
                }
            }
        }
        return stats.snapshot
    }

    private func story(worker: Int, round: Int, stats: LoadStats, disputes: DisputeQueue) async {
        let story = Story.allCases[(worker * 5 + round) % Story.allCases.count]
        let gateway = (worker + round) % 2 == 0 ? "stripe" : "paypal"
        let token = await client.call(
            .POST, "/v1/tokens",
            json: #"{"card": {"number": "\#(story.card)", "exp_month": 12, "exp_year": 2034, "cvc": "123", "name": "Load Buyer"}}"#,
            publishable: true)
        stats.record("tokenize", token)
        guard token.isSuccess, let tokenID = token.json["id"] as? String else { return }
        let amount = 1_000 + (worker * 37 + round) % 900
        let created = await client.call(
            .POST, "/v1/payments",
            json: #"{"amount": \#(amount), "currency": "usd", "token": "\#(tokenID)", "capture": "\#(story.capture)", "gateway": "\#(gateway)"}"#)
        stats.record("authorize \(story.capture)", created)
        // A 202 (outcome unknown) still has an id, and follow-ups on it are part of the load:
        // the daemon must refuse or queue them, never apply them twice.
        guard created.isSuccess, let id = created.json["id"] as? String else { return }
        switch story {
        case .automaticThenRefund:
            stats.record("refund", await client.call(.POST, "/v1/payments/\(id)/refunds", json: #"{"amount": 300}"#))
            stats.record("refund", await client.call(.POST, "/v1/payments/\(id)/refunds", json: "{}"))
        case .manualCapture:
            stats.record("capture", await client.call(.POST, "/v1/payments/\(id)/capture", json: "{}"))
        case .partialCaptureThenRefund:
            stats.record("capture", await client.call(.POST, "/v1/payments/\(id)/capture", json: #"{"amount": 700}"#))
            stats.record("refund", await client.call(.POST, "/v1/payments/\(id)/refunds", json: #"{"amount": 200}"#))
        case .manualVoid:
            stats.record("void", await client.call(.POST, "/v1/payments/\(id)/void", json: "{}"))
        case .dispute:
            disputes.add(id)
        case .decline:
            break
        }
    }

    /// Answers one dispute that has had time to arrive: evidence for some, acceptance for
    /// others. A payment whose dispute has not arrived goes back in the queue for a while.
    private func followDispute(stats: LoadStats, disputes: DisputeQueue) async {
        guard let entry = disputes.take(olderThan: .seconds(1)) else { return }
        let listed = await client.call(.GET, "/v1/disputes?payment=\(entry.payment)")
        stats.record("list disputes", listed)
        let open = (listed.json["data"] as? [[String: Any]] ?? []).first { ($0["status"] as? String) == "needs_response" }
        guard let dispute = open?["id"] as? String else {
            if ContinuousClock.now - entry.since < .seconds(30) { disputes.putBack(entry) }
            return
        }
        if dispute.utf8.last.map({ $0 % 2 == 0 }) ?? true {
            stats.record(
                "dispute evidence",
                await client.call(
                    .POST, "/v1/disputes/\(dispute)/evidence",
                    json: #"{"product_description": "Load test goods", "uncategorized_text": "Delivered and signed for."}"#))
        } else {
            stats.record("dispute accept", await client.call(.POST, "/v1/disputes/\(dispute)/accept", json: "{}"))
        }
    }
}
