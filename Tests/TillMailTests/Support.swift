import Foundation
import Testing
@testable import TillMail

/// A parsed view of the encoder's output (which is 7-bit ASCII), enough for assertions.
struct RawMessage {
    let text: String
    var lines: [String] { text.components(separatedBy: "\r\n") }

    init(_ data: Data) {
        text = String(decoding: data, as: UTF8.self)
    }

    /// The unfolded value of the first header `name` in the top-level header block.
    func header(_ name: String) -> String? {
        Self.headers(of: text)[name.lowercased()]
    }

    /// Header block → lowercased name → unfolded value (first occurrence wins).
    static func headers(of entity: String) -> [String: String] {
        let block = entity.components(separatedBy: "\r\n\r\n").first ?? ""
        let unfolded = block.replacingOccurrences(of: "\r\n ", with: " ").replacingOccurrences(of: "\r\n\t", with: "\t")
        var result: [String: String] = [:]
        for line in unfolded.components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            if result[name] == nil {
                result[name] = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            }
        }
        return result
    }

    /// The parts between `--boundary` delimiters.
    static func parts(of entity: String, boundary: String) -> [String] {
        let pieces = entity.components(separatedBy: "\r\n--" + boundary)
        // Piece 0 is the preamble (or headers + preamble); the last starts with "--".
        return pieces.dropFirst().compactMap { piece in
            piece.hasPrefix("--") ? nil : String(piece.dropFirst())  // the CRLF after the delimiter: one Character in Swift
        }
    }

    static func body(of entity: String) -> String {
        guard let range = entity.range(of: "\r\n\r\n") else { return "" }
        return String(entity[range.upperBound...])
    }

    static func boundary(in contentType: String) -> String? {
        guard let range = contentType.range(of: "boundary=\"") else { return nil }
        let rest = contentType[range.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }
}

/// RFC 2045 quoted-printable decoding, to check the encoder's output round-trips.
func decodeQuotedPrintable(_ text: String) -> [UInt8] {
    var output: [UInt8] = []
    let bytes = Array(text.utf8)
    var index = 0
    while index < bytes.count {
        let byte = bytes[index]
        if byte == UInt8(ascii: "=") {
            if index + 2 < bytes.count, bytes[index + 1] == 0x0D, bytes[index + 2] == 0x0A {
                index += 3
                continue
            }
            if index + 2 < bytes.count, let value = UInt8(String(decoding: bytes[(index + 1)...(index + 2)], as: UTF8.self), radix: 16) {
                output.append(value)
                index += 3
                continue
            }
        }
        output.append(byte)
        index += 1
    }
    return output
}

/// Decodes a header value made of RFC 2047 `B` encoded-words (and plain text between them).
func decodeEncodedWords(_ value: String) -> String {
    var result: [UInt8] = []
    var previousWasWord = false
    for token in value.split(separator: " ", omittingEmptySubsequences: false) {
        if token.hasPrefix("=?UTF-8?B?"), token.hasSuffix("?=") {
            let payload = token.dropFirst(10).dropLast(2)
            result += Data(base64Encoded: String(payload)).map(Array.init) ?? []
            previousWasWord = true
        } else {
            if !result.isEmpty || previousWasWord { result.append(UInt8(ascii: " ")) }
            result += Array(token.utf8)
            previousWasWord = false
        }
    }
    return String(decoding: result, as: UTF8.self)
}

/// A small binary file that looks like a PDF and has every byte value, CR and LF included.
func pdfLikeBytes() -> Data {
    var bytes = Array("%PDF-1.7\n%\u{E2}\u{E3}\u{CF}\u{D3}\n".utf8)
    for round in 0..<40 {
        bytes += (0...255).map { UInt8(($0 + round * 7) & 0xFF) }
    }
    bytes += Array("\r\n--=_Till_m_\r\n.\r\n%%EOF\n".utf8)
    return Data(bytes)
}

func mailError(_ body: () throws -> Void) -> MailError? {
    do {
        try body()
        return nil
    } catch let error as MailError {
        return error
    } catch {
        Issue.record("expected a MailError, got \(error)")
        return nil
    }
}

/// The package root, from this file's path: Tests/TillMailTests/Support.swift.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// `smtp_sink.py` running under the package's venv, with its spool directory.
struct SMTPSink {
    let process: Process
    let directory: URL
    let port: Int

    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    /// One delivery as the sink recorded it.
    struct Received {
        let json: [String: Any]
        let raw: Data
        var parsed: [String: Any] { json["parsed"] as? [String: Any] ?? [:] }
        var rcptTos: [String] { json["rcpt_tos"] as? [String] ?? [] }
        var mailFrom: String? { json["mail_from"] as? String }
    }

    static func start(user: String? = nil, password: String? = nil) async throws -> SMTPSink {
        let python = packageRoot.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw Failed(description: "no venv at \(python): run .ci/install-deps")
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("till-mail-sink-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        var arguments = [packageRoot.appendingPathComponent("Tests/TillMailTests/smtp_sink.py").path, "--directory", directory.path]
        if let user { arguments += ["--user", user, "--password", password ?? ""] }
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let errorLog = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: errorLog.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errorLog)
        try process.run()
        let portFile = directory.appendingPathComponent("port")
        for _ in 0..<600 {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text) {
                return SMTPSink(process: process, directory: directory, port: port)
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let log = (try? String(contentsOf: errorLog, encoding: .utf8)) ?? ""
        await SMTPSink(process: process, directory: directory, port: 0).stop()
        throw Failed(description: "smtp_sink.py did not start: \(log)")
    }

    /// SIGKILL, because a child spawned from a pool thread inherits that thread's signal
    /// mask, in which SIGTERM may be blocked; then polls, never blocking a pool thread.
    func stop() async {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for _ in 0..<200 where process.isRunning {
            try? await Task.sleep(for: .milliseconds(50))
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// The deliveries so far, in order (the sink writes each JSON file whole).
    func received() throws -> [Received] {
        var result: [Received] = []
        var index = 1
        while let data = try? Data(contentsOf: directory.appendingPathComponent("\(index).json")) {
            let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
            let raw = try Data(contentsOf: directory.appendingPathComponent("\(index).eml"))
            result.append(Received(json: json, raw: raw))
            index += 1
        }
        return result
    }

    func configuration(username: String? = nil, password: String? = nil) throws -> SMTPConfiguration {
        try SMTPConfiguration(
            url: "smtp://127.0.0.1:\(port)", username: username, password: password, startTLS: .never,
            connectTimeout: .seconds(10), totalTimeout: .seconds(30), heloName: "till.test")
    }
}

/// Runs `body` with a fresh sink and stops the Python process whatever happens.
func withSMTPSink<T>(user: String? = nil, password: String? = nil, _ body: (SMTPSink) async throws -> T) async throws -> T {
    let sink = try await SMTPSink.start(user: user, password: password)
    do {
        let result = try await body(sink)
        await sink.stop()
        return result
    } catch {
        await sink.stop()
        throw error
    }
}

/// A loopback port with nothing listening: bound, read, then closed.
func closedLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw SMTPSink.Failed(description: "socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw SMTPSink.Failed(description: "bind failed") }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw SMTPSink.Failed(description: "getsockname failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}
