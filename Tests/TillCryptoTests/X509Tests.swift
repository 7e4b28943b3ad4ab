import Foundation
import Testing
import TillCrypto

/// Runs the `openssl` command line in `directory`; the cross-checks below prove that Till
/// reads and writes what the reference implementation does, not just what it writes itself.
@discardableResult
func openssl(_ arguments: [String], in directory: URL, input: [UInt8]? = nil) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl"] + arguments
    process.currentDirectoryURL = directory
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input)) }
    try stdin.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "openssl \(arguments) failed"])
    }
    return Array(data)
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("till-x509-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func read(_ name: String, in directory: URL) throws -> String {
    try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
}

/// A CA, an intermediate and a leaf made with our issuer, valid around `now`.
struct TestPKI {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    let root: X509Issuer
    let intermediate: X509Issuer
    let leafKey: RSAPrivateKey
    let leaf: X509Certificate

    init(leafNotBefore: Date = now - 3600, leafNotAfter: Date = now + 86_400) throws {
        root = try .selfSigned(
            commonName: "Till Test Root", key: .generate(), notBefore: Self.now - 86_400, notAfter: Self.now + 864_000)
        let intermediateKey = try RSAPrivateKey.generate()
        intermediate = X509Issuer(
            certificate: try root.issue(
                commonName: "Till Test Intermediate", subjectKey: intermediateKey,
                notBefore: Self.now - 86_400, notAfter: Self.now + 864_000, isCA: true),
            key: intermediateKey)
        leafKey = try .generate()
        leaf = try intermediate.issue(
            commonName: "messageverificationcerts.test", subjectKey: leafKey,
            notBefore: leafNotBefore, notAfter: leafNotAfter)
    }
}

@Suite("X.509 and RSA")
struct X509Tests {
    @Test("A chain we issue verifies at a time inside every validity period")
    func issuedChainVerifies() throws {
        let pki = try TestPKI()
        let store = try X509TrustStore(pem: pki.root.certificate.pemRepresentation)
        try store.verify(pki.leaf, intermediates: [pki.intermediate.certificate], at: TestPKI.now)
        #expect(pki.root.certificate.isCA)
        #expect(pki.intermediate.certificate.isCA)
        #expect(!pki.leaf.isCA)
        #expect(pki.leaf.subject.contains("CN=messageverificationcerts.test"))
        #expect(pki.leaf.issuer.contains("CN=Till Test Intermediate"))
        #expect(pki.leaf.notBefore == TestPKI.now - 3600)
        #expect(pki.leaf.notAfter == TestPKI.now + 86_400)
    }

    @Test("Missing intermediate, wrong CA, expired and not-yet-valid are refused with a reason")
    func refusals() throws {
        let pki = try TestPKI()
        let store = try X509TrustStore(pem: pki.root.certificate.pemRepresentation)
        #expect(throws: X509VerificationError.self) { try store.verify(pki.leaf, at: TestPKI.now) }

        let other = try TestPKI()
        let otherStore = try X509TrustStore(anchors: [other.root.certificate])
        #expect(throws: X509VerificationError.self) {
            try otherStore.verify(pki.leaf, intermediates: [pki.intermediate.certificate], at: TestPKI.now)
        }

