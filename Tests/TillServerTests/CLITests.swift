import Foundation
import TillAudit
import TillGateway
import TillHTTP
import TillServer
import TillTesting
import Testing

private struct Ran {
    var status: Int32
    var output: String
    var error: String

    /// The value printed after `label` on its own line (`merchant   mer_…`).
    func value(_ label: String) -> String? {
        for line in output.split(separator: "\n") where line.hasPrefix(label + "  ") {
            return line.dropFirst(label.count).trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init)
        }
        return nil
    }
}

/// Runs `till` to completion, with its output in files (a pipe nobody drains could stall it).
private func till(_ arguments: [String]) async throws -> Ran {
    let process = try TillProcess(arguments)
    let status = try await process.waitForExit(within: .seconds(60))
    return Ran(status: status, output: process.output, error: process.errorOutput)
}

private typealias Failure = TillProcess.Failure

private let binaryBuilt = Testing.ConditionTrait.enabled(
    if: TillProcess.binary != nil, "the till executable is built by `swift build --build-tests`")

@Suite("till serve, merchants and api-keys (the built binary)", .serialized)
struct CLITests {
    /// Waits until `<data>/sandbox-credentials.json` names a daemon that answers `/healthz`.
    private static func credentials(
        in data: String, of process: TillProcess, http: HTTPClient
    ) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            guard process.process.isRunning else {
                throw Failure("till serve exited with \(process.process.terminationStatus): \(process.errorOutput)")
            }
            if let data = FileManager.default.contents(atPath: data + "/sandbox-credentials.json"),
                let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let base = json["api_base_url"] as? String,
                let health = try? await http.execute(HTTPRequest(method: .GET, url: base + "/healthz")),
                health.status == 200
            {
                return json
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure("till serve did not become ready: \(process.errorOutput)")
    }

    private static func call(
        _ http: HTTPClient, _ method: HTTPMethod, _ url: String, key: String, json: String? = nil
    ) async throws -> (status: Int, json: [String: Any]) {
        var headers: HTTPHeaders = ["Authorization": "Bearer \(key)"]
        if json != nil { headers.add(name: "Content-Type", value: "application/json") }
        let response = try await http.execute(
            HTTPRequest(method: method, url: url, headers: headers, body: json.map { Array($0.utf8) }))
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
        return (response.status, object)
    }

