import Foundation
import SandboxSupport
import Synchronization
import TillHTTP
import TillTesting
import Testing

/// Payments the daemon acknowledged: what must survive any crash.
private final class Acknowledged: Sendable {
    let ids = Mutex<Set<String>>([])
    func add(_ id: String) { ids.withLock { _ = $0.insert(id) } }
    var all: Set<String> { ids.withLock { $0 } }
}

private func json(_ response: TillHTTP.HTTPResponse) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
}

/// One daemon incarnation, attached to sandboxes that outlive it.
private struct Daemon {
    let process: TillProcess
    let base: String
    let secretKey: String
    let publishableKey: String

    /// Starts `till serve` and waits for it to rewrite its credentials (the file holds the
    /// merchant's keys across restarts, so it is never removed) with a URL that answers.
    static func start(data: String, sandboxes: [String], http: HTTPClient) async throws -> Daemon {
        let path = data + "/sandbox-credentials.json"
        let launched = Date().addingTimeInterval(-0.001)
        let process = try TillProcess(["serve", "--sandbox"] + sandboxes + ["--data", data, "--port", "0", "--log-level", "error"])
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw TillProcess.Failure("till serve exited: \(process.errorOutput)") }
            let written = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
            if let written, written >= launched, let bytes = FileManager.default.contents(atPath: path),
                let credentials = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any],
                let base = credentials["api_base_url"] as? String,
                let secret = credentials["secret_key"] as? String,
                let publishable = credentials["publishable_key"] as? String,
                (try? await http.execute(HTTPRequest(method: .GET, url: base + "/healthz")))?.status == 200
            {
                return Daemon(process: process, base: base, secretKey: secret, publishableKey: publishable)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TillProcess.Failure("till serve did not become ready: \(process.errorOutput)")
    }

    func call(
        _ http: HTTPClient, _ method: HTTPMethod, _ path: String, key: String? = nil, json body: String? = nil,
        timeout: Duration = .seconds(20)
    ) async throws -> TillHTTP.HTTPResponse {
        var headers: HTTPHeaders = ["Authorization": "Bearer \(key ?? secretKey)"]
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }
        return try await http.execute(
            HTTPRequest(method: method, url: base + path, headers: headers, body: body.map { Array($0.utf8) }),
            timeout: timeout)
    }
}

/// `till sandbox` in its own process, so it outlives the daemons a test kills, and the
/// arguments that attach `till serve --sandbox` to it.
private func startSandboxes() async throws -> (process: TillProcess, arguments: [String], stripeURL: String, paypalURL: String) {
    func required(_ value: String?, _ sandbox: TillProcess) throws -> String {
        guard let value else { throw TillProcess.Failure("till sandbox printed: \(sandbox.output)") }
        return value
    }
    let sandbox = try TillProcess([
        "sandbox", "--stripe-port", "0", "--paypal-port", "0", "--webhook-secret", "whsec_crash_test",
        "--paypal-client-id", "crash-client", "--paypal-client-secret", "crash-secret", "--log-level", "error",
    ])

    var printed: [String: String] = [:]
    let deadline = ContinuousClock.now + .seconds(60)
    while printed.count < 3, ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(50))
        for line in sandbox.output.split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init)
            if words.first == "Stripe-like", words.count > 1 { printed["stripe"] = words[1] }
            if words.first == "PayPal-like", words.count > 1 { printed["paypal"] = words[1] }
            if words.starts(with: ["webhook", "id"]), words.count > 2 { printed["webhook_id"] = words[2] }
        }
    }
    let stripeURL = try required(printed["stripe"], sandbox)
    let paypalURL = try required(printed["paypal"], sandbox)
    let arguments = [
        "--stripe-sandbox", stripeURL, "--paypal-sandbox", paypalURL, "--webhook-secret", "whsec_crash_test",
        "--paypal-client-id", "crash-client", "--paypal-client-secret", "crash-secret",
        "--paypal-webhook-id", try required(printed["webhook_id"], sandbox),
    ]
    return (sandbox, arguments, stripeURL, paypalURL)
}

