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
    ///
    /// Two buffers take turns: while the helper thread parses and hashes one chunk, the
    /// calling thread hands the previous chunk's lines to `body` and reads the next chunk
    /// into the other buffer, then joins the work. Workers only read a chunk's buffer.
    @discardableResult
    static func scan(
        path: String, bufferSize: Int = 4 << 20, parallel: Bool = true, _ body: (ScannedLine) throws(AuditError) -> Void
    ) throws(AuditError) -> Int {
        let file = try FileIO.File(path: path, flags: O_RDONLY)
        defer { file.close() }
        // Byte 0 of each buffer is unused headroom, so offsets match the single-buffer layout.
        var buffers = [
            UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize + 1, alignment: 16),
            UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize + 1, alignment: 16),
        ]
        // Declared before the helper's defer, so it runs after the helper has stopped: a
        // round still in flight (when `body` throws) is finished before its buffer goes.
        defer { for buffer in buffers { buffer.deallocate() } }
        let work = ScanWork()
        let helper = parallel && ProcessInfo.processInfo.activeProcessorCount > 1 ? work.startHelper() : nil
        defer { helper.map { work.stop($0) } }
        var current = 0  // the buffer being filled
        var filled = 1
        var fileOffset = 0  // file offset of buffers[current][1]
        var delivered: UInt64 = 0  // lines handed to `body`
        var finished: UInt64 = 0  // lines in rounds that have finished
        var inFlight = false
        var awaiting: Int?  // the piece set of a finished round not yet delivered
        while true {
            if filled == buffers[current].count {
                let capacity = buffers[current].count
                guard capacity - 1 < maximumLineLength else {
                    if inFlight { finished += work.finish() }
                    throw .malformedEntry("line \(finished + 1) is longer than \(maximumLineLength) bytes")
                }
                let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity * 2, alignment: 16)
                larger.copyMemory(from: UnsafeRawBufferPointer(buffers[current]))
                buffers[current].deallocate()
                buffers[current] = larger
            }
            let buffer = buffers[current]
            // Fill the buffer (a short read is not the end of the file).
            var atEnd = false
            while filled < buffer.count {
                let count = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<buffer.count]))
                if count == 0 {
                    atEnd = true
                    break
                }
                filled += count
            }
            if inFlight {
                finished += work.finish()
                inFlight = false
                awaiting = work.currentSet
            }
            guard let base = buffer.baseAddress else { break }
            // Complete lines end at the last newline; the rest waits for the next read.
            var complete = filled
            while complete > 1, buffer[complete - 1] != 0x0A { complete -= 1 }
            if complete > 1 {
                work.start(buffer: UnsafeRawBufferPointer(buffer), range: 1..<complete, fileOffset: fileOffset - 1, helper: helper != nil)
                inFlight = true
            }
            if let set = awaiting {
                awaiting = nil
                delivered += try work.deliver(set: set, firstIndex: delivered, body)
            }
            if complete > 1 {
                // Move the unfinished line to the other buffer, which is free: its round
                // has finished and been delivered.
                let remaining = filled - complete
                let other = 1 - current
                if buffers[other].count < buffer.count {
                    buffers[other].deallocate()
                    buffers[other] = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count, alignment: 16)
                }
                if remaining > 0, let destination = buffers[other].baseAddress {
                    (destination + 1).copyMemory(from: base + complete, byteCount: remaining)
                }
                fileOffset += complete - 1
                filled = 1 + remaining
                current = other
            }
            if atEnd { break }
        }
        if inFlight {
            finished += work.finish()
            delivered += try work.deliver(set: work.currentSet, firstIndex: delivered, body)
        }
        if filled > 1 {
            let hash = MerkleHash.leaf(line: UnsafeRawBufferPointer(rebasing: buffers[current][1..<filled]))
            try body(ScannedLine(
                index: delivered, byteOffset: fileOffset, length: filled - 1, words: HashWords(hash), kind: .torn))
        }
        return fileOffset + filled - 1
    }

    /// Parses and hashes the lines that start in `start..<end` of `buffer` (every line
    /// ends with a newline before `limit`), appending them to `lines`.
    static func hashLines(
        buffer: UnsafeRawBufferPointer, start: Int, end: Int, limit: Int, bufferStart: Int,
        into lines: inout [ScannedLine], fileOffset: Int
    ) {
        guard let base = buffer.baseAddress else { return }
        var lineStart = start
        if start > bufferStart {
            // The first line starting at or after `start`: just past a newline at start - 1 or later.
            guard let found = memchr(base + start - 1, 0x0A, limit - (start - 1)) else { return }
            lineStart = base.distance(to: UnsafeRawPointer(found)) + 1
        }
        while lineStart < end, lineStart < limit, let found = memchr(base + lineStart, 0x0A, limit - lineStart) {
            let newline = base.distance(to: UnsafeRawPointer(found))
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
/// everything written in a round before it is read. Rounds alternate between two piece
/// sets, so one round's lines can be delivered while the next round is worked on.
final class ScanWork: @unchecked Sendable {
    /// One round's lines, piece by piece.
    final class PieceSet {
        var pieces: UnsafeMutablePointer<[ScannedLine]>
        var capacity = 256
        var count = 0

        init() {
            pieces = .allocate(capacity: capacity)
            pieces.initialize(repeating: [], count: capacity)
        }

        deinit {
            pieces.deinitialize(count: capacity)
            pieces.deallocate()
        }

        func reserve(_ needed: Int) {
            guard needed > capacity else { return }
            let larger = UnsafeMutablePointer<[ScannedLine]>.allocate(capacity: needed)
            larger.moveInitialize(from: pieces, count: capacity)
            (larger + capacity).initialize(repeating: [], count: needed - capacity)
            pieces.deallocate()
            pieces = larger
            capacity = needed
        }
    }

    private var buffer = UnsafeRawBufferPointer(start: nil, count: 0)
    private var range = 0..<0
    private var fileOffset = 0
    private let sets = [PieceSet(), PieceSet()]
    /// The set the current (or last) round writes.
    private(set) var currentSet = 1
    private var helperRunning = false
    private let next = Atomic<Int>(0)
    private let go = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)

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

    /// Publishes the lines in `range` (which ends with a newline) as the next round and
    /// lets the helper start on them. The set the round writes must have been delivered.
    func start(buffer: UnsafeRawBufferPointer, range: Range<Int>, fileOffset: Int, helper: Bool) {
        self.buffer = buffer
        self.range = range
        self.fileOffset = fileOffset
        currentSet = 1 - currentSet
        let set = sets[currentSet]
        set.count = (range.count + LogScanner.pieceSize - 1) / LogScanner.pieceSize
        set.reserve(set.count)
        next.store(0, ordering: .relaxed)
        helperRunning = helper
        if helper { go.signal() }
    }

    /// Works on the current round until it is done. Returns how many lines it had.
    func finish() -> UInt64 {
        work()
        if helperRunning { finished.wait() }
        helperRunning = false
        let set = sets[currentSet]
        var count = 0
        for piece in 0..<set.count { count += set.pieces[piece].count }
        return UInt64(count)
    }

    /// Calls `body` for each line of a finished round's `set`, in order, numbering them
    /// from `firstIndex`, and empties the set. Returns how many lines there were.
    func deliver(
        set index: Int, firstIndex: UInt64, _ body: (ScannedLine) throws(AuditError) -> Void
    ) throws(AuditError) -> UInt64 {
        let set = sets[index]
        var lineIndex = firstIndex
        for piece in 0..<set.count {
            for var line in set.pieces[piece] {
                line.index = lineIndex
                lineIndex += 1
                try body(line)
            }
            set.pieces[piece].removeAll(keepingCapacity: true)
        }
        set.count = 0
        return lineIndex - firstIndex
    }

    private func work() {
        let set = sets[currentSet]
        while true {
            let piece = next.add(1, ordering: .relaxed).oldValue
            guard piece < set.count else { return }
            let start = range.lowerBound + piece * LogScanner.pieceSize
            let end = min(start + LogScanner.pieceSize, range.upperBound)
            LogScanner.hashLines(
                buffer: buffer, start: start, end: end, limit: range.upperBound, bufferStart: range.lowerBound,
                into: &set.pieces[piece], fileOffset: fileOffset)
        }
    }
}
