import ArgumentParser
import Foundation
import Logging
import PayPalSandbox
import SandboxSupport
import StripeSandbox
import TillGateway
import TillHTTP
import TillMail
import TillServer
import TillStore

/// `till serve`: the checkout daemon, against the bundled sandboxes or configured gateways.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the checkout daemon.",
        discussion: """
            With --sandbox, Till starts both sandbox gateways in this process (or attaches to \
            ones started with `till sandbox`, given --stripe-sandbox and --paypal-sandbox), and \
            on first start creates the data directory, the vault's keys, a reference \
            configuration (<data>/till.json) and a merchant with API keys. The URLs and keys are \
            printed and written to <data>/sandbox-credentials.json (mode 0600). Secret keys are \
            stored hashed: that file is the only copy of the secret key, and later starts reuse it.

            With --config FILE, Till runs against the gateways the file configures (see \
            <data>/till.json from a sandbox start for its shape); secrets come from environment \
            variables or files named there.

            Stop with Ctrl-C or SIGTERM: the daemon stops accepting connections and lets \
            in-flight requests and workers finish.
            """
    )

    @Flag(help: "Run against the bundled sandbox gateways.")
    var sandbox = false

    @Option(help: "A gateway configuration file (JSON) to run against real gateways.")
    var config: String?

    @Option(name: .customLong("data"), help: "The data directory (database, vault key, credentials).")
    var dataDirectory = "./till-data"

    @Option(help: "The address the daemon listens on.")
    var host = "127.0.0.1"

    @Option(help: "The daemon's port (0 picks a free one).")
    var port = 8080

    @Option(help: "The URL of a Stripe-like sandbox already running (`till sandbox`), instead of starting one.")
    var stripeSandbox: String?

    @Option(help: "The URL of a PayPal-like sandbox already running (`till sandbox`), instead of starting one.")
    var paypalSandbox: String?

    @Option(help: "Attached sandboxes: the Stripe-like webhook secret `till sandbox` printed (or \(Env.webhookSecret)).")
    var webhookSecret: String?

    @Option(help: "Attached PayPal-like sandbox: its client id (or \(Env.paypalClientID)).")
    var paypalClientId: String?

    @Option(help: "Attached PayPal-like sandbox: its client secret (or \(Env.paypalClientSecret)).")
    var paypalClientSecret: String?

    @Option(help: "Attached PayPal-like sandbox: its webhook id (or \(Env.paypalWebhookID)).")
    var paypalWebhookId: String?

    @Option(help: "In-process sandboxes: the Stripe-like sandbox's port (0 picks a free one).")
    var stripePort = 0

    @Option(help: "In-process sandboxes: the PayPal-like sandbox's port (0 picks a free one).")
    var paypalPort = 0

    @Option(help: "Seconds between reconciliation rounds for pending and unknown gateway calls.")
    var reconcileInterval = 30

    @Option(
        help: ArgumentHelp(
            "The vault's key-encryption key file, when TILL_VAULT_KEK is unset.",
            discussion: """
                Outside --sandbox it must lie outside the data directory (a copy of the data \
                directory must not carry the key that opens its cards); it is created, mode 0600, \
                if missing. With --sandbox the default is <data>/vault.kek.
                """))
    var kekFile: String?

    @Option(help: "Failed authentications one address may make in a burst before it gets 429s.")
    var authFailureBurst = AuthenticationThrottle.Limit.standard.burst

    @Option(help: "Failed authentications per minute an address earns back after a burst.")
    var authFailureRefillPerMinute = AuthenticationThrottle.Limit.standard.refillPerMinute

    var authFailureLimit: AuthenticationThrottle.Limit {
        AuthenticationThrottle.Limit(burst: authFailureBurst, refillPerMinute: authFailureRefillPerMinute)
    }

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(
        help: ArgumentHelp(
            "An ADDRESS:PORT merchant webhooks may reach although it is not public (loopback, private). Repeatable.",
            valueName: "address:port"))
    var allowWebhookHost: [String] = []

    @Option(help: "Seconds an idle keep-alive connection stays open (default 60).")
    var idleTimeout: Double?

    @Option(help: "Seconds a request's head may take to arrive (default 10).")
    var headerTimeout: Double?

    @Option(help: "Seconds a request's body may take to arrive (default 30).")
    var bodyTimeout: Double?

    @Option(help: "The most concurrent connections; more are closed at once (default 10000).")
    var maxConnections: Int?

    @Option(help: "Send customer emails through this SMTP server: smtp://host:port (STARTTLS) or smtps://host:port.")
    var smtpURL: String?
    @Option(help: "The SMTP user name; the password comes from \(Env.smtpPassword).")
    var smtpUsername: String?
    @Option(help: "STARTTLS on smtp://: required (default), if-available, or never (a relay on loopback only).")
    var smtpStarttls: String = "required"
    @Option(help: "The sender address of customer emails (the merchant's name is its display name).")
    var mailFrom: String?

    /// Environment variables that stand in for the attach flags.
    enum Env {
        static let webhookSecret = "TILL_SANDBOX_WEBHOOK_SECRET"
        static let paypalClientID = "TILL_SANDBOX_PAYPAL_CLIENT_ID"
        static let paypalClientSecret = "TILL_SANDBOX_PAYPAL_CLIENT_SECRET"
        static let paypalWebhookID = "TILL_SANDBOX_PAYPAL_WEBHOOK_ID"
        static let smtpPassword = "TILL_SMTP_PASSWORD"
    }

    func validate() throws {
        guard sandbox != (config != nil) else {
            throw ValidationError("give exactly one of --sandbox or --config FILE")
        }
        for (name, value) in [("--port", port), ("--stripe-port", stripePort), ("--paypal-port", paypalPort)]
        where !(0...65535).contains(value) {
            throw ValidationError("\(name) must be between 0 and 65535, got \(value)")
        }
        guard authFailureBurst > 0, authFailureRefillPerMinute > 0 else {
            throw ValidationError("--auth-failure-burst and --auth-failure-refill-per-minute must be positive")
        }
        guard reconcileInterval > 0 else {
            throw ValidationError("--reconcile-interval must be positive, got \(reconcileInterval)")
        }
        let attachFlags = [stripeSandbox, paypalSandbox, webhookSecret, paypalClientId, paypalClientSecret, paypalWebhookId]
        if !sandbox, attachFlags.contains(where: { $0 != nil }) {
            throw ValidationError("--stripe-sandbox, --paypal-sandbox and their credentials go with --sandbox")
        }
        guard (stripeSandbox == nil) == (paypalSandbox == nil) else {
            throw ValidationError("give both --stripe-sandbox and --paypal-sandbox, or neither")
        }
        for (name, url) in [("--stripe-sandbox", stripeSandbox), ("--paypal-sandbox", paypalSandbox)] {
            if let url, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                throw ValidationError("\(name) must be an http:// or https:// URL, got \"\(url)\"")
            }
        }
    }

    func run() async throws {
        var logger = Logger(label: "till.serve")
        logger.logLevel = logLevel
        if sandbox {
            try await runSandbox(logger: logger)
        } else if let config {
            try await runConfigured(file: config, logger: logger)
        }
    }

    // MARK: Configured gateways

    private func runConfigured(file: String, logger: Logger) async throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ServeError("cannot read the configuration file \(file)")
        }
        let registry = BuiltInGateways.registry()
        let gateways: GatewaysConfiguration
        do {
            gateways = try GatewaysConfiguration.decode(json: data)
            try gateways.validate(registry: registry)
        } catch {
            throw ServeError("\(file): \(error)")
        }
        let server = try ServerSettings.decode(file: data, name: file)
        var configuration = DaemonConfiguration(
            dataDirectory: dataDirectory, host: host, port: port, gateways: gateways,
            reconcileInterval: .seconds(reconcileInterval), handlesSignals: true, keyEncryptionKeyFile: kekFile,
            authFailureLimit: authFailureLimit)
        try applyServerSettings(server, sandbox: false, to: &configuration)
        try SandboxSetup.makeDataDirectory(dataDirectory)
        let daemon = try await Daemon.start(configuration, registry: registry, logger: logger)
        Self.say(
            """
            Till is serving at \(daemon.baseURL) with gateways \(gateways.gateways.map(\.name).joined(separator: ", ")).
              health   \(daemon.baseURL)/healthz, \(daemon.baseURL)/readyz, \(daemon.baseURL)/metrics
              API      \(daemon.baseURL)/v1 (described at \(daemon.baseURL)/openapi.json)
            Create a merchant with `till merchants create --name NAME --data \(dataDirectory)`.

            """)
        try await daemon.wait()
        logger.info("stopped")
    }

    // MARK: Sandbox

    private func runSandbox(logger: Logger) async throws {
        try SandboxSetup.makeDataDirectory(dataDirectory)
        let sandboxes = try await startOrAttachSandboxes(logger: logger)
        let daemon: RunningDaemon
        do {
            var configuration = DaemonConfiguration(
                dataDirectory: dataDirectory, host: host, port: port,
                gateways: BuiltInGateways.sandboxConfiguration(
                    stripeURL: sandboxes.stripe.url, stripeWebhookSecret: sandboxes.stripe.webhookSecret,
                    paypalURL: sandboxes.paypal.url, paypalClientID: sandboxes.paypal.clientID,
                    paypalClientSecret: sandboxes.paypal.clientSecret, paypalWebhookID: sandboxes.paypal.webhookID,
                    paypalWebhookCA: sandboxes.paypal.webhookCA),
                allowInlineSecrets: true, reconcileInterval: .seconds(reconcileInterval), handlesSignals: true,
                sandbox: true, keyEncryptionKeyFile: kekFile, authFailureLimit: authFailureLimit)
            try applyServerSettings(ServerSettings(), sandbox: true, to: &configuration)
            daemon = try await Daemon.start(configuration, registry: BuiltInGateways.registry(), logger: logger)
        } catch {
            await sandboxes.stop()
            throw error
        }
        do {
            try await SandboxSetup.registerWebhooks(daemonURL: daemon.baseURL, sandboxes: sandboxes)
            try SandboxSetup.writeReferenceConfiguration(in: dataDirectory)
            let access = try await SandboxSetup.merchantAccess(
                in: dataDirectory, store: daemon.server.store, audit: daemon.server.audit, logger: logger)
            let credentials = SandboxCredentials(
                apiBaseURL: daemon.baseURL, dataDirectory: dataDirectory, merchantID: access.merchantID,
                secretKey: access.secretKey, publishableKey: access.publishableKey,
                stripe: sandboxes.stripe, paypal: sandboxes.paypal)
            let path = try SandboxSetup.write(credentials, in: dataDirectory)
            Self.say(SandboxSetup.banner(credentials, path: path, newMerchant: access.created, attached: sandboxes.attached))
        } catch {
            await daemon.stop()
            await sandboxes.stop()
            throw error
        }
        do {
            try await daemon.wait()
        } catch {
            await sandboxes.stop()
            throw error
        }
        await sandboxes.stop()
        logger.info("stopped")
    }

    private func startOrAttachSandboxes(logger: Logger) async throws -> SandboxSetup.Sandboxes {
        let environment = ProcessInfo.processInfo.environment
        if let stripeURL = stripeSandbox, let paypalURL = paypalSandbox {
            func required(_ value: String?, flag: String, variable: String) throws -> String {
                guard let found = value ?? environment[variable], !found.isEmpty else {
                    throw ServeError("attaching to running sandboxes needs \(flag) (or \(variable)), as `till sandbox` printed it")
                }
                return found
            }
            let secret = try required(webhookSecret, flag: "--webhook-secret", variable: Env.webhookSecret)
            let paypalBase = Self.trimmed(paypalURL)
            return SandboxSetup.Sandboxes(
                stripe: .init(url: Self.trimmed(stripeURL), webhookSecret: secret),
                paypal: .init(
                    url: paypalBase,
                    clientID: try required(paypalClientId, flag: "--paypal-client-id", variable: Env.paypalClientID),
                    clientSecret: try required(
                        paypalClientSecret, flag: "--paypal-client-secret", variable: Env.paypalClientSecret),
                    webhookID: try required(paypalWebhookId, flag: "--paypal-webhook-id", variable: Env.paypalWebhookID),
                    webhookCA: try await SandboxSetup.certificateAuthority(ofPayPalSandbox: paypalBase)),
                attached: true, stop: {})
        }
        var sandboxLogger = logger
        sandboxLogger[metadataKey: "component"] = "sandbox"
        let stripe = try await StripeSandbox.start(.init(host: host, port: stripePort), logger: sandboxLogger)
        let paypal: PayPalSandboxServer
        do {
            paypal = try await PayPalSandbox.start(.init(host: host, port: paypalPort), logger: sandboxLogger)
        } catch {
            await stripe.stop()
            throw error
        }
        return SandboxSetup.Sandboxes(
            stripe: .init(url: stripe.baseURL, webhookSecret: stripe.webhookSecret),
            paypal: .init(
                url: paypal.baseURL, clientID: paypal.clientID, clientSecret: paypal.clientSecret,
                webhookID: paypal.webhookID, webhookCA: paypal.signing.rootPEM),
            attached: false,
            stop: {
                async let stripeStopped: Void = stripe.stop()
                async let paypalStopped: Void = paypal.stop()
                _ = await (stripeStopped, paypalStopped)
            })
    }

    private static func trimmed(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    /// Unbuffered, so scripts reading a pipe see it at once.
    static func say(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

/// Why `till serve` (or a merchant/key command) could not do what it was asked.
struct ServeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension ServeCommand {
    /// The mail flags as settings: SMTP when `--smtp-url` is given (with `--mail-from`),
    /// else nothing (a sandbox daemon then keeps an in-memory mailbox).
    func mailSettings() throws -> MailSettings? {
        guard let smtpURL else {
            if mailFrom != nil || smtpUsername != nil { throw ServeError("--mail-from and --smtp-username go with --smtp-url") }
            return nil
        }
        guard let mailFrom else { throw ServeError("--smtp-url needs --mail-from, the address customer emails come from") }
        let startTLS: SMTPConfiguration.StartTLS
        switch smtpStarttls {
        case "required": startTLS = .required
        case "if-available": startTLS = .ifAvailable
        case "never": startTLS = .never
        default: throw ServeError("--smtp-starttls is required, if-available or never, not \(smtpStarttls)")
        }
        do {
            let smtp = try SMTPConfiguration(
                url: smtpURL, username: smtpUsername, password: ProcessInfo.processInfo.environment[Env.smtpPassword],
                startTLS: startTLS)
            return MailSettings(delivery: .smtp(smtp), from: try EmailAddress(mailFrom))
        } catch {
            throw ServeError("mail: \(error)")
        }
    }
}
