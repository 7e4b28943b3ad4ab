import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import TillAudit
import TillBillingEngine
import TillCore
import TillGateway
import TillHTTP
import TillMail
import TillStore
import TillVault
import UnixSignals

/// How to run the daemon.
public struct DaemonConfiguration: Sendable {
    /// Holds `till.sqlite` and, unless `TILL_VAULT_KEK` is set, `vault.kek`.
    public var dataDirectory: String
    public var host: String
    /// 0 picks a free port.
    public var port: Int
    public var gateways: GatewaysConfiguration
    /// Inline secret values in the gateway configuration (the sandbox setup only).
    public var allowInlineSecrets: Bool
    /// How often reconciliation looks at pending and unknown transactions.
    public var reconcileInterval: Duration
    /// The process environment, for secrets and the vault's key-encryption key.
    public var environment: [String: String]
    /// Stop gracefully on SIGTERM and SIGINT (the `till serve` process; not in-process tests).
    public var handlesSignals: Bool
    /// The audit log's origin line in its signed checkpoints.
    public var auditOrigin: String
    public static let defaultAuditOrigin = "till.local/audit"
    /// A sandbox setup (`till serve --sandbox`, test and bench harnesses): the vault's
    /// key-encryption key may live in, and is created in, the data directory.
    public var sandbox: Bool
    /// The key-encryption key file when `TILL_VAULT_KEK` is unset. Outside sandbox mode it
    /// must lie outside the data directory; nil means `<data>/vault.kek` (sandbox only).
    public var keyEncryptionKeyFile: String?
    /// How many failed authentications an address may make before it gets 429s.
    public var authFailureLimit: AuthenticationThrottle.Limit
    /// Where merchant webhooks may go (plain http and the allow-list are for the sandbox setup).
    public var webhookPolicy = WebhookURLPolicy()
    /// The HTTP server's timeouts and connection cap.
    public var serverLimits = ServerLimits()
    /// The largest payment amount per currency (see ``AmountLimits``).
    public var amountLimits = AmountLimits()
    /// How often the billing scheduler looks for renewals, retries and expiries.
    public var billingInterval: Duration = .seconds(30)
    /// Whether merchants may make test clocks; on by default in a sandbox setup only.
    public var testClocks: Bool?
    /// Where customer emails go. `nil` keeps them queued in the outbox (a sandbox setup
    /// without it gets an in-memory mailbox).
    public var mail: MailSettings?

    public init(
        dataDirectory: String, host: String = "127.0.0.1", port: Int = 8080, gateways: GatewaysConfiguration,
        allowInlineSecrets: Bool = false, reconcileInterval: Duration = .seconds(30),
        environment: [String: String] = ProcessInfo.processInfo.environment, handlesSignals: Bool = false,
        auditOrigin: String = DaemonConfiguration.defaultAuditOrigin, sandbox: Bool = false,
        keyEncryptionKeyFile: String? = nil, authFailureLimit: AuthenticationThrottle.Limit = .standard
    ) {
        self.sandbox = sandbox
        self.keyEncryptionKeyFile = keyEncryptionKeyFile
        self.authFailureLimit = authFailureLimit
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.gateways = gateways
        self.allowInlineSecrets = allowInlineSecrets
        self.reconcileInterval = reconcileInterval
        self.environment = environment
        self.handlesSignals = handlesSignals
        self.auditOrigin = auditOrigin
    }

    public var databasePath: String { (dataDirectory as NSString).appendingPathComponent("till.sqlite") }
    /// Holds the audit log, its checkpoints, the public keyring and the signing key.
    public var auditDirectory: String { (dataDirectory as NSString).appendingPathComponent("audit") }
    /// Where the key-encryption key is looked for, with the data-directory rule applied.
    public var keyEncryptionKeyLocation: KeyEncryptionKeyLocation {
        KeyEncryptionKeyLocation(
            dataDirectory: dataDirectory, keyFile: keyEncryptionKeyFile, allowsKeyInDataDirectory: sandbox,
            environment: environment)
    }
}

/// The daemon's parts, assembled: the same for `till serve` and for tests.
public enum Daemon {
    /// Why the daemon did not start.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Every migration the daemon's database runs, in order.
    public static let migrations = TillSchema.migrations + VaultSchema.migrations

