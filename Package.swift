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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
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

        // MARK: Libraries
        .target(name: "TillCore", swiftSettings: swiftSettings),
        .target(
            name: "TillCrypto",
            dependencies: ["CTillOpenSSL", "CTillOpenSSLShims"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TillHTTP",
            dependencies: ["CTillCurl", "CTillCurlShims"],
            swiftSettings: swiftSettings
        ),

        // MARK: The executable
        .executableTarget(
            name: "till",
            dependencies: [
                "TillCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
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
    ]
)
