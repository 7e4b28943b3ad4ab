import ArgumentParser
import Dispatch
import Foundation
import Logging
import PayPalSandbox
import SandboxSupport
import StripeSandbox
import TillCrypto

/// `till sandbox`: runs the Stripe-like and PayPal-like sandbox gateways until interrupted.
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Run the Stripe-like and PayPal-like sandbox gateways.",
        discussion: """
            Both sandboxes keep their state in memory and print their URLs and credentials \
            when they are ready. Point a Stripe client's API base at the Stripe-like URL with \
            any sk_test_ key, and a PayPal client at the PayPal-like URL with the printed \
            client id and secret. Stop with Ctrl-C.
            """
    )

    @Option(help: "The address both sandboxes listen on.")
    var host = "127.0.0.1"

    @Option(help: "The Stripe-like sandbox's port (0 picks a free one).")
    var stripePort = 12111

    @Option(help: "The PayPal-like sandbox's port (0 picks a free one).")
    var paypalPort = 12112

    @Option(name: .customLong("webhook"), help: "A URL to POST webhook events to (repeatable).")
    var webhooks: [String] = []

    @Option(help: "The secret the Stripe-like sandbox signs webhooks with (generated and printed when not given).")
    var webhookSecret: String?

    @Option(help: "The PayPal-like sandbox's OAuth client id (generated when not given).")
    var paypalClientId: String?

    @Option(help: "The PayPal-like sandbox's OAuth client secret (generated when not given).")
    var paypalClientSecret: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        for url in webhooks where !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw ValidationError("--webhook must be an http:// or https:// URL, got \"\(url)\"")
        }
        for (name, port) in [("--stripe-port", stripePort), ("--paypal-port", paypalPort)] where !(0...65535).contains(port) {
            throw ValidationError("\(name) must be between 0 and 65535, got \(port)")
        }
        if let webhookSecret, webhookSecret.isEmpty {
            throw ValidationError("--webhook-secret must not be empty")
        }
    }

    func run() async throws {
        var logger = Logger(label: "till.sandbox")
        logger.logLevel = logLevel
        let secret = try webhookSecret ?? "whsec_" + Hex.encode(SecureRandom.bytes(count: 24))

        let stripe = try await StripeSandbox.start(
            .init(host: host, port: stripePort, webhookEndpoints: webhooks, webhookSecret: secret),
            logger: logger)
        let paypal: PayPalSandboxServer
        do {
            paypal = try await PayPalSandbox.start(
                .init(
                    host: host, port: paypalPort, clientID: paypalClientId, clientSecret: paypalClientSecret,
                    webhookEndpoints: webhooks),
                logger: logger)
        } catch {
            await stripe.stop()
            throw error
        }

        // Unbuffered, so scripts reading a pipe see the banner at once.
        FileHandle.standardOutput.write(Data(
            """
            Till sandbox gateways are running.

              Stripe-like   \(stripe.baseURL)
                API key           any sk_test_… key
                webhook secret    \(stripe.webhookSecret)

              PayPal-like   \(paypal.baseURL)
                client id         \(paypal.clientID)
                client secret     \(paypal.clientSecret)
                webhook id        \(paypal.webhookID)
                webhook signing   SHA256withRSA under a certificate chained to \(paypal.baseURL)/_sandbox/ca.pem

              webhooks to   \(webhooks.isEmpty ? "(none; add with --webhook URL)" : webhooks.joined(separator: ", "))
              admin API     <sandbox URL>/_sandbox/… (ledger, faults, disputes, reset)

            Press Ctrl-C to stop.

            """.utf8))

        await Self.waitForTerminationSignal()
        logger.info("stopping sandboxes")
        async let stripeStopped: Void = stripe.stop()
        async let paypalStopped: Void = paypal.stop()
        _ = await (stripeStopped, paypalStopped)
    }

    /// Returns when the process gets SIGINT or SIGTERM.
    static func waitForTerminationSignal() async {
        let (signals, continuation) = AsyncStream.makeStream(of: Int32.self)
        let sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
        for await _ in signals { break }
        sources.forEach { $0.cancel() }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