        do {
            try store.verify(pki.leaf, intermediates: [pki.intermediate.certificate], at: TestPKI.now + 2 * 86_400)
            Issue.record("expired leaf verified")
        } catch {
            #expect(error.isExpired, "\(error)")
        }
        do {
            try store.verify(pki.leaf, intermediates: [pki.intermediate.certificate], at: TestPKI.now - 7200)
            Issue.record("not-yet-valid leaf verified")
        } catch {
            #expect(error.isNotYetValid, "\(error)")
        }
    }

    @Test("A leaf cannot act as a CA")
    func leafAsCA() throws {
        let pki = try TestPKI()
        let rogue = X509Issuer(certificate: pki.leaf, key: pki.leafKey)
        let victim = try rogue.issue(
            commonName: "rogue", subjectKey: .generate(), notBefore: TestPKI.now - 60, notAfter: TestPKI.now + 60)
        let store = try X509TrustStore(anchors: [pki.root.certificate])
        #expect(throws: X509VerificationError.self) {
            try store.verify(victim, intermediates: [pki.leaf, pki.intermediate.certificate], at: TestPKI.now)
        }
    }

    @Test("Signatures: our sign/verify, tampered signature and message, wrong key")
    func signatures() throws {
        let key = try RSAPrivateKey.generate()
        let message = bytes("id|2026-12-03T07:00:00Z|WH-1|12345")
        let signature = try key.signature(for: message)
        #expect(signature.count == 256)
        let publicKey = try key.publicKey
        #expect(publicKey.bitCount == 2048)
        #expect(publicKey.isValidSignature(signature, for: message))
        #expect(!publicKey.isValidSignature(flipping(signature, byte: 10), for: message))
        #expect(!publicKey.isValidSignature(signature, for: flipping(message, byte: 0)))
        #expect(!publicKey.isValidSignature([], for: message))
        #expect(!(try RSAPrivateKey.generate().publicKey).isValidSignature(signature, for: message))
        let reloaded = try RSAPrivateKey(pem: key.pemRepresentation())
        #expect(try reloaded.publicKey.isValidSignature(reloaded.signature(for: message), for: message))
        #expect(publicKey.isValidSignature(try reloaded.signature(for: message), for: message))
    }

    @Test("Cross-check with the openssl CLI: it signs and makes the chain, we verify; and the reverse")
    func crossCheckWithCLI() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try openssl(
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
             "-subj", "/CN=CLI Root",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            in: directory)
        try openssl(
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=CLI Leaf"],
            in: directory)
        try "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
            .write(to: directory.appendingPathComponent("leaf.ext"), atomically: true, encoding: .utf8)
        try openssl(
            ["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "leaf.pem", "-days", "7", "-extfile", "leaf.ext"],
            in: directory)
        let message = bytes("transmission|time|webhook|crc")
        try Data(message).write(to: directory.appendingPathComponent("message"))
        try openssl(["dgst", "-sha256", "-sign", "leaf.key", "-out", "message.sig", "message"], in: directory)

        let leaf = try X509Certificate(pem: read("leaf.pem", in: directory))
        let store = try X509TrustStore(bundleFile: directory.appendingPathComponent("ca.pem").path)
        try store.verify(leaf, at: Date())
        let signature = try Array(Data(contentsOf: directory.appendingPathComponent("message.sig")))
        #expect(try leaf.publicKey.isValidSignature(signature, for: message))
        #expect(!(try leaf.publicKey.isValidSignature(signature, for: message + [0])))

        // DER from the CLI parses to the same certificate.
        let der = try openssl(["x509", "-in", "leaf.pem", "-outform", "DER"], in: directory)
        #expect(try X509Certificate(der: der).derBytes == leaf.derBytes)

        // The reverse: a key and signature of ours, checked by the CLI.
        let key = try RSAPrivateKey(pem: read("leaf.key", in: directory))
        try Data(key.signature(for: message)).write(to: directory.appendingPathComponent("ours.sig"))
        try openssl(["x509", "-in", "leaf.pem", "-pubkey", "-noout", "-out", "leaf.pub"], in: directory)
        try openssl(["dgst", "-sha256", "-verify", "leaf.pub", "-signature", "ours.sig", "message"], in: directory)

        // And a chain of ours, checked by the CLI under -x509_strict.
        let pki = try TestPKI(leafNotBefore: Date() - 3600, leafNotAfter: Date() + 3600)
        let fresh = try X509Issuer.selfSigned(
            commonName: "Fresh Root", key: .generate(), notBefore: Date() - 3600, notAfter: Date() + 86_400)
        let freshLeaf = try fresh.issue(
            commonName: "Fresh Leaf", subjectKey: pki.leafKey, notBefore: Date() - 60, notAfter: Date() + 3600)
        try fresh.certificate.pemRepresentation.write(
            to: directory.appendingPathComponent("fresh-ca.pem"), atomically: true, encoding: .utf8)
        try freshLeaf.pemRepresentation.write(
            to: directory.appendingPathComponent("fresh-leaf.pem"), atomically: true, encoding: .utf8)
        try openssl(["verify", "-x509_strict", "-CAfile", "fresh-ca.pem", "fresh-leaf.pem"], in: directory)
        #expect(throws: (any Error).self) {
            try openssl(["verify", "-x509_strict", "-CAfile", "ca.pem", "fresh-leaf.pem"], in: directory)
        }
    }

    @Test("Chains parse in order; garbage, spliced and oversized PEM is refused without crashing")
    func parsing() throws {
        let pki = try TestPKI()
        let chainPEM = pki.leaf.pemRepresentation + pki.intermediate.certificate.pemRepresentation
        let chain = try X509Certificate.chain(pem: chainPEM)
        #expect(chain.map(\.derBytes) == [pki.leaf.derBytes, pki.intermediate.certificate.derBytes])
        #expect(throws: CryptoError.self) { try X509Certificate(pem: chainPEM) }

        let garbage = [
            "", "hello", "-----BEGIN CERTIFICATE-----\n", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
            pki.leaf.pemRepresentation + "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
            String(pki.leaf.pemRepresentation.dropLast(40)),
            String(repeating: "A", count: X509Certificate.maximumInputBytes + 1),
        ]
        for text in garbage {
            #expect(throws: CryptoError.self) { try X509Certificate.chain(pem: text) }
        }
        let der = pki.leaf.derBytes
        for bad in [[], Array(der.dropLast()), der + [0], [0x30, 0x82, 0xff, 0xff], flipping(der, byte: 1, bit: 7)] {
            #expect(throws: CryptoError.self) { try X509Certificate(der: bad) }
        }
        #expect(throws: CryptoError.self) { try RSAPrivateKey(pem: "-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----\n") }
        #expect(throws: CryptoError.self) { try X509TrustStore(bundleFile: "/nonexistent/bundle.pem") }
    }
}