    /// Opens the database and the vault (creating the key-encryption key and the vault's
    /// keys on first start), builds the gateways, and starts serving.
    public static func start(
        _ configuration: DaemonConfiguration, registry: GatewayRegistry, logger: Logger
    ) async throws -> RunningDaemon {
        if let problem = configuration.serverLimits.problem { throw StartError(description: problem) }
        // Every component logs through this one logger; see PANMaskingLogHandler.
        let logger = PANMaskingLogHandler.masking(logger)
        try ProcessHardening.disableCoreDumps()
        // Checked before anything is opened for writing, so a refused key leaves no trace.
        let location = configuration.keyEncryptionKeyLocation
        let resolvedKey: KeyEncryptionKeyLocation.Resolved
        do {
            resolvedKey = try location.resolve(createIfMissing: configuration.sandbox || configuration.keyEncryptionKeyFile != nil)
        } catch {
            throw StartError(description: error.description)
        }
        let kek = resolvedKey.key
        if resolvedKey.createdKeyFile {
            logger.notice("created the vault's key-encryption key", metadata: ["path": "\(location.keyFilePath)"])
        }
        if resolvedKey.inDataDirectory {
            logger.warning(
                "sandbox mode: the vault's key-encryption key is in the data directory; never use this for real cards",
                metadata: ["path": "\(location.keyFilePath)"])
        }
        let database = try StoreDatabase.open(path: configuration.databasePath, migrations: migrations)
        // The audit log opens before anything it must record can happen (the vault's first
        // keys, the first detokenization).
        let auditLog = try await AuditLog.open(
            AuditLog.Configuration(directory: configuration.auditDirectory, origin: configuration.auditOrigin), logger: logger)
        // Admin commands run while an earlier daemon was down wrote to the log directly;
        // ones run while it was up but not yet ingested are in the spool.
        _ = try await AdminAudit.ingest(spool: AdminAudit.spoolPath(configuration.auditDirectory), into: auditLog)
        let audit = AuditTrail(log: auditLog, logger: logger)
        var vaultLogger = logger
        vaultLogger[metadataKey: "component"] = "vault"
        let vault = Vault(store: database, kek: kek, audit: AuditVaultSink(trail: audit), logger: vaultLogger)
        do {
            _ = try await vault.initializeKeys()
            try await vault.checkKeyEncryptionKey()
        } catch {
            _ = try? await auditLog.close()
            throw error
        }

        let http = try HTTPClient(configuration: .init(userAgent: "Till/\(Till.version)"))
        let metrics = TillMetrics()
        let gateways: [String: any PaymentGateway]
        do {
            gateways = metrics.instrument(try registry.makeGateways(
                configuration.gateways,
                context: GatewayContext(
                    http: http, logger: logger, allowInlineSecrets: configuration.allowInlineSecrets,
                    environment: configuration.environment)))
        } catch {
            await http.shutdown()
            _ = try? await auditLog.close()
            throw StartError(description: "invalid gateway configuration: \(error)")
        }
        let router = GatewayRouter(
            gateways: gateways, routing: configuration.gateways.routing,
            breaker: CircuitBreaker(settings: configuration.gateways.circuitBreaker))
        let store = Store(database: database)
        let mailTransport: (transport: any MailTransport, from: EmailAddress)?
        do {
            mailTransport = try Self.mailTransport(configuration)
        } catch {
            await http.shutdown()
            _ = try? await auditLog.close()
            throw StartError(description: "invalid mail configuration: \(error)")
        }
        let server = TillServer(
            store: store, vault: vault, gateways: gateways, router: router, logger: logger, audit: audit, metrics: metrics,
            authFailureLimit: configuration.authFailureLimit, webhookPolicy: configuration.webhookPolicy,
            amountLimits: configuration.amountLimits, testClocks: configuration.testClocks ?? configuration.sandbox,
            mail: mailTransport)

        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let application = Application(
            router: server.makeRouter(),
            server: .http1(limits: configuration.serverLimits),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "till"),
            onServerRunning: { channel in
                if let address = channel.localAddress, let ip = address.ipAddress.flatMap(IPAddress.init(numeric:)),
                    let port = address.port.flatMap(UInt16.init(exactly:))
                {
                    // No merchant webhook may call the daemon's own API.
                    server.webhookDestinations.addOwn(SocketEndpoint(address: ip, port: port))
                }
                portContinuation.yield(channel.localAddress?.port ?? configuration.port)
                portContinuation.finish()
            },
            logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [application] + server.workers(reconcileInterval: configuration.reconcileInterval, billingInterval: configuration.billingInterval)
                    + [AuditSpoolIngest(log: auditLog, spool: AdminAudit.spoolPath(configuration.auditDirectory), logger: logger)],
                gracefulShutdownSignals: configuration.handlesSignals ? [.sigterm, .sigint] : [], logger: logger))
        let task = Task {
            defer { portContinuation.finish() }
            do {
                try await group.run()
            } catch {
                await http.shutdown()
                _ = try? await auditLog.close()
                throw error
            }
            await http.shutdown()
            // Last: everything that could append has stopped.
            try await auditLog.close()
        }
        for await port in ports {
            return RunningDaemon(server: server, host: configuration.host, port: port, group: group, task: task)
        }
        do {
            try await task.value
        } catch {
            throw StartError(description: "could not listen on \(configuration.host):\(configuration.port): \(error)")
        }
        throw StartError(description: "stopped before listening on \(configuration.host):\(configuration.port)")
    }
}

