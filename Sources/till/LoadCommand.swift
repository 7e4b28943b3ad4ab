import ArgumentParser
import Foundation
import Logging
import PayPalSandbox
import SandboxSupport
import StripeSandbox
import TillHTTP

/// `till load`: a bounded load and soak run on loopback. Both sandboxes run in this process,
/// the daemon as a child `till serve` (so its memory can be read from `/proc` without the
/// driver's own), and mixed operations run against it while the sandboxes inject faults.
/// Afterwards every payment must agree with the gateways' ledgers and the daemon's memory
/// must not have grown.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Run a bounded load and soak test against a daemon on loopback sandboxes.",
        discussion: """
            Starts the Stripe-like and PayPal-like sandboxes in this process and `till serve` \
            as a child process, then runs --concurrency clients for --duration seconds: \
            tokenize, authorize (manual and automatic capture, both gateways), capture, void, \
            refund, declines, and disputes through the dispute test card (evidence or accept). \
            Meanwhile each sandbox injects latency, 5xx answers and answers dropped after the \
            charge was committed on --fault-share of its calls each.

            Then the faults are cleared, reconciliation settles every payment, and each \
            payment's authorized, captured and refunded totals are compared with both \
            sandboxes' ledgers, exactly. The daemon's resident memory (VmRSS) is sampled \
            every second during the run; the median of the last third may exceed the median \
            of the first third by at most --memory-tolerance MB.

            Exits non-zero when a payment disagrees with a ledger, something was charged \
            twice or is unknown to Till, a payment is left in flight, or memory grew.
            """
    )

    @Option(help: "How long the clients run, in seconds.")
    var duration = 60

    @Option(help: "How many clients run at once.")
    var concurrency = 16

    @Option(help: "The share (0 to 0.3) of sandbox calls hit by each kind of fault: latency, 5xx, dropped after commit.")
    var faultShare = 0.05

    @Option(help: "How long to wait, after the run, for every payment to settle (seconds).")
    var settleTimeout = 120

    @Option(help: "How much the daemon's resident memory may grow from the first to the last third of the run (MB).")
    var memoryTolerance = 24.0

    @Option(help: "Seconds between the daemon's reconciliation rounds.")
    var reconcileInterval = 2

    @Flag(help: "Print the summary as JSON instead of a table.")
    var json = false

    func validate() throws {
        guard (1...86_400).contains(duration) else { throw ValidationError("--duration must be 1 to 86400 seconds, got \(duration)") }
        guard (1...512).contains(concurrency) else { throw ValidationError("--concurrency must be 1 to 512, got \(concurrency)") }
        guard faultShare.isFinite, (0...0.3).contains(faultShare) else {
            throw ValidationError("--fault-share must be between 0 and 0.3, got \(faultShare)")
        }
        guard (1...3_600).contains(settleTimeout) else {
            throw ValidationError("--settle-timeout must be 1 to 3600 seconds, got \(settleTimeout)")
        }
        guard memoryTolerance.isFinite, memoryTolerance >= 0 else {
            throw ValidationError("--memory-tolerance must be a non-negative number of MB, got \(memoryTolerance)")
        }
        guard (1...3_600).contains(reconcileInterval) else {
            throw ValidationError("--reconcile-interval must be 1 to 3600 seconds, got \(reconcileInterval)")
        }
    }

    func run() async throws {
        var logger = Logger(label: "till.load")
        logger.logLevel = .critical
        let quiet = json
        let progress: @Sendable (String) -> Void = { line in if !quiet { ServeCommand.say(line + "\n") } }
        let settings = LoadSettings(
            duration: .seconds(duration), concurrency: concurrency, faultShare: faultShare,
            settleTimeout: .seconds(settleTimeout), memoryToleranceMB: memoryTolerance,
            reconcileInterval: reconcileInterval)
        let summary = try await LoadRun(settings: settings, progress: progress, logger: logger).run()
        ServeCommand.say(json ? summary.json() + "\n" : summary.table())
        if !summary.passed { throw ExitCode(1) }
    }
}

/// What one load run does.
struct LoadSettings: Sendable {
    var duration: Duration
    var concurrency: Int
    var faultShare: Double
    var settleTimeout: Duration
    var memoryToleranceMB: Double
    var reconcileInterval: Int
}

