import ArgumentParser
import Foundation
import Logging
import PayPalSandbox
import SandboxSupport
import StripeSandbox
import TillAudit
import TillCrypto
import TillHTTP
import TillServer
import TillStore
import TillVault

#if canImport(Glibc)
import Glibc
#endif

/// The parts of `till bench` that `--only` can pick.
enum BenchSection: String, CaseIterable, Sendable {
    case payments, sandbox, vault, audit, memory, usage

    static func parseList(_ text: String) throws -> Set<BenchSection> {
        Set(try text.split(separator: ",").map { part in
            let name = part.trimmingCharacters(in: .whitespaces)
            guard let section = BenchSection(rawValue: name) else {
                throw ValidationError(
                    "unknown section \(name); choose from \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return section
        })
    }
}

enum BenchOperation: String, CaseIterable, Sendable {
    case authorize
    case authorizeCapture = "authorize+capture"
}

/// `till bench`: Till against the sandbox it fronts, the vault against raw AES-GCM, the
/// audit log against raw fsync and SHA-256, and the daemon's memory under many connections.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Till against its own baselines (sandbox direct, raw AES-GCM, fsync, SHA-256) on loopback.",
        discussion: """
            Starts both sandboxes and a daemon (durable SQLite, audit log on) in this process on \
            127.0.0.1, drives them with closed-loop clients, then runs `till serve --sandbox` \
            as a child process to read its peak memory with 1,000 open connections. Every \
            figure is printed beside a baseline from the same run and the issue-8 target. \
            Build with `swift build -c release --product till` for meaningful numbers; the \
            full run takes about two minutes.
            """)

    @Option(help: "Also write the report as JSON to this file.") var json: String?
    @Flag(help: "A smoke run: short runs, few entries; every figure is printed but none is meaningful.")
    var quick = false
    @Option(help: "Seconds per load run (default 3, or 0.3 with --quick).") var seconds: Double?
    @Option(help: "Where the benchmark's data goes (default: a fresh temporary directory).") var dir: String?
    @Option(
        help: "Run only these sections, comma-separated: \(BenchSection.allCases.map(\.rawValue).joined(separator: ", ")) (default: all).",
        transform: BenchSection.parseList)
    var only: Set<BenchSection> = Set(BenchSection.allCases)
    @Option(help: "Concurrency levels for the payment runs, comma-separated (default 1,16,64,256).", transform: Self.parseLevels)
    var clients: [Int] = [1, 16, 64, 256]
    @Option(help: "Usage events stored before the aggregation run (default 10,000,000, or 100,000 with --quick).")
    var usageEvents: Int?

    func validate() throws {
        if let seconds, !(seconds > 0 && seconds <= 600) { throw ValidationError("--seconds must be in (0, 600]") }
        if clients.isEmpty || clients.contains(where: { !(1...4096).contains($0) }) {
            throw ValidationError("--clients takes levels from 1 to 4096")
        }
    }

