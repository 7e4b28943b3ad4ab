import Foundation

/// The built `till` executable and running it as a separate process: what tests use to
/// exercise the command line, and to kill and restart the daemon.
public final class TillProcess: @unchecked Sendable {
    // @unchecked: `Process` is not Sendable; this class only reads it after `run()` and
    // signals it, which Foundation allows from any thread.

    /// The `till` executable beside the test bundle, if it was built.
    public static let binary: String? = {
        let me = URL(
            fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0])
        var directory = me.deletingLastPathComponent()
        // On Linux the tests run from `<build>/tillPackageTests.xctest`; on macOS from inside a bundle.
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("till").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return nil
    }()

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    public let process = Process()
    /// Where its standard output and error go (files: a pipe nobody drains could stall it).
    public let directory: String

    /// Starts `till arguments…` with `TILL_VAULT_KEK` removed from the environment.
    public init(_ arguments: [String]) throws {
        guard let binary = Self.binary else { throw Failure("the till executable is not built") }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("till-process-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: directory + "/out", contents: nil)
        _ = FileManager.default.createFile(atPath: directory + "/err", contents: nil)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["TILL_VAULT_KEK"] = nil
        process.environment = environment
        process.standardOutput = FileHandle(forWritingAtPath: directory + "/out")
        process.standardError = FileHandle(forWritingAtPath: directory + "/err")
        try process.run()
    }

    public var output: String { (try? String(contentsOfFile: directory + "/out", encoding: .utf8)) ?? "" }
    public var errorOutput: String { (try? String(contentsOfFile: directory + "/err", encoding: .utf8)) ?? "" }
    public var isRunning: Bool { process.isRunning }

    /// Waits for the process to exit, interrupting it after `limit`.
    public func waitForExit(within limit: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + limit
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                process.interrupt()
                throw Failure("till \(process.arguments ?? []) did not exit in time; stderr: \(errorOutput)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return process.terminationStatus
    }

    /// SIGTERM: a graceful stop.
    public func terminate() { if process.isRunning { process.terminate() } }

    /// SIGKILL: a crash, as abrupt as a power cut for the process.
    public func kill() async {
        guard process.isRunning else { return }
        _ = Foundation.kill(process.processIdentifier, SIGKILL)
        _ = try? await waitForExit(within: .seconds(10))
    }

    deinit {
        if process.isRunning { _ = Foundation.kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