/// Why a load run could not be carried out (as opposed to a run that found a disagreement).
struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Sandboxes, daemon, clients, faults, settling and checking, in that order; everything it
/// starts is stopped again whether the run succeeds or not.
struct LoadRun: Sendable {
    let settings: LoadSettings
    let progress: @Sendable (String) -> Void
    let logger: Logger

    func run() async throws -> LoadSummary {
        let retry = WebhookDispatcher.RetryPolicy(maxAttempts: 8, initialDelay: .milliseconds(50), maxDelay: .seconds(1))
        // Short behaviour delays so disputes arrive within a short run.
        let delay = Duration.milliseconds(200)
        let secret = "whsec_load_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        let stripe = try await StripeSandbox.start(
            .init(webhookSecret: secret, webhookRetry: retry, behaviorDelay: delay), logger: logger)
        let paypal: PayPalSandboxServer
        do {
            paypal = try await PayPalSandbox.start(.init(webhookRetry: retry, behaviorDelay: delay), logger: logger)
        } catch {
            await stripe.stop()
            throw error
        }
        let http: HTTPClient
        do {
            http = try HTTPClient(
                configuration: .init(
                    timeout: .seconds(30), maxConnectionsPerHost: settings.concurrency + 8,
                    maxConnectionsTotal: settings.concurrency + 32, userAgent: "till-load"))
        } catch {
            await stripe.stop()
            await paypal.stop()
            throw error
        }
        let result: Result<LoadSummary, any Error>
        do {
            let daemon = try await LoadDaemon.start(
                sandboxArguments: [
                    "--stripe-sandbox", stripe.baseURL, "--paypal-sandbox", paypal.baseURL, "--webhook-secret", secret,
                    "--paypal-client-id", paypal.clientID, "--paypal-client-secret", paypal.clientSecret,
                    "--paypal-webhook-id", paypal.webhookID,
                    "--reconcile-interval", String(settings.reconcileInterval),
                ],
                http: http)
            do {
                result = .success(try await drive(daemon: daemon, stripeURL: stripe.baseURL, paypalURL: paypal.baseURL, http: http))
            } catch {
                result = .failure(error)
            }
            await daemon.stop()
        } catch {
            result = .failure(error)
        }
        await http.shutdown()
        await stripe.stop()
        await paypal.stop()
        return try result.get()
    }

    private func drive(daemon: LoadDaemon, stripeURL: String, paypalURL: String, http: HTTPClient) async throws
        -> LoadSummary
    {
        let client = LoadClient(http: http, base: daemon.baseURL, secretKey: daemon.secretKey, publishableKey: daemon.publishableKey)
        let sandboxes = [LoadSandbox(url: stripeURL, http: http), LoadSandbox(url: paypalURL, http: http)]
        progress(
            "till load: daemon pid \(daemon.pid) at \(daemon.baseURL); \(settings.concurrency) clients for "
                + "\(settings.duration.components.seconds) s, fault share \(settings.faultShare)")
        if settings.faultShare > 0 {
            for sandbox in sandboxes {
                for rule in LoadSandbox.faults(share: settings.faultShare) { try await sandbox.inject(rule) }
            }
        }
        let sampler = MemorySampler(pid: daemon.pid)
        let sampling = Task { await sampler.run(every: .seconds(1)) }
        let started = ContinuousClock.now
        let stats = await LoadDriver(client: client, concurrency: settings.concurrency).run(until: started + settings.duration)
        let elapsed = ContinuousClock.now - started
        sampling.cancel()
        _ = await sampling.value
        for sandbox in sandboxes { try await sandbox.clearFaults() }
        progress("till load: \(stats.total) operations in \(Self.seconds(elapsed)) s; faults cleared, settling")

        let settled = try await LoadCheck.settle(client: client, within: settings.settleTimeout)
        var ledger: [LedgerEntry] = []
        for sandbox in sandboxes { ledger += try await sandbox.ledger() }
        let agreement = LoadCheck.compare(payments: settled.payments, ledger: ledger)
        return LoadSummary(
            settings: settings, elapsed: elapsed, stats: stats, payments: settled.payments.count,
            unsettled: settled.unsettled, settleTime: settled.waited, agreement: agreement,
            memory: MemoryFigures(samples: sampler.samples, toleranceMB: settings.memoryToleranceMB))
    }

    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return String(format: "%.1f", Double(seconds) + Double(attoseconds) / 1e18)
    }
}
