import Foundation
import SandboxSupport
import Synchronization
import TillHTTP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `till serve --sandbox` attached to the load run's sandboxes, as a child process of this
/// same executable, with a fresh data directory that is removed when it stops.
final class LoadDaemon: @unchecked Sendable {
    // @unchecked: `Process` is not Sendable; it is only read after `run()` and signalled,
    // which Foundation allows from any thread.
    private let process: Process
    let directory: String
    let baseURL: String
    let secretKey: String
    let publishableKey: String

    private init(process: Process, directory: String, baseURL: String, secretKey: String, publishableKey: String) {
        self.process = process
        self.directory = directory
        self.baseURL = baseURL
        self.secretKey = secretKey
        self.publishableKey = publishableKey
    }

    var pid: Int32 { process.processIdentifier }

    /// Starts the daemon and waits until its credentials file names a URL that answers.
    static func start(sandboxArguments: [String], http: HTTPClient) async throws -> LoadDaemon {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("till-load-\(UUID().uuidString)").path
        let data = directory + "/data"
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw LoadError("cannot create the daemon's directory \(directory): \(error.localizedDescription)")
        }
        _ = FileManager.default.createFile(atPath: directory + "/out", contents: nil)
        _ = FileManager.default.createFile(atPath: directory + "/err", contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments =
            ["serve", "--sandbox"] + sandboxArguments + ["--data", data, "--port", "0", "--log-level", "error"]
        var environment = ProcessInfo.processInfo.environment
        // A fresh data directory gets its own key file; an inherited key is not the run's.
        environment["TILL_VAULT_KEK"] = nil
        process.environment = environment
        // Files, not pipes: a pipe nobody drains could stall the daemon.
        process.standardOutput = FileHandle(forWritingAtPath: directory + "/out")
        process.standardError = FileHandle(forWritingAtPath: directory + "/err")
        do {
            try process.run()
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw LoadError("cannot start \(executable) serve: \(error.localizedDescription)")
        }
        let path = data + "/sandbox-credentials.json"
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                let stderr = (try? String(contentsOfFile: directory + "/err", encoding: .utf8)) ?? ""
                try? FileManager.default.removeItem(atPath: directory)
                throw LoadError("till serve exited with status \(process.terminationStatus): \(stderr)")
            }
            if let bytes = FileManager.default.contents(atPath: path),
                let credentials = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any],
                let base = credentials["api_base_url"] as? String,
                let secret = credentials["secret_key"] as? String,
                let publishable = credentials["publishable_key"] as? String,
                (try? await http.execute(HTTPRequest(method: .GET, url: base + "/healthz")))?.status == 200
            {
                return LoadDaemon(
                    process: process, directory: directory, baseURL: base, secretKey: secret, publishableKey: publishable)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        _ = kill(process.processIdentifier, SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
        throw LoadError("till serve did not become ready within 90 s")
    }

    /// SIGTERM, then SIGKILL if it has not stopped within 30 s; then removes its files.
    func stop() async {
        if process.isRunning { process.terminate() }
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { _ = kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Samples a process's resident set size (VmRSS in `/proc/<pid>/status`).
final class MemorySampler: Sendable {
    let pid: Int32
    private let taken = Mutex<[Int]>([])

    init(pid: Int32) { self.pid = pid }

    /// Resident kilobytes, in the order taken.
    var samples: [Int] { taken.withLock { $0 } }

    /// Samples until the task is cancelled.
    func run(every interval: Duration) async {
        while !Task.isCancelled {
            if let kilobytes = Self.residentKilobytes(pid: pid) { taken.withLock { $0.append(kilobytes) } }
            try? await Task.sleep(for: interval)
        }
    }

    static func residentKilobytes(pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        }
        return nil
    }
}

/// A sandbox's admin API, as the load run needs it.
struct LoadSandbox: Sendable {
    let url: String
    let http: HTTPClient

    /// One rule per fault kind, each firing on `share` of the sandbox's POSTs.
    static func faults(share: Double) -> [FaultRule] {
        [
            FaultRule(kind: .latency, latencyMilliseconds: 250, share: share, method: "POST"),
            FaultRule(kind: .error, status: 503, share: share, method: "POST"),
            FaultRule(kind: .dropAfterCommit, share: share, method: "POST"),
        ]
    }

    func inject(_ rule: FaultRule) async throws {
        _ = try await call(.POST, "/_sandbox/faults", body: Array(try JSONEncoder().encode(rule)))
    }

    func clearFaults() async throws {
        _ = try await call(.DELETE, "/_sandbox/faults", body: nil)
    }

    func ledger() async throws -> [LedgerEntry] {
        struct List: Decodable { var data: [LedgerEntry] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(List.self, from: Data(try await call(.GET, "/_sandbox/ledger", body: nil))).data
        } catch let error as LoadError {
            throw error
        } catch {
            throw LoadError("the sandbox at \(url) sent a ledger that does not decode: \(error)")
        }
    }

    private func call(_ method: HTTPMethod, _ path: String, body: [UInt8]?) async throws -> [UInt8] {
        let response: HTTPResponse
        do {
            response = try await http.execute(
                HTTPRequest(
                    method: method, url: url + path, headers: body == nil ? [:] : ["Content-Type": "application/json"],
                    body: body))
        } catch {
            throw LoadError("\(method) \(url)\(path): \(error)")
        }
        guard (200..<300).contains(response.status) else {
            throw LoadError("\(method) \(url)\(path): HTTP \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        return response.body
    }
}
