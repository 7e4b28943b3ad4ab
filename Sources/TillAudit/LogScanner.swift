import Foundation
import Synchronization
import TillCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One line of a log file as stored: where it is, its leaf hash, and what its header says.
struct ScannedLine {
    enum Kind {
        /// A well-formed entry.
        case entry(sequence: UInt64, previous: HashWords)
        /// A complete line that is not a well-formed entry.
        case malformed(String)
        /// The file's last bytes, with no newline: a write cut short.
        case torn
    }

    var index: UInt64
    var byteOffset: Int
    var length: Int
    /// The leaf hash, as words: cheap to compare and to copy.
    var words: HashWords
    var kind: Kind

    var hash: SHA256Digest { words.digest }
}

/// Streams a log file through a large buffer: each chunk's lines are parsed and hashed
/// in pieces shared between the calling thread and a helper thread, then handed to
/// `body` in file order. Memory stays bounded however large the log is, and no line is
/// re-encoded or copied: each is hashed where it lies, its 0x00 prefix fed separately.
enum LogScanner {
    /// Lines longer than this are refused rather than buffered without bound.
    static let maximumLineLength = 16 << 20
    /// Bytes of a chunk each piece of work covers.
    static let pieceSize = 64 << 10

    /// Calls `body` for every line of `path`, in order. Returns the file's size in bytes.
    /// `parallel` false keeps all work on the calling thread (the writer's recovery).
    @discardableResult
    static func scan(
        path: String, bufferSize: Int = 4 << 20, parallel: Bool = true, _ body: (ScannedLine) throws(AuditError) -> Void
    ) throws(AuditError) -> Int {
        let file = try FileIO.File(path: path, flags: O_RDONLY)
        defer { file.close() }
        let work = ScanWork()
        let helper = parallel && ProcessInfo.processInfo.activeProcessorCount > 1 ? work.startHelper() : nil
        defer { helper.map { work.stop($0) } }
        // Byte 0 is headroom, lent as the leaf prefix to a line that starts the buffer.
        var capacity = bufferSize + 1
        var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var filled = 1
        var fileOffset = 0  // file offset of buffer[1]
        var index: UInt64 = 0
        while true {
            if filled == capacity {
                guard capacity - 1 < maximumLineLength else {
                    throw .malformedEntry("line \(index + 1) is longer than \(maximumLineLength) bytes")
                }
                let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity * 2, alignment: 16)
                larger.copyMemory(from: UnsafeRawBufferPointer(buffer))
                buffer.deallocate()
                buffer = larger
                capacity *= 2
            }
            // Fill the buffer (a short read is not the end of the file).
            var atEnd = false
            while filled < capacity {
                let count = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<capacity]))
                if count == 0 {
                    atEnd = true
                    break
                }
                filled += count
            }
            guard let base = buffer.baseAddress else { break }
            // Complete lines end at the last newline; the rest waits for the next read.
            var complete = filled
            while complete > 1, buffer[complete - 1] != 0x0A { complete -= 1 }
            if complete > 1 {
                let first = index
                index += try work.run(
                    buffer: buffer, range: 1..<complete, firstIndex: first, fileOffset: fileOffset - 1, helper: helper != nil,
                    body)
            }
            // Keep the unfinished line, moved to just after the headroom byte.
            let remaining = filled - complete
            if complete > 1 {
                if remaining > 0 {
                    (base + 1).copyMemory(from: base + complete, byteCount: remaining)
                }
                fileOffset += complete - 1
                filled = 1 + remaining
            }
            if atEnd { break }
        }
        if filled > 1 {
            let hash = MerkleHash.leaf(inPlace: buffer, start: 1, end: filled)
            try body(ScannedLine(
                index: index, byteOffset: fileOffset, length: filled - 1, words: HashWords(hash), kind: .torn))
        }
        return fileOffset + filled - 1
    }

    /// Parses and hashes the lines that start in `start..<end` of `buffer` (every line
    /// ends with a newline before `limit`), appending them to `lines`.
    static func hashLines(
        buffer: UnsafeMutableRawBufferPointer, start: Int, end: Int, limit: Int, bufferStart: Int,
        into lines: inout [ScannedLine], fileOffset: Int
    ) {
        guard let base = buffer.baseAddress else { return }
        var lineStart = start
        if start > bufferStart {
            // The first line starting at or after `start`: just past a newline at start - 1 or later.
            guard let found = memchr(base + start - 1, 0x0A, limit - (start - 1)) else { return }
            lineStart = base.distance(to: found) + 1
        }
        while lineStart < end, lineStart < limit, let found = memchr(base + lineStart, 0x0A, limit - lineStart) {
            let newline = base.distance(to: found)
            let line = UnsafeRawBufferPointer(rebasing: buffer[lineStart..<newline])
            let kind: ScannedLine.Kind
            if let header = AuditLineFormat.quickHeader(line) {
                kind = .entry(sequence: header.sequence, previous: header.previous)
            } else {
                switch AuditLineFormat.parse(line, decode: false) {
                case .success(let fields): kind = .entry(sequence: fields.sequence, previous: fields.previous)
                case .failure(let reason): kind = .malformed(reason)
                }
            }
            // The 0x00 prefix goes to SHA-256 separately: the line is hashed where it lies.
            let hash = MerkleHash.leaf(line: line)
            lines.append(ScannedLine(
                index: 0, byteOffset: fileOffset + lineStart, length: newline - lineStart, words: HashWords(hash),
                kind: kind))
            lineStart = newline + 1
        }
    }
}

