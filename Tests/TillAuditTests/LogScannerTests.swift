import Foundation
import TillCrypto
import Testing
@testable import TillAudit

/// The scanner splits each chunk into pieces hashed on two threads; whatever the chunk
/// and piece boundaries, every line must come out in order with its own hash and offset.
@Suite("Log scanner")
struct LogScannerTests {
    @Test("lines across many chunks and pieces keep their order, offsets and leaf hashes", arguments: [300, 4096, 1 << 20])
    func piecesMatchSequentialHashing(bufferSize: Int) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var configuration = AuditLog.Configuration(directory: directory.path, origin: "test.till.local/audit")
        configuration.checkpointInterval = .seconds(3600)
        let log = try await AuditLog.open(configuration, logger: quietLogger)
        // About 800 KB: a dozen 64 KiB pieces in one chunk, many chunks with small buffers.
        for batch in 0..<30 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for number in 0..<100 { group.addTask { try await log.append(event(batch * 100 + number)) } }
                try await group.waitForAll()
            }
        }
        try await log.close()
        let files = LogFiles(configuration: configuration)
        let lines = files.lines
        var expectedOffset = 0
        var seen = 0
        try LogScanner.scan(path: configuration.logPath, bufferSize: bufferSize) { line throws(AuditError) in
            guard seen < lines.count else {
                Issue.record("more lines than the file has")
                return
            }
            let bytes = Array(lines[seen].utf8)
            #expect(line.index == UInt64(seen))
            #expect(line.byteOffset == expectedOffset)
            #expect(line.length == bytes.count)
            #expect(line.hash == MerkleHash.leaf(bytes))
            if case .entry(let sequence, _) = line.kind {
                #expect(sequence == UInt64(seen))
            } else {
                Issue.record("line \(seen) is not an entry")
            }
            expectedOffset += bytes.count + 1
            seen += 1
        }
        #expect(seen == lines.count)
        #expect(try files.verify().status == .intact)
    }

    @Test("a change deep in a later piece is found at its entry")
    func tamperInLaterPiece() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var configuration = AuditLog.Configuration(directory: directory.path, origin: "test.till.local/audit")
        configuration.checkpointInterval = .seconds(3600)
        let log = try await AuditLog.open(configuration, logger: quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for number in 0..<2500 { group.addTask { try await log.append(event(number)) } }
            try await group.waitForAll()
        }
        try await log.close()
        let files = LogFiles(configuration: configuration)
        files.lines[2001] = files.lines[2001].replacingOccurrences(of: "pay_", with: "PAY_")
        let report = try files.verify()
        #expect(report.problem?.reason == .modifiedEntry)
        #expect(report.problem?.entry == 2001)
    }

    @Test("a body that throws mid-scan stops it with that error, the helper still hashing the next chunk",
          arguments: [300, 4096, 65_536])
    func throwingBodyStopsCleanly(bufferSize: Int) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let files = try await makeLog(in: directory, count: 1500)
        var seen = 0
        do throws(AuditError) {
            try LogScanner.scan(path: files.configuration.logPath, bufferSize: bufferSize) { line throws(AuditError) in
                #expect(line.index == UInt64(seen))
                seen += 1
                if seen == 700 { throw .malformedEntry("stop here") }
            }
            Issue.record("the scan did not stop")
        } catch {
            #expect(error.message.contains("stop here"))
        }
        #expect(seen == 700)
        // The scanner is reusable at once: nothing was left running on its buffers.
        var count = 0
        try LogScanner.scan(path: files.configuration.logPath, bufferSize: bufferSize) { _ throws(AuditError) in count += 1 }
        #expect(count == files.lines.count)
    }

    @Test("a torn last line after many chunks keeps its index and offset", arguments: [300, 4096])
    func tornTailAfterChunks(bufferSize: Int) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let files = try await makeLog(in: directory, count: 400)
        let complete = files.lines.count
        let size = try FileIO.File(path: files.configuration.logPath, flags: O_RDONLY).size()
        let handle = try #require(FileHandle(forWritingAtPath: files.configuration.logPath))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"seq":400,"prev":"#.utf8))
        try handle.close()
        var last: ScannedLine?
        var count = 0
        try LogScanner.scan(path: files.configuration.logPath, bufferSize: bufferSize) { line throws(AuditError) in
            count += 1
            last = line
        }
        #expect(count == complete + 1)
        #expect(last?.index == UInt64(complete))
        #expect(last?.byteOffset == size)
        if case .torn = last?.kind {} else { Issue.record("the last line is not torn") }
    }
}
