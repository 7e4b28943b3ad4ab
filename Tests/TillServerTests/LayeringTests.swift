import Foundation
import Testing

/// The arrows between modules point down: each module imports only the modules below it.
/// Read from the sources, so a stray import fails here rather than in review.
@Suite("Module layering")
struct LayeringTests {
    static let sources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources")

    /// Every module a file of `module` imports.
    static func imports(of module: String) throws -> Set<String> {
        let folder = sources.appendingPathComponent(module)
        var found = Set<String>()
        let files = try FileManager.default.subpathsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".swift") }
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ")
                guard let index = words.firstIndex(of: "import"), index <= 1, index + 1 < words.count else { continue }
                found.insert(String(words[index + 1]))
            }
        }
        return found
    }

    @Test("TillPayments builds on the gateway, store, audit and core modules, and nothing of HTTP serving or the vault")
    func payments() throws {
        let allowed: Set = [
            "Foundation", "Logging", "ServiceLifecycle", "Synchronization", "TillCore", "TillCrypto", "TillGateway",
            "TillStore", "TillAudit",
        ]
        let imported = try Self.imports(of: "TillPayments")
        #expect(imported.contains("TillGateway") && imported.contains("TillStore"))
        #expect(imported.subtracting(allowed).isEmpty, "unexpected imports: \(imported.subtracting(allowed).sorted())")
    }

    @Test("TillBilling is pure: TillCore and Foundation, no storage, payments, gateways or HTTP")
    func billingIsPure() throws {
        let imported = try Self.imports(of: "TillBilling")
        #expect(imported.contains("TillCore"))
        #expect(imported.subtracting(["Foundation", "TillCore"]).isEmpty, "unexpected imports: \(imported.subtracting(["Foundation", "TillCore"]).sorted())")
    }

    @Test("TillBillingEngine charges through TillPayments and never sees a gateway, the vault or HTTP serving")
    func billingEngine() throws {
        let imported = try Self.imports(of: "TillBillingEngine")
        #expect(imported.contains("TillPayments") && imported.contains("TillBilling"))
        let forbidden: Set = ["TillGateway", "TillVault", "TillServer", "Hummingbird", "NIOCore", "HTTPTypes", "GRDB", "TillHTTP"]
        #expect(imported.isDisjoint(with: forbidden), "imports \(imported.intersection(forbidden).sorted())")
    }

    @Test("TillCore, TillStore and TillGateway never import a module above them")
    func lowerModules() throws {
        let above: Set = ["TillBilling", "TillPayments", "TillServer", "TillVault", "Hummingbird", "NIOCore", "HTTPTypes"]
        for module in ["TillCore", "TillStore", "TillGateway", "TillAudit"] {
            let imported = try Self.imports(of: module)
            #expect(imported.isDisjoint(with: above), "\(module) imports \(imported.intersection(above).sorted())")
        }
    }

    @Test("Only TillStore speaks SQL: the vault and the engine reach their rows through its protocols")
    func onlyTheStoreSpeaksSQL() throws {
        for module in ["TillVault", "TillPayments", "TillCore", "TillGateway", "TillAudit"] {
            #expect(!(try Self.imports(of: module)).contains("GRDB"), "\(module) imports GRDB")
        }
    }
}