/// One chunk's pieces, shared by the scanning thread and its helper. Each round the
/// scanning thread publishes a chunk, both take pieces from an atomic counter (each
/// piece's lines are written by the one thread that took it), and the semaphores order
/// everything written in a round before it is read.
final class ScanWork: @unchecked Sendable {
    private var buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var range = 0..<0
    private var fileOffset = 0
    private var pieceCount = 0
    private var pieces: UnsafeMutablePointer<[ScannedLine]>
    private var pieceCapacity = 0
    private let next = Atomic<Int>(0)
    private let go = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)

    init() {
        pieceCapacity = 256
        pieces = .allocate(capacity: pieceCapacity)
        pieces.initialize(repeating: [], count: pieceCapacity)
    }

    deinit {
        pieces.deinitialize(count: pieceCapacity)
        pieces.deallocate()
    }

    func startHelper() -> DispatchSemaphore {
        let exited = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            while true {
                go.wait()
                if stopping.load(ordering: .acquiring) { break }
                work()
                finished.signal()
            }
            exited.signal()
        }
        thread.name = "till.audit.verify.hash"
        thread.start()
        return exited
    }

    func stop(_ exited: DispatchSemaphore) {
        stopping.store(true, ordering: .releasing)
        go.signal()
        exited.wait()
    }

    /// Parses and hashes every line in `range` (which ends with a newline), then calls
    /// `body` for each in order. Returns how many lines there were.
    func run(
        buffer: UnsafeMutableRawBufferPointer, range: Range<Int>, firstIndex: UInt64, fileOffset: Int, helper: Bool,
        _ body: (ScannedLine) throws(AuditError) -> Void
    ) throws(AuditError) -> UInt64 {
        self.buffer = buffer
        self.range = range
        self.fileOffset = fileOffset
        pieceCount = (range.count + LogScanner.pieceSize - 1) / LogScanner.pieceSize
        if pieceCount > pieceCapacity {
            let larger = UnsafeMutablePointer<[ScannedLine]>.allocate(capacity: pieceCount)
            larger.moveInitialize(from: pieces, count: pieceCapacity)
            (larger + pieceCapacity).initialize(repeating: [], count: pieceCount - pieceCapacity)
            pieces.deallocate()
            pieces = larger
            pieceCapacity = pieceCount
        }
        next.store(0, ordering: .relaxed)
        if helper { go.signal() }
        work()
        if helper { finished.wait() }
        var index = firstIndex
        for piece in 0..<pieceCount {
            for var line in pieces[piece] {
                line.index = index
                index += 1
                try body(line)
            }
            pieces[piece].removeAll(keepingCapacity: true)
        }
        return index - firstIndex
    }

    private func work() {
        while true {
            let piece = next.add(1, ordering: .relaxed).oldValue
            guard piece < pieceCount else { return }
            let start = range.lowerBound + piece * LogScanner.pieceSize
            let end = min(start + LogScanner.pieceSize, range.upperBound)
            LogScanner.hashLines(
                buffer: buffer, start: start, end: end, limit: range.upperBound, bufferStart: range.lowerBound,
                into: &pieces[piece], fileOffset: fileOffset)
        }
    }
}