/// A daemon that is serving.
public final class RunningDaemon: Sendable {
    public let server: TillServer
    public let host: String
    public let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    init(server: TillServer, host: String, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.server = server
        self.host = host
        self.port = port
        self.group = group
        self.task = task
    }

    /// `http://host:port`.
    public var baseURL: String { host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)" }

    /// Stops accepting connections, lets in-flight requests and workers finish, and returns
    /// when everything has stopped.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }

    /// Waits until the daemon stops (a signal, or ``stop()``), rethrowing a failure.
    public func wait() async throws {
        try await task.value
    }
}

extension TillServer {
    /// The services that run beside the HTTP server.
    func workers(reconcileInterval: Duration, billingInterval: Duration) -> [any Service] {
        [CVCSweeper(vault: vault), VaultMaintenance(vault: vault, logger: logger), IdempotencyJanitor(store: store, logger: logger)]
            + outboxWorkers()
            + reconciliationWorkers(interval: reconcileInterval)
            + [BillingScheduler(engine: billing, interval: billingInterval, logger: logger)]
    }
}

/// Wipes CVCs whose authorization never came.
struct CVCSweeper: Service {
    let vault: Vault

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await vault.runCVCSweeper()
        }
    }
}

/// Finishes key rotations in the background: re-encrypts the rows still under retiring
/// keys (a `till keys rotate` may have started one, or the daemon stopped half-way) and
/// retires keys no row uses. Idle most of the time.
struct VaultMaintenance: Service {
    let vault: Vault
    let logger: Logger
    var interval: Duration = .seconds(60)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    if try await vault.keys().contains(where: { $0.status == .retiring && $0.cardCount > 0 }) {
                        let report = try await vault.reencryptAll(pause: .milliseconds(5))
                        logger.notice("re-encrypted vault rows", metadata: ["rows": "\(report)"])
                    }
                    let retired = try await vault.retireUnusedKeys()
                    if !retired.isEmpty { logger.notice("retired vault keys", metadata: ["keys": "\(retired)"]) }
                } catch {
                    logger.error("vault maintenance failed; will retry", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}

/// Forgets idempotency records past their 24 hours, so the table holds a day of keys, not
/// every key ever used. (An expired key is also replaced when it is used again.) Gateway
/// delivery ids go after ``TillServer/deliveryRetention``, far past any signature tolerance.
struct IdempotencyJanitor: Service {
    let store: Store
    let logger: Logger
    var interval: Duration = .seconds(3600)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let removed = try await store.purgeIdempotency(before: Date().addingTimeInterval(-IdempotencyGuard.retention))
                    if removed > 0 { logger.info("forgot expired idempotency keys", metadata: ["count": "\(removed)"]) }
                } catch {
                    logger.error("could not purge idempotency keys; will retry", metadata: ["error": "\(error)"])
                }
                do {
                    let removed = try await store.purgeGatewayDeliveries(
                        before: Date().addingTimeInterval(-TillServer.deliveryRetention))
                    if removed > 0 { logger.info("forgot old gateway delivery ids", metadata: ["count": "\(removed)"]) }
                } catch {
                    logger.error("could not purge gateway delivery ids; will retry", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}

extension Daemon {
    /// The configured SMTP server, or in a sandbox setup without one an in-memory mailbox.
    static func mailTransport(_ configuration: DaemonConfiguration) throws -> (transport: any MailTransport, from: EmailAddress)? {
        switch configuration.mail?.delivery {
        case .smtp(let smtp)?:
            guard let from = configuration.mail?.from else { return nil }
            return (try SMTPTransport(configuration: smtp), from)
        case .mailbox?:
            guard let from = configuration.mail?.from else { return nil }
            return (MailboxTransport(), from)
        case nil:
            guard configuration.sandbox else { return nil }
            return (MailboxTransport(), try EmailAddress("billing@sandbox.till.invalid"))
        }
    }
}