@Suite("Crash safety (the built binary)", .serialized)
struct CrashTests {
    @Test(
        "SIGKILL under concurrent load, again and again: every acknowledged payment survives, the ledgers agree, nothing is charged twice",
        .enabled(if: TillProcess.binary != nil, "the till executable is built by `swift build --build-tests`"))
    func killAndRestart() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("till-crash-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let http = try HTTPClient()
        let (sandbox, arguments, stripeURL, paypalURL) = try await startSandboxes()
        defer { sandbox.terminate() }

        let acknowledged = Acknowledged()
        for round in 0..<5 {
            let daemon = try await Daemon.start(data: data, sandboxes: arguments, http: http)
            // Concurrent clients until the kill: authorize (half of them captured at once),
            // capture and refund. Only 2xx answers count as acknowledged.
            let load = Task {
                await withTaskGroup(of: Void.self) { group in
                    for worker in 0..<6 {
                        group.addTask {
                            var n = 0
                            while !Task.isCancelled {
                                n += 1
                                do {
                                    let token = try await daemon.call(
                                        http, .POST, "/v1/tokens", key: daemon.publishableKey,
                                        json: #"{"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034}}"#)
                                    guard let tokenID = json(token)["id"] as? String else { continue }
                                    let gateway = (worker + n) % 2 == 0 ? "stripe" : "paypal"
                                    let capture = n % 2 == 0 ? "automatic" : "manual"
                                    let created = try await daemon.call(
                                        http, .POST, "/v1/payments",
                                        json: #"{"amount": \#(500 + round * 100 + n), "currency": "usd", "token": "\#(tokenID)", "capture": "\#(capture)", "gateway": "\#(gateway)"}"#)
                                    guard (200..<300).contains(created.status), let id = json(created)["id"] as? String else { continue }
                                    acknowledged.add(id)
                                    if capture == "manual" {
                                        _ = try await daemon.call(http, .POST, "/v1/payments/\(id)/capture", json: "{}")
                                    }
                                    _ = try await daemon.call(http, .POST, "/v1/payments/\(id)/refunds", json: #"{"amount": 50}"#)
                                } catch {
                                    try? await Task.sleep(for: .milliseconds(20))
                                }
                            }
                        }
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(Int64.random(in: 400...1_200)))
            await daemon.process.kill()
            load.cancel()
            _ = await load.result
        }

        // The last incarnation reconciles what the crashes left in flight when it starts.
        let daemon = try await Daemon.start(data: data, sandboxes: arguments, http: http)
        var payments: [[String: Any]] = []
        let settle = ContinuousClock.now + .seconds(60)
        repeat {
            payments = []
            var cursor: String?
            repeat {
                let page = try await daemon.call(
                    http, .GET, "/v1/payments?limit=100" + (cursor.map { "&starting_after=\($0)" } ?? ""))
                let body = json(page)
                payments += body["data"] as? [[String: Any]] ?? []
                cursor = (body["has_more"] as? Bool == true) ? body["next_cursor"] as? String : nil
            } while cursor != nil
            let unsettled = payments.filter { payment in
                (payment["transactions"] as? [[String: Any]] ?? []).contains {
                    ["pending", "unknown"].contains($0["status"] as? String ?? "")
                }
            }
            if unsettled.isEmpty { break }
            try await Task.sleep(for: .milliseconds(200))
        } while ContinuousClock.now < settle

        #expect(!acknowledged.all.isEmpty, "the load made payments before the kills")
        let stored = Set(payments.compactMap { $0["id"] as? String })
        #expect(acknowledged.all.subtracting(stored).isEmpty, "acknowledged payments lost: \(acknowledged.all.subtracting(stored))")

        for payment in payments {
            let transactions = payment["transactions"] as? [[String: Any]] ?? []
            #expect(
                !transactions.contains { ["pending", "unknown"].contains($0["status"] as? String ?? "") },
                "\(payment["id"] ?? "?") is still unsettled")
        }
        let ledger = PaymentTotals.byPayment(
            try await SandboxAdmin(baseURL: stripeURL, client: http).ledger()
                + SandboxAdmin(baseURL: paypalURL, client: http).ledger())
        // The ledgers are keyed by the gateway's payment reference, which Till shows.
        var known = Set<String>()
        for payment in payments {
            guard let id = payment["id"] as? String else { continue }
            let reference = payment["gateway_payment_reference"] as? String
            if let reference { known.insert(reference) }
            let till = PaymentTotals(payment: payment)
            let gateway = reference.flatMap { ledger[$0] } ?? PaymentTotals()
            #expect(till == gateway, "\(id): Till says \(till); the gateway \(gateway)")
            #expect(gateway.authorizations <= 1, "\(id) was authorized \(gateway.authorizations) times")
        }
        // Every charge the gateways made belongs to a payment Till knows.
        let orphans = Set(ledger.keys).subtracting(known)
        #expect(orphans.isEmpty, "the gateways charged payments Till does not know: \(orphans)")

        daemon.process.terminate()
        #expect(try await daemon.process.waitForExit(within: .seconds(30)) == 0, "\(daemon.process.errorOutput)")
        await http.shutdown()
    }
}

@Suite("Billing crash safety (the built binary)", .serialized)
struct BillingCrashTests {
    @Test(
        "SIGKILL while a test clock bills a year, then restart: every month is billed and charged exactly once",
        .enabled(if: TillProcess.binary != nil, "the till executable is built by `swift build --build-tests`"))
    func killDuringRenewals() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("till-billing-crash-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let http = try HTTPClient()
        let (sandbox, arguments, _, _) = try await startSandboxes()
        defer { sandbox.terminate() }

        var daemon = try await Daemon.start(data: data, sandboxes: arguments, http: http)
        func post(_ path: String, _ body: String) async throws -> [String: Any] {
            let answer = try await daemon.call(http, .POST, path, json: body)
            #expect((200..<300).contains(answer.status), "POST \(path): \(String(decoding: answer.body, as: UTF8.self))")
            return json(answer)
        }
        let clock = try #require(try await post("/v1/test_clocks", #"{"frozen_time": "2024-01-31T12:00:00Z"}"#)["id"] as? String)
        let product = try #require(try await post("/v1/products", #"{"name": "Plan"}"#)["id"] as? String)
        let price = try #require(
            try await post(
                "/v1/prices", #"{"product": "\#(product)", "currency": "usd", "unit_amount": 1200, "recurring": {"interval": "month"}}"#
            )["id"] as? String)
        var customers: [String] = []
        for _ in 0..<4 {
            let token = try #require(
                json(
                    try await daemon.call(
                        http, .POST, "/v1/tokens", key: daemon.publishableKey,
                        json: #"{"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034}}"#))["id"] as? String)
            let customer = try #require(
                try await post("/v1/customers", #"{"test_clock": "\#(clock)", "payment_method": "\#(token)"}"#)["id"] as? String)
            _ = try await post("/v1/subscriptions", #"{"customer": "\#(customer)", "items": [{"price": "\#(price)"}]}"#)
            customers.append(customer)
        }

        // Kill the daemon part-way through a year of renewals, three times over.
        for round in 0..<3 {
            let target = "2025-01-31T12:00:0\(round)Z"
            let current = daemon
            let advance = Task { try? await current.call(http, .POST, "/v1/test_clocks/\(clock)/advance", json: #"{"frozen_time": "\#(target)"}"#) }
            try await Task.sleep(for: .milliseconds(300 + 200 * round))
            await daemon.process.kill()
            _ = await advance.value
            daemon = try await Daemon.start(data: data, sandboxes: arguments, http: http)
        }
        // Finish the year on the last incarnation. An advance answers once every renewal it
        // crossed is billed and charged, which on a loaded CI machine takes far longer than
        // one payment call.
        let finished = try await daemon.call(
            http, .POST, "/v1/test_clocks/\(clock)/advance", json: #"{"frozen_time": "2025-01-31T12:00:05Z"}"#,
            timeout: .seconds(180))
        #expect(finished.status == 200, "\(String(decoding: finished.body, as: UTF8.self))")

        let expected = [
            "2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30", "2024-07-31", "2024-08-31",
            "2024-09-30", "2024-10-31", "2024-11-30", "2024-12-31", "2025-01-31",
        ].map { $0 + "T12:00:00Z" }
        var payments: Set<String> = []
        for customer in customers {
            let list = json(try await daemon.call(http, .GET, "/v1/invoices?customer=\(customer)&limit=100"))
            let invoices = ((list["data"] as? [[String: Any]]) ?? []).reversed()
            #expect(invoices.compactMap { $0["period_start"] as? String } == expected, "customer \(customer)")
            for invoice in invoices {
                // A renewal interrupted between its write and its charge is finished by the next
                // incarnation under the same attempt key: still one payment.
                let attempts = (invoice["attempts"] as? [[String: Any]]) ?? []
                #expect(invoice["status"] as? String == "paid", "\(invoice["id"] ?? "?") is \(invoice["status"] ?? "?")")
                #expect(attempts.count == 1)
                if let payment = attempts.first?["payment"] as? String { payments.insert(payment) }
            }
        }
        #expect(payments.count == customers.count * expected.count)
        let till = json(try await daemon.call(http, .GET, "/v1/payments?limit=100"))
        #expect((till["data"] as? [Any])?.count == customers.count * expected.count)
        daemon.process.terminate()
    }
}