    func run() async throws {
        let directory = dir ?? NSTemporaryDirectory() + "till-bench-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: directory) } }
        let perRun = Duration.milliseconds(Int64((seconds ?? (quick ? 0.3 : 3)) * 1000))
        let levels = clients
        var logger = Logger(label: "till.bench")
        logger.logLevel = .critical
        raiseOpenFileLimit()

        progress("starting sandboxes and daemon in \(directory)")
        let stripe = try await StripeSandbox.start(.init(), logger: logger)
        let paypal = try await PayPalSandbox.start(.init(), logger: logger)
        let gateways = BuiltInGateways.sandboxConfiguration(
            stripeURL: stripe.baseURL, stripeWebhookSecret: stripe.webhookSecret, paypalURL: paypal.baseURL,
            paypalClientID: paypal.clientID, paypalClientSecret: paypal.clientSecret, paypalWebhookID: paypal.webhookID,
            paypalWebhookCA: paypal.signing.rootPEM)
        let daemon = try await Daemon.start(
            DaemonConfiguration(
                dataDirectory: directory + "/daemon", port: 0, gateways: gateways, allowInlineSecrets: true, environment: [:],
                sandbox: true),
            registry: BuiltInGateways.registry(), logger: logger)
        let merchant = try await Merchants.create(name: "Bench Shop", in: daemon.server.store, audit: daemon.server.audit)
        let http = try BenchHTTP(connections: levels.max() ?? 256)

        let report: BenchReport
        do {
            let target = BenchTargets(
                till: daemon.baseURL, stripe: stripe.baseURL, secretKey: merchant.secretKey,
                publishableKey: merchant.publishableKey, http: http)
            let token = try await target.tokenize()

            var comparisons: [BenchReport.Comparison] = []
            for operation in BenchOperation.allCases where only.contains(.payments) {
                for clients in levels {
                    progress("\(operation.rawValue) @\(clients): direct")
                    let direct = await BenchLoad.run(clients: clients, duration: perRun) { client, iteration in
                        await target.direct(operation, key: "bench-d-\(operation.rawValue)-\(clients)-\(client)-\(iteration)")
                    }
                    progress("\(operation.rawValue) @\(clients): through Till")
                    let till = await BenchLoad.run(clients: clients, duration: perRun) { client, iteration in
                        await target.till(
                            operation, token: token, key: "bench-t-\(operation.rawValue)-\(clients)-\(client)-\(iteration)")
                    }
                    comparisons.append(.init(operation: operation.rawValue, clients: clients, till: till, direct: direct))
                }
            }

            var creations: [BenchLatency] = []
            for clients in [16, 64] where only.contains(.sandbox) {
                progress("sandbox PaymentIntent creations @\(clients)")
                creations.append(
                    await BenchLoad.run(clients: clients, duration: perRun) { _, _ in await target.createIntent() })
            }

            var vault: BenchReport.Vault?
            if only.contains(.vault) {
                progress("vault")
                vault = try await Self.vault(daemon.server.vault, merchant: merchant.merchant.id, duration: perRun)
            }
            var audit: AuditBenchmark.Result?
            if only.contains(.audit) {
                progress("audit log")
                audit = try await AuditBenchmark.run(
                    directory: directory + "/audit", appends: quick ? 2_000 : 50_000, concurrency: 64, logger: logger)
            }
            var usage: BenchUsage?
            if only.contains(.usage) {
                usage = try await BenchUsage.run(
                    server: daemon.server, baseURL: daemon.baseURL, secretKey: merchant.secretKey, merchantID: merchant.merchant.id,
                    http: http, duration: perRun, storedEvents: usageEvents ?? (quick ? 100_000 : 10_000_000), progress: progress)
            }
            var memory: BenchMemory?
            if only.contains(.memory) {
                progress("daemon memory at 1000 connections (till serve --sandbox as a child)")
                memory = try await BenchMemory.measure(
                    executable: Self.ownExecutable(), connections: 1000, directory: directory + "/serve")
            }

            var built = BenchReport(
                command: (["till"] + CommandLine.arguments.dropFirst()).joined(separator: " "), machine: Self.machine(),
                date: ISO8601DateFormatter().string(from: Date()), quick: quick,
                secondsPerRun: Double(BenchLoad.nanoseconds(perRun)) / 1e9, comparisons: comparisons, vault: vault,
                audit: audit, memory: memory, sandboxCreations: creations, usage: usage)
            built.evaluateTargets()
            report = built
        } catch {
            await Self.shutdown(http: http, daemon: daemon, stripe: stripe, paypal: paypal)
            throw error
        }
        await Self.shutdown(http: http, daemon: daemon, stripe: stripe, paypal: paypal)

        print(report.table)
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            try (try encoder.encode(report) + Data("\n".utf8)).write(to: URL(fileURLWithPath: json))
        }
    }

    private static func parseLevels(_ text: String) throws -> [Int] {
        try text.split(separator: ",").map { part in
            guard let level = Int(part.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--clients takes comma-separated whole numbers, not \(part)")
            }
            return level
        }
    }

    private static func shutdown(
        http: BenchHTTP, daemon: RunningDaemon, stripe: StripeSandboxServer, paypal: PayPalSandboxServer
    ) async {
        await http.client.shutdown()
        await daemon.stop()
        await stripe.stop()
        await paypal.stop()
    }

    /// Tokenize and detokenize through the daemon's own vault (its database, its audit
    /// log), then raw AES-256-GCM over the same number and the same size of associated data.
    private static func vault(_ vault: Vault, merchant: String, duration: Duration) async throws -> BenchReport.Vault {
        let clients = 16
        let tokenize = await BenchLoad.run(clients: clients, duration: duration) { _, _ in
            do {
                _ = try await vault.tokenize(
                    CardInput(number: TestCards.approved.number, expMonth: 12, expYear: 2034, holderName: "Bench Buyer"),
                    merchant: merchant)
                return nil
            } catch {
                return "tokenize: \(error)"
            }
        }
        let token = try await vault.tokenize(
            CardInput(number: TestCards.approved.number, expMonth: 12, expYear: 2034), merchant: merchant
        ).id
        let detokenize = await BenchLoad.run(clients: clients, duration: duration) { _, _ in
            do {
                _ = try await vault.detokenize(token: token, merchant: merchant, purpose: .reconciliation)
                return nil
            } catch {
                return "detokenize: \(error)"
            }
        }
        let key = try SymmetricKey.generate()
        let number = Array(TestCards.approved.number.utf8)
        // A token id and a key id, as the vault binds them.
        let aad = Array("tok_0123456789abcdef0123456789abcdef|dk_0123456789abcdef".utf8)
        let budget = Double(BenchLoad.nanoseconds(duration)) / 1e9
        let clock = ContinuousClock()
        var started = clock.now
        var seals = 0
        var box = try AES256GCM.seal(number, using: key, authenticating: aad)
        repeat {
            box = try AES256GCM.seal(number, using: key, authenticating: aad)
            seals += 1
        } while seconds(since: started) < budget
        let sealRate = Double(seals) / seconds(since: started)
        started = clock.now
        var opens = 0
        repeat {
            _ = try AES256GCM.openSecret(box, using: key, authenticating: aad)
            opens += 1
        } while seconds(since: started) < budget
        let openRate = Double(opens) / seconds(since: started)
        return BenchReport.Vault(
            clients: clients, tokenize: tokenize, detokenize: detokenize, rawSealsPerSecond: sealRate,
            rawOpensPerSecond: openRate)
    }

    private static func seconds(since start: ContinuousClock.Instant) -> Double {
        Double(BenchLoad.nanoseconds(ContinuousClock.now - start)) / 1e9
    }

    /// This very binary, so the memory figure is for the same build as the rest.
    private static func ownExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    private static func machine() -> String {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let model = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } ?? "unknown CPU"
        return "\(ProcessInfo.processInfo.activeProcessorCount) cores (\(model)), Linux \(release)"
    }

    /// 1,000 connections need more than the common soft limit of 1,024 descriptors once the
    /// client side and the daemon's own files are counted; the child inherits the raised limit.
    private func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let wanted: rlim_t = 8192
        if limit.rlim_cur < wanted {
            limit.rlim_cur = min(wanted, limit.rlim_max)
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }

    private func progress(_ message: String) {
        FileHandle.standardError.write(Data("till bench: \(message)\n".utf8))
    }
}