    @Test("serve --sandbox: first start writes credentials (0600) and a reference config, pays, stops on SIGTERM; a restart reuses the merchant", binaryBuilt)
    func serveSandbox() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("till-serve-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let http = try HTTPClient()
        do {
            let arguments = ["serve", "--sandbox", "--data", data, "--port", "0", "--log-level", "warning", "--reconcile-interval", "1"]
            let first = try TillProcess(arguments)
            let credentials = try await Self.credentials(in: data, of: first, http: http)
            let base = try #require(credentials["api_base_url"] as? String)
            let secret = try #require(credentials["secret_key"] as? String)
            let publishable = try #require(credentials["publishable_key"] as? String)
            let merchant = try #require(credentials["merchant_id"] as? String)
            #expect(secret.hasPrefix("sk_") && publishable.hasPrefix("pk_") && merchant.hasPrefix("mer_"))
            let stripe = try #require(credentials["stripe_sandbox"] as? [String: Any])
            let paypal = try #require(credentials["paypal_sandbox"] as? [String: Any])
            #expect((stripe["url"] as? String)?.hasPrefix("http://127.0.0.1:") == true)
            #expect(stripe["webhook_secret"] as? String != nil)
            #expect(paypal["client_id"] as? String != nil && paypal["client_secret"] as? String != nil)
            #expect(paypal["webhook_id"] as? String != nil)
            let attributes = try FileManager.default.attributesOfItem(atPath: data + "/sandbox-credentials.json")
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            #expect(first.output.contains(secret), "the banner prints the keys")
            #expect(FileManager.default.fileExists(atPath: data + "/till.sqlite"))
            #expect(FileManager.default.fileExists(atPath: data + "/vault.kek"))

            // The reference configuration is a valid non-sandbox configuration.
            let reference = try #require(FileManager.default.contents(atPath: data + "/till.json"))
            let configuration = try GatewaysConfiguration.decode(json: reference)
            try configuration.validate(registry: BuiltInGateways.registry())
            #expect(configuration.gateways.map(\.name) == ["stripe", "paypal"])

            let token = try await Self.call(
                http, .POST, base + "/v1/tokens", key: publishable,
                json: #"{"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}}"#)
            #expect(token.status == 201)
            let tokenID = try #require(token.json["id"] as? String)
            let payment = try await Self.call(
                http, .POST, base + "/v1/payments", key: secret,
                json: #"{"amount": 2500, "currency": "usd", "token": "\#(tokenID)"}"#)
            #expect(payment.status == 201)
            #expect(payment.json["status"] as? String == "captured")
            let paymentID = try #require(payment.json["id"] as? String)

            first.terminate()
            #expect(try await first.waitForExit(within: .seconds(30)) == 0, "\(first.errorOutput)")
            #expect(first.process.terminationReason == .exit, "SIGTERM ends it gracefully, not by the signal")

            let second = try TillProcess(arguments)
            let again = try await Self.credentials(in: data, of: second, http: http)
            #expect(again["merchant_id"] as? String == merchant)
            #expect(again["secret_key"] as? String == secret)
            #expect(again["publishable_key"] as? String == publishable)
            let secondBase = try #require(again["api_base_url"] as? String)
            let stored = try await Self.call(http, .GET, secondBase + "/v1/payments/\(paymentID)", key: secret)
            #expect(stored.status == 200)
            #expect(stored.json["amount_captured"] as? Int == 2500)
            second.terminate()
            #expect(try await second.waitForExit(within: .seconds(30)) == 0, "\(second.errorOutput)")
        } catch {
            await http.shutdown()
            throw error
        }
        await http.shutdown()
    }

    @Test("serve --sandbox attaches to `till sandbox` running in its own process and registers its webhook URL there", binaryBuilt)
    func attach() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("till-attach-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let secret = "whsec_attach_test_secret"
        let sandboxes = try TillProcess([
            "sandbox", "--stripe-port", "0", "--paypal-port", "0", "--webhook-secret", secret,
            "--paypal-client-id", "attach-client", "--paypal-client-secret", "attach-secret", "--log-level", "warning",
        ])
        let http = try HTTPClient()
        do {
            var printed: [String: String] = [:]
            let deadline = ContinuousClock.now + .seconds(30)
            while printed.count < 3, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
                for line in sandboxes.output.split(separator: "\n") {
                    let words = line.split(separator: " ").map(String.init)
                    if words.first == "Stripe-like", words.count > 1 { printed["stripe"] = words[1] }
                    if words.first == "PayPal-like", words.count > 1 { printed["paypal"] = words[1] }
                    if words.starts(with: ["webhook", "id"]), words.count > 2 { printed["webhook_id"] = words[2] }
                }
            }
            let stripeURL = try #require(printed["stripe"], "till sandbox printed: \(sandboxes.output)")
            let paypalURL = try #require(printed["paypal"])
            let webhookID = try #require(printed["webhook_id"])

            let missing = try await till([
                "serve", "--sandbox", "--stripe-sandbox", stripeURL, "--paypal-sandbox", paypalURL, "--data", data, "--port", "0",
            ])
            #expect(missing.status != 0)
            #expect(missing.error.contains("--webhook-secret"), "\(missing.error)")

            let process = try TillProcess([
                "serve", "--sandbox", "--stripe-sandbox", stripeURL, "--paypal-sandbox", paypalURL,
                "--webhook-secret", secret, "--paypal-client-id", "attach-client", "--paypal-client-secret", "attach-secret",
                "--paypal-webhook-id", webhookID, "--data", data, "--port", "0", "--log-level", "warning",
            ])
            let credentials = try await Self.credentials(in: data, of: process, http: http)
            let base = try #require(credentials["api_base_url"] as? String)
            #expect((credentials["stripe_sandbox"] as? [String: Any])?["url"] as? String == stripeURL)
            let token = try await Self.call(
                http, .POST, base + "/v1/tokens", key: try #require(credentials["publishable_key"] as? String),
                json: #"{"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}}"#)
            let tokenID = try #require(token.json["id"] as? String)
            let payment = try await Self.call(
                http, .POST, base + "/v1/payments", key: try #require(credentials["secret_key"] as? String),
                json: #"{"amount": 700, "currency": "usd", "token": "\#(tokenID)", "capture": "manual"}"#)
            #expect(payment.status == 201)
            let ledger = try await SandboxAdmin(baseURL: stripeURL, client: http).ledger()
            #expect(ledger.count == 1)
            // The sandbox now sends its webhooks to this daemon.
            let deliveries = try await http.execute(HTTPRequest(method: .GET, url: stripeURL + "/_sandbox/webhooks"))
            let escaped = base.replacingOccurrences(of: "/", with: "\\/") + "\\/v1\\/gateways\\/stripe\\/webhooks"
            #expect(String(decoding: deliveries.body, as: UTF8.self).contains(escaped))
            process.terminate()
            #expect(try await process.waitForExit(within: .seconds(30)) == 0, "\(process.errorOutput)")
        } catch {
            sandboxes.terminate()
            await http.shutdown()
            throw error
        }
        sandboxes.terminate()
        _ = try? await sandboxes.waitForExit(within: .seconds(30))
        await http.shutdown()
    }

    @Test("merchants create and api-keys create|list|revoke work on a serving daemon's database; a revoked key gets 401", binaryBuilt)
    func merchantsAndKeys() async throws {
        try await DaemonHarness.with { harness in
            let data = harness.dataDirectory
            let created = try await till(["merchants", "create", "--name", "Second Shop", "--data", data])
            #expect(created.status == 0, "\(created.error)")
            let merchant = try #require(created.value("merchant"))
            let secret = try #require(created.value("secret key"))
            let publishable = try #require(created.value("publishable key"))
            #expect(merchant.hasPrefix("mer_") && secret.hasPrefix("sk_test_") && publishable.hasPrefix("pk_test_"))
            let listed = try await harness.call(.GET, "/v1/payments", key: secret)
            #expect(listed.status == 200, "\(listed.text)")

            let merchants = try await till(["merchants", "list", "--data", data])
            #expect(merchants.output.contains(merchant) && merchants.output.contains("Second Shop"))

            let key = try await till(["api-keys", "create", "--merchant", merchant, "--data", data])
            #expect(key.status == 0, "\(key.error)")
            let keyID = try #require(key.value("key id"))
            let keyText = try #require(key.value("key"))
            #expect((try await harness.call(.GET, "/v1/payments", key: keyText)).status == 200)

            let publishableKey = try await till(["api-keys", "create", "--merchant", merchant, "--publishable", "--data", data])
            let pk = try #require(publishableKey.value("key"))
            #expect(pk.hasPrefix("pk_"))
            #expect((try await harness.call(.GET, "/v1/payments", key: pk)).status == 403)

            let list = try await till(["api-keys", "list", "--merchant", merchant, "--data", data])
            #expect(list.output.contains(keyID))
            #expect(!list.output.contains(keyText), "lists show prefixes only")

            let revoked = try await till(["api-keys", "revoke", keyID, "--data", data])
            #expect(revoked.status == 0, "\(revoked.error)")
            let refused = try await harness.call(.GET, "/v1/payments", key: keyText)
            #expect(refused.status == 401)
            #expect(refused.errorCode != nil)
            // The merchant's other key still works.
            #expect((try await harness.call(.GET, "/v1/payments", key: secret)).status == 200)

            let again = try await till(["api-keys", "revoke", keyID, "--data", data])
            #expect(again.status != 0)
            #expect(again.error.contains(keyID))
            let unknown = try await till(["api-keys", "create", "--merchant", "mer_nobody", "--data", data])
            #expect(unknown.status != 0)
            #expect(unknown.error.contains("mer_nobody"))

            // The daemon holds the audit log, so the commands spooled their entries; it moves
            // them into the log within a second or so.
            let log = data + "/audit/audit.jsonl"
            let deadline = ContinuousClock.now + .seconds(20)
            var text = ""
            while ContinuousClock.now < deadline {
                text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                if text.contains("api_key.revoke") && text.contains("merchants create") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(text.contains("\"api_key.revoke\""), "the revocation is in the audit log")
            #expect(text.contains("\"api_key.create\""))
            #expect(text.contains("merchants create"))
            #expect(text.contains(keyID))
        }
    }

    @Test("admin commands record the intent before the act and the real outcome after it, with the OS account and the operator", binaryBuilt)
    func adminOutcome() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("till-admin-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let created = try await till(["merchants", "create", "--name", "Audit Shop", "--data", data, "--operator", "alice"])
        #expect(created.status == 0, "\(created.error)")
        let missing = try await till(["api-keys", "revoke", "key_doesnotexist", "--data", data, "--operator", "bob"])
        #expect(missing.status != 0)

        // No daemon holds the log, so the commands wrote to it directly.
        let text = try String(contentsOfFile: data + "/audit/audit.jsonl", encoding: .utf8)
        let entries = try text.split(separator: "\n").map { try AuditEntry(line: Array($0.utf8)) }
        let revocations = entries.filter { $0.event.action == .apiKeyRevocation }
        #expect(revocations.map(\.event.result) == [.attempt, .failure], "\(revocations)")
        #expect(revocations.last?.event.details["error"]?.contains("key_doesnotexist") == true)
        let creations = entries.filter { $0.event.action == .adminCommand && $0.event.subject == "merchants create" }
        #expect(creations.map(\.event.result) == [.attempt, .success])
        let uid = getuid()
        for entry in revocations + creations {
            #expect(entry.event.actor.hasPrefix("till.admin:") && entry.event.actor.contains("(uid \(uid))"), "\(entry.event.actor)")
            #expect(entry.event.details["at"] != nil)
        }
        #expect(creations.allSatisfy { $0.event.details["operator"] == "alice" && $0.event.actor.hasSuffix("/alice") })
        #expect(revocations.allSatisfy { $0.event.details["operator"] == "bob" })
        // Nothing claims a success that did not happen.
        #expect(!revocations.contains { $0.event.result == .success })
    }

    @Test("serve --config refuses a bad configuration, naming the field", binaryBuilt)
    func badConfig() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("till-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cases: [(String, String)] = [
            (
                #"{"gateways": [{"name": "stripe", "plugin": "stripe", "base_url": "not a url", "credentials": {"secret_key": {"env": "X"}}}]}"#,
                "gateways[0].base_url"
            ),
            (#"{"gateways": [{"name": "stripe", "base_url": "https://api.stripe.com"}]}"#, "gateways[0].plugin"),
            (
                #"{"gateways": [{"name": "s", "plugin": "nope", "base_url": "https://api.stripe.com"}]}"#,
                "gateways[0].plugin"
            ),
            (
                #"{"gateways": [{"name": "stripe", "plugin": "stripe", "base_url": "https://api.stripe.com", "credentials": {"secret_key": {"env": "TILL_TEST_SURELY_UNSET_VARIABLE"}}}]}"#,
                "gateways[0].credentials.secret_key"
            ),
        ]
        for (index, (json, field)) in cases.enumerated() {
            let file = directory + "/config-\(index).json"
            try Data(json.utf8).write(to: URL(fileURLWithPath: file))
            let ran = try await till([
                "serve", "--config", file, "--data", directory + "/data", "--kek-file", directory + "/vault.kek", "--port", "0",
            ])
            #expect(ran.status != 0)
            #expect(ran.error.contains(field), "expected \(field) in: \(ran.error)")
        }
        // Outside sandbox mode a key-encryption key inside the data directory is refused
        // before anything is written there.
        let file = directory + "/config-\(cases.count).json"
        try Data(cases[3].0.utf8).write(to: URL(fileURLWithPath: file))
        let fresh = directory + "/fresh"
        for keyFile in [nil, fresh + "/vault.kek", fresh + "/../fresh/./vault.kek"] {
            let inside = try await till(
                ["serve", "--config", file, "--data", fresh, "--port", "0"] + (keyFile.map { ["--kek-file", $0] } ?? []))
            #expect(inside.status != 0)
            #expect(inside.error.contains("key_file_in_data_directory"), "\(inside.error)")
            #expect(!FileManager.default.fileExists(atPath: fresh + "/till.sqlite"))
            #expect(!FileManager.default.fileExists(atPath: fresh + "/vault.kek"))
        }
        let neither = try await till(["serve", "--data", directory + "/data"])
        #expect(neither.status != 0)
        #expect(neither.error.contains("--sandbox") && neither.error.contains("--config"))
    }
}
