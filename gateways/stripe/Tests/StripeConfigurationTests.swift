import Foundation
import StripeGateway
import Testing
import TillGateway
import TillHTTP

@Suite("StripePlugin configuration")
struct StripeConfigurationTests {
    static func field(_ settings: GatewaySettings, environment: [String: String] = [:], inline: Bool = true) throws -> String? {
        let client = try HTTPClient()
        let context = GatewayContext(
            http: client, logger: StripeGatewayHarness.logger, allowInlineSecrets: inline, environment: environment)
        do {
            _ = try StripePlugin.configuration(settings, path: "gateways[0]", context: context)
            return nil
        } catch {
            return error.field
        }
    }

    static var base: GatewaySettings { StripeGatewayHarness.settings(baseURL: "https://api.stripe.com") }

    @Test func valid() throws {
        var settings = Self.base
        settings.options = ["webhook_tolerance_seconds": "120", "stripe_version": "2025-03-31.basil"]
        settings.credentials["secret_key"] = .environment("STRIPE_KEY")
        settings.webhookSecret = .environment("STRIPE_WHSEC")
        #expect(try Self.field(settings, environment: ["STRIPE_KEY": "sk_test_1", "STRIPE_WHSEC": "whsec_1"], inline: false) == nil)
        let client = try HTTPClient()
        let configuration = try StripePlugin.configuration(
            settings, path: "gateways[0]",
            context: GatewayContext(
                http: client, logger: StripeGatewayHarness.logger, environment: ["STRIPE_KEY": "sk_test_1", "STRIPE_WHSEC": "whsec_1"]))
        #expect(configuration.webhookTolerance == 120)
        #expect(configuration.stripeVersion == "2025-03-31.basil")
        #expect(!configuration.description.contains("sk_test_1"))
        #expect(configuration.requestTimeout == .milliseconds(10_000))
    }

    @Test func errorsNameTheField() throws {
        var settings = Self.base
        settings.credentials = [:]
        #expect(try Self.field(settings) == "gateways[0].credentials.secret_key")

        settings = Self.base
        settings.credentials["secret_key"] = .inline("pk_test_publishable")
        #expect(try Self.field(settings) == "gateways[0].credentials.secret_key")

        settings = Self.base
        #expect(try Self.field(settings, inline: false) == "gateways[0].credentials.secret_key")

        settings = Self.base
        settings.credentials["secret_key"] = .environment("MISSING")
        #expect(try Self.field(settings) == "gateways[0].credentials.secret_key")

        settings = Self.base
        settings.webhookSecret = .environment("MISSING")
        #expect(try Self.field(settings) == "gateways[0].webhook_secret")

        settings = Self.base
        settings.baseURL = "api.stripe.com"
        #expect(try Self.field(settings) == "gateways[0].base_url")

        settings = Self.base
        settings.requestTimeoutMilliseconds = 0
        #expect(try Self.field(settings) == "gateways[0].request_timeout_ms")

        for bad in ["0", "soon", "86400"] {
            settings = Self.base
            settings.options = ["webhook_tolerance_seconds": bad]
            #expect(try Self.field(settings) == "gateways[0].options.webhook_tolerance_seconds")
        }

        settings = Self.base
        settings.options = ["stripe_version": "latest"]
        #expect(try Self.field(settings) == "gateways[0].options.stripe_version")

        settings = Self.base
        settings.options = ["webhook_tolerance": "300"]
        #expect(try Self.field(settings) == "gateways[0].options.webhook_tolerance")
    }

    @Test func registration() throws {
        let registry = GatewayRegistry()
        StripePlugin.register(in: registry)
        #expect(registry.plugins == ["stripe"])
        let client = try HTTPClient()
        let configuration = GatewaysConfiguration(gateways: [Self.base], routing: RoutingTable(rules: [], fallback: []))
        let gateways = try registry.makeGateways(
            configuration, context: GatewayContext(http: client, logger: StripeGatewayHarness.logger, allowInlineSecrets: true))
        let gateway = try #require(gateways["stripe"])
        #expect(gateway.plugin == "stripe")
        #expect(gateway.capabilities.partialCapture && !gateway.capabilities.multipleCaptures)
        #expect(gateway.capabilities.threeDSecure && gateway.capabilities.disputes && gateway.capabilities.void)
    }
}
