public import Foundation
public import TillCrypto

/// RFC 6962 §2.1 hashing: the domain-separated leaf and node hashes of a Merkle tree.
///
/// The 0x00 and 0x01 prefixes keep a leaf from ever being mistaken for an interior node
/// (second-preimage resistance), so a proof for one can never stand in for the other.
public enum MerkleHash {
    /// The root of the empty tree, SHA-256 of nothing.
    public static let emptyRoot = SHA256.hash(data: [UInt8]())

    /// `SHA-256(0x00 || entry)`.
    public static func leaf(_ entry: some DataProtocol) -> SHA256Digest {
        var hasher = SHA256()
        hasher.update(data: [UInt8(0)])
        hasher.update(data: entry)
        return hasher.finalize()
    }

    /// `SHA-256(0x01 || left || right)`, in one call that copies nothing to the heap.
    public static func node(_ left: SHA256Digest, _ right: SHA256Digest) -> SHA256Digest {
        SHA256.hash(prefix: 1, left, right)
    }

    /// The leaf hash of the line `buffer[start..<end]`, hashed where it lies (the 0x00
    /// prefix is fed to SHA-256 separately), so verifying a large log copies nothing.
    static func leaf(inPlace buffer: UnsafeMutableRawBufferPointer, start: Int, end: Int) -> SHA256Digest {
        leaf(line: UnsafeRawBufferPointer(rebasing: buffer[start..<end]))
    }

    /// `SHA-256(0x00 || line)` without copying `line`.
    static func leaf(line: UnsafeRawBufferPointer) -> SHA256Digest {
        SHA256.hash(prefix: 0, bufferPointer: line)
    }

    /// 32 zero bytes: the `prev` of the first entry, which has no predecessor.
    public static let zero: SHA256Digest = {
        // A 32-byte input always makes a digest.
        (try? SHA256Digest(bytes: [UInt8](repeating: 0, count: 32))) ?? emptyRoot
    }()
}

/// The right edge of an RFC 6962 tree: the roots of its perfect subtrees, largest first
/// (a "compact range" over `0..<size`). Appending a leaf and computing the root each take
/// O(log n) hashes and O(log n) memory, whatever the size of the log.
public struct CompactMerkleTree: Sendable, Hashable {
    /// The number of leaves.
    public private(set) var size: UInt64 = 0
    /// One hash per set bit of `size`, from the highest bit to the lowest.
    public private(set) var subtreeRoots: [SHA256Digest] = []

    /// The empty tree.
    public init() {}

    /// Adds the leaf whose hash (``MerkleHash/leaf(_:)``) is `leafHash`.
    public mutating func append(leafHash: SHA256Digest) {
        var hash = leafHash
        var bits = size
        // Each trailing one bit is a perfect subtree of the new leaf's size: merge them.
        while bits & 1 == 1 {
            hash = MerkleHash.node(subtreeRoots.removeLast(), hash)
            bits >>= 1
        }
        subtreeRoots.append(hash)
        size += 1
    }

    /// The tree's root hash (RFC 6962 MTH): the subtree roots folded from the right.
    public var root: SHA256Digest {
        guard var hash = subtreeRoots.last else { return MerkleHash.emptyRoot }
        for left in subtreeRoots.dropLast().reversed() {
            hash = MerkleHash.node(left, hash)
        }
        return hash
    }
}

/// A SHA-256 digest as four words, for the verifier's hot path: comparing and copying
/// these costs no generic calls into TillCrypto.
struct HashWords: Hashable {
    var words: (UInt64, UInt64, UInt64, UInt64)

    static let zero = HashWords(words: (0, 0, 0, 0))

    init(words: (UInt64, UInt64, UInt64, UInt64)) {
        self.words = words
    }

    init(_ digest: SHA256Digest) {
        words = digest.rawWords
    }

    /// The digest with these bytes.
    var digest: SHA256Digest {
        SHA256Digest(rawWords: words)
    }

    static func == (lhs: HashWords, rhs: HashWords) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}
