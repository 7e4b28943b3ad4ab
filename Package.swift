// swift-tools-version: 6.1
import PackageDescription

// Swift 6 language mode (strict concurrency) comes with the tools version; these keep
// dependencies explicit and existentials visible.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "till",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "till", targets: ["till"]),
        .library(name: "TillCore", targets: ["TillCore"]),
        .library(name: "TillCrypto", targets: ["TillCrypto"]),
        .library(name: "TillHTTP", targets: ["TillHTTP"]),
        .library(name: "TillGateway", targets: ["TillGateway"]),
        .library(name: "TillStore", targets: ["TillStore"]),
        .library(name: "TillVault", targets: ["TillVault"]),
        .library(name: "TillAudit", targets: ["TillAudit"]),
        .library(name: "TillPayments", targets: ["TillPayments"]),
        .library(name: "TillBilling", targets: ["TillBilling"]),
        .library(name: "TillBillingEngine", targets: ["TillBillingEngine"]),
        .library(name: "TillMail", targets: ["TillMail"]),
        .library(name: "TillDocuments", targets: ["TillDocuments"]),
        .library(name: "StripeSandbox", targets: ["StripeSandbox"]),
        .library(name: "PayPalSandbox", targets: ["PayPalSandbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(
            url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1",
            traits: ["ConfigurationSupport"]),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        // MARK: C at the edge
        .systemLibrary(
            name: "CTillOpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "CTillOpenSSLShims", dependencies: ["CTillOpenSSL"]),
        .systemLibrary(
            name: "CTillCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(name: "CTillCurlShims", dependencies: ["CTillCurl"]),
        .systemLibrary(
            name: "CTillCairo",
            pkgConfig: "pangocairo",
            providers: [.apt(["libcairo2-dev", "libpango1.0-dev"])]
        ),

        // MARK: Libraries
        // Each Swift module's folder has a README.md saying its job; it is documentation, not a
        // source, so it is excluded (SwiftPM warns about an unhandled file otherwise).
        .target(name: "TillCore", exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "TillCrypto",
            dependencies: ["CTillOpenSSL", "CTillOpenSSLShims"],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TillHTTP",
            dependencies: ["CTillCurl", "CTillCurlShims"],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),

        // Email's transport: MIME messages and SMTP delivery over libcurl, and an in-memory
        // mailbox for sandbox mode. No store, no billing types.
        .target(
            name: "TillMail",
            dependencies: ["CTillCurl", "CTillCurlShims"],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        // Invoices and credit notes as documents: formatted for the customer's locale, as
        // HTML from Mustache templates and as PDF/PNG through Cairo and Pango.
        .target(
            name: "TillDocuments",
            dependencies: [
                "TillCore", "TillBilling", "CTillCairo",
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "TillGateway",
            dependencies: [
                "TillCore", "TillCrypto", "TillHTTP",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "TillStore",
            dependencies: [
                "TillCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "TillVault",
            dependencies: [
                // No GRDB: the vault's rows are behind TillStore's VaultStore.
                "TillCore", "TillCrypto", "TillStore",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),

        // The payment engine: payments through the state machine and the gateways, by token.
        // No HTTP serving in sight: the server, and billing, build on it.
        .target(
            name: "TillPayments",
            dependencies: [
                "TillCore", "TillCrypto", "TillGateway", "TillStore", "TillAudit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),

        // Billing's pure domain: catalog, subscriptions, invoices, credit notes, and their
        // arithmetic over TillCore money and a clock passed in. No I/O of any kind.
        .target(name: "TillBilling", dependencies: ["TillCore"], exclude: ["README.md"], swiftSettings: swiftSettings),

        // Billing's engine: its documents through the store, money through the payment engine
        // by token, time through a durable scheduler and test clocks.
        .target(
            name: "TillBillingEngine",
            dependencies: [
                "TillCore", "TillBilling", "TillPayments", "TillStore", "TillAudit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "TillServer",
            dependencies: [
                "TillCore", "TillCrypto", "TillGateway", "TillHTTP", "TillStore", "TillVault", "TillAudit", "TillPayments",
                "TillBilling", "TillBillingEngine", "TillMail", "TillDocuments", "StripeGateway", "PayPalGateway",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            exclude: ["README.md"],
            // The OpenAPI document, served at /openapi.json.
            resources: [.embedInCode("openapi.json")],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "TillAudit",
            dependencies: [
                "TillCore", "TillCrypto",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),

        // MARK: Gateway plugins
        .target(
            name: "StripeGateway",
            dependencies: [
                "TillGateway", "TillCore", "TillCrypto", "TillHTTP",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "gateways/stripe/Sources",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PayPalGateway",
            dependencies: [
                "TillGateway", "TillCore", "TillCrypto", "TillHTTP",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "gateways/paypal/Sources",
            swiftSettings: swiftSettings
        ),

        // MARK: Sandbox gateways (separate gateways: never depend on the daemon)
        .target(
            name: "SandboxSupport",
            dependencies: [
                "TillCore", "TillCrypto", "TillHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "sandbox/support/Sources",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "StripeSandbox",
            dependencies: [
                "SandboxSupport", "TillCore", "TillCrypto",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "sandbox/stripe/Sources",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PayPalSandbox",
            dependencies: [
                "SandboxSupport", "TillCore", "TillCrypto",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "sandbox/paypal/Sources",
            swiftSettings: swiftSettings
        ),

        // MARK: What every test shares
        .target(
            name: "TillTesting",
            dependencies: [
                "SandboxSupport", "StripeSandbox", "PayPalSandbox", "TillHTTP", "TillGateway",
                "StripeGateway", "PayPalGateway", "TillServer", "TillStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),

        // MARK: The executable
        .executableTarget(
            name: "till",
            dependencies: [
                "TillCore", "TillCrypto", "TillStore", "TillVault", "TillAudit", "TillServer", "TillGateway", "TillHTTP",
                "TillBilling", "TillBillingEngine", "TillMail", "StripeSandbox", "PayPalSandbox", "SandboxSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),

        // MARK: Tests
        .testTarget(
            name: "TillCoreTests",
            dependencies: [
                "TillCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TillBillingTests",
            dependencies: [
                "TillBilling", "TillCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TillCryptoTests",
            dependencies: ["TillCrypto"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TillHTTPTests",
            dependencies: [
                "TillHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TillDocumentsTests",
            dependencies: ["TillDocuments", "TillBilling", "TillCore"],
            // Golden layouts, read by path and rewritten with TILL_UPDATE_GOLDENS=1.
            exclude: ["Goldens"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TillMailTests",
            dependencies: ["TillMail"],
            // The loopback SMTP server the delivery tests start, run from the package's venv.
            exclude: ["smtp_sink.py"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SandboxSupportTests",
            dependencies: ["SandboxSupport", "TillTesting", "TillHTTP"],
            path: "sandbox/support/Tests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StripeSandboxTests",
            dependencies: ["StripeSandbox", "TillTesting", "TillHTTP"],
            path: "sandbox/stripe/Tests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PayPalSandboxTests",
            dependencies: ["PayPalSandbox", "TillTesting", "TillHTTP", "TillCrypto", "TillCore"],
            path: "sandbox/paypal/Tests",
            swiftSettings: swiftSettings
        ),
            .testTarget(
            name: "TillGatewayTests",
            dependencies: [
                "TillGateway", "TillCore", "TillHTTP", "TillCrypto",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StripeGatewayTests",
            dependencies: ["StripeGateway", "TillGateway", "TillTesting", "TillCore", "TillCrypto", "TillHTTP"],
            path: "gateways/stripe/Tests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PayPalGatewayTests",
            dependencies: ["PayPalGateway", "TillGateway", "TillTesting", "TillCore", "TillCrypto", "TillHTTP"],
            path: "gateways/paypal/Tests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayContractTests",
            dependencies: ["TillGateway", "TillTesting", "TillCore", "TillCrypto", "SandboxSupport"],
            path: "gateways/contract",
            swiftSettings: swiftSettings
        ),
            .testTarget(
            name: "TillStoreTests",
            dependencies: [
                "TillStore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
            .testTarget(
            name: "TillVaultTests",
            dependencies: [
                "TillVault", "TillStore", "TillCore", "TillCrypto",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
            .testTarget(
            name: "TillPaymentsTests",
            dependencies: [
                "TillPayments", "TillTesting", "TillCore", "TillCrypto", "TillGateway", "TillStore", "TillAudit",
                "SandboxSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TillServerTests",
            dependencies: [
                "TillServer", "TillTesting", "TillCore", "TillCrypto", "TillHTTP", "TillStore", "TillGateway",
                "SandboxSupport", "TillAudit", "PayPalSandbox", "TillPayments",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
            .testTarget(
            name: "TillAuditTests",
            dependencies: ["TillAudit", "TillCrypto"],
            swiftSettings: swiftSettings
        ),

        // MARK: Fuzzing
        // libFuzzer targets, one per parser of outside input. Built
        // with `--sanitize=fuzzer -Xswiftc -DTILL_FUZZING` by .ci/fuzz; a plain build makes
        // them replayers of saved inputs.
        .target(name: "FuzzSupport", path: "Tests/Fuzz/FuzzSupport", swiftSettings: swiftSettings),
        fuzzTarget("FuzzMoney", ["TillCore"]),
        fuzzTarget("FuzzCardNumber", ["TillCore"]),
        fuzzTarget("FuzzAuditLine", ["TillAudit"]),
        fuzzTarget("FuzzCheckpoint", ["TillAudit"]),
        fuzzTarget(
            "FuzzWebhooks",
            [
                "StripeGateway", "PayPalGateway", "TillGateway", "TillCrypto", "TillHTTP",
                .product(name: "Logging", package: "swift-log"),
            ]),
        fuzzTarget("FuzzStripeForm", ["StripeSandbox"]),
        fuzzTarget("FuzzPayPalJSON", ["PayPalSandbox"]),
        fuzzTarget("FuzzRequestBody", ["TillServer"]),
        fuzzTarget("FuzzWebhookURL", ["TillServer"]),
        fuzzTarget("FuzzCertificates", ["TillCrypto"]),
        fuzzTarget("FuzzCertificateURL", ["PayPalGateway"]),
    ]
)

/// A fuzz target under `Tests/Fuzz/<name>`.
func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(
        name: name, dependencies: ["FuzzSupport"] + dependencies, path: "Tests/Fuzz/\(name)",
        swiftSettings: swiftSettings)
}