/// The requests the benchmark sends: the same operations through Till's API and straight
/// to the Stripe-like sandbox in the form Till's Stripe adapter sends them.
struct BenchTargets: Sendable {
    let till: String
    let stripe: String
    let secretKey: String
    let publishableKey: String
    let http: BenchHTTP
    /// The key the daemon's Stripe adapter uses against the sandbox.
    let stripeKey = "sk_test_till_sandbox"

    private static let form = "application/x-www-form-urlencoded"
    private static let json = "application/json"

    func tokenize() async throws -> String {
        let body = #"{"card": {"number": "\#(TestCards.approved.number)", "exp_month": 12, "exp_year": 2034, "name": "Bench Buyer"}}"#
        switch await http.post(till + "/v1/tokens", body: body, contentType: Self.json, bearer: publishableKey, idempotencyKey: nil) {
        case .success(let answer):
            guard let id = BenchHTTP.id(in: answer) else { throw BenchFailure("tokenizing answered without an id") }
            return id
        case .failure(let failure):
            throw failure
        }
    }

    func till(_ operation: BenchOperation, token: String, key: String) async -> String? {
        let body = #"{"amount": 1999, "currency": "usd", "token": "\#(token)", "capture": "manual"}"#
        let authorized = await http.post(till + "/v1/payments", body: body, contentType: Self.json, bearer: secretKey, idempotencyKey: key)
        return await follow(authorized, operation: operation) { id in
            await http.post(
                till + "/v1/payments/\(id)/capture", body: "{}", contentType: Self.json, bearer: secretKey,
                idempotencyKey: key + "-capture")
        }
    }

    func direct(_ operation: BenchOperation, key: String) async -> String? {
        let body =
            "amount=1999&currency=usd&confirm=true&capture_method=manual&payment_method_types%5B0%5D=card"
            + "&payment_method_data%5Btype%5D=card&payment_method_data%5Bcard%5D%5Bnumber%5D=\(TestCards.approved.number)"
            + "&payment_method_data%5Bcard%5D%5Bexp_month%5D=12&payment_method_data%5Bcard%5D%5Bexp_year%5D=2034"
            + "&payment_method_data%5Bbilling_details%5D%5Bname%5D=Bench+Buyer"
        let authorized = await http.post(
            stripe + "/v1/payment_intents", body: body, contentType: Self.form, bearer: stripeKey, idempotencyKey: key)
        return await follow(authorized, operation: operation) { id in
            await http.post(
                stripe + "/v1/payment_intents/\(id)/capture", body: "", contentType: Self.form, bearer: stripeKey,
                idempotencyKey: key + "-capture")
        }
    }

    func createIntent() async -> String? {
        switch await http.post(
            stripe + "/v1/payment_intents", body: "amount=1999&currency=usd", contentType: Self.form, bearer: stripeKey,
            idempotencyKey: nil)
        {
        case .success: nil
        case .failure(let failure): failure.description
        }
    }

    private func follow(
        _ authorized: Result<[UInt8], BenchFailure>, operation: BenchOperation,
        capture: (String) async -> Result<[UInt8], BenchFailure>
    ) async -> String? {
        let answer: [UInt8]
        switch authorized {
        case .success(let body): answer = body
        case .failure(let failure): return failure.description
        }
        guard operation == .authorizeCapture else { return nil }
        guard let id = BenchHTTP.id(in: answer) else { return "authorization answered without an id" }
        if case .failure(let failure) = await capture(id) { return failure.description }
        return nil
    }
}
