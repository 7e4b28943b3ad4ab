import Foundation
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
    var hash: SHA256Digest
    /// The same hash, for cheap comparisons.
    var words: HashWords
    var kind: Kind
}

/// Streams a log file line by line through a fixed buffer, hashing each line in place:
/// memory stays bounded however large the log is, and no line is copied or re-encoded.
enum LogScanner {
    /// Lines longer than this are refused rather than buffered without bound.
    static let maximumLineLength = 16 << 20

    /// Calls `body` for every line of `path`, in order. Returns the file's size in bytes.
    @discardableResult
    static func scan(
        path: String, bufferSize: Int = 1 << 20, _ body: (ScannedLine) throws(AuditError) -> Void
    ) throws(AuditError) -> Int {
        let file = try FileIO.File(path: path, flags: O_RDONLY)
        defer { file.close() }
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
            let count = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<capacity]))
            if count == 0 { break }
            let searchFrom = filled
            filled += count
            var lineStart = 1
            var cursor = searchFrom
            guard let base = buffer.baseAddress else { break }
            while cursor < filled,
                let found = memchr(base + cursor, 0x0A, filled - cursor)
            {
                let newline = base.distance(to: found)
                let line = UnsafeRawBufferPointer(rebasing: buffer[lineStart..<newline])
                let kind: ScannedLine.Kind
                switch AuditLineFormat.parse(line, decode: false) {
                case .success(let fields): kind = .entry(sequence: fields.sequence, previous: fields.previous)
                case .failure(let reason): kind = .malformed(reason)
                }
                let hash = MerkleHash.leaf(inPlace: buffer, start: lineStart, end: newline)
                try body(ScannedLine(
                    index: index, byteOffset: fileOffset + lineStart - 1, length: newline - lineStart, hash: hash,
                    words: HashWords(hash), kind: kind))
                index += 1
                lineStart = newline + 1
                cursor = newline + 1
            }
            // Keep the unfinished line, moved to just after the headroom byte.
            let remaining = filled - lineStart
            if lineStart > 1 {
                if remaining > 0 {
                    (base + 1).copyMemory(from: base + lineStart, byteCount: remaining)
                }
                fileOffset += lineStart - 1
                filled = 1 + remaining
            }
        }
        if filled > 1 {
            let hash = MerkleHash.leaf(inPlace: buffer, start: 1, end: filled)
            try body(ScannedLine(
                index: index, byteOffset: fileOffset, length: filled - 1, hash: hash, words: HashWords(hash), kind: .torn))
        }
        return fileOffset + filled - 1
    }
}
