import Foundation
public import TillCrypto

/// Why a Merkle inclusion or consistency proof was rejected.
public struct MerkleProofError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong, naming the sizes or the step of RFC 9162 that failed.
    public let message: String

    init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// Checks RFC 9162 (RFC 6962bis) inclusion and consistency proofs.
///
/// Hashes are taken as raw bytes, as they arrive from a proof file or another log; every
/// step below is named for the step of RFC 9162 §2.1.3.2 or §2.1.4.2 it implements.
public enum MerkleProofVerifier {
    /// Checks that the leaf whose hash is `leafHash` sits at `index` in the tree of
    /// `treeSize` leaves whose root is `root` (RFC 9162 §2.1.3.2).
    ///
    /// - Throws: ``MerkleProofError`` naming the failed step.
    public static func verifyInclusion(
        leafHash: [UInt8], index: UInt64, treeSize: UInt64, proof: [[UInt8]], root: [UInt8]
    ) throws(MerkleProofError) {
        // Step 1: "If leaf_index is greater than or equal to tree_size, then stop and fail."
        guard index < treeSize else {
            throw MerkleProofError("leaf index \(index) is not below the tree size \(treeSize)")
        }
        guard leafHash.count == SHA256.byteCount else {
            throw MerkleProofError("the leaf hash is \(leafHash.count) bytes, not 32")
        }
        let path = try digests(proof)
        // Step 2: "Set fn to leaf_index and sn to tree_size - 1."
        var fn = index
        var sn = treeSize - 1
        // Step 3: "Set r to hash."
        var r = try digest(leafHash)
        // Step 4: for each value p in the inclusion_path array:
        for (position, p) in path.enumerated() {
            // 4a: "If sn is 0, then stop the iteration and fail the proof verification."
            guard sn != 0 else {
                throw MerkleProofError("the proof has \(path.count - position) hash(es) more than the tree's height needs")
            }
            // 4b: "If LSB(fn) is set, or if fn is equal to sn": p is a left sibling.
            if fn & 1 == 1 || fn == sn {
                r = MerkleHash.node(p, r)
                // 4b.ii: climb past levels where this node has no right sibling.
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                // 4c: otherwise p is a right sibling.
                r = MerkleHash.node(r, p)
            }
            // 4d: "Finally, right-shift both fn and sn one time."
            fn >>= 1
            sn >>= 1
        }
        // Step 5: "Compare sn to 0. Compare r against the root_hash."
        guard sn == 0 else { throw MerkleProofError("the proof is too short for a tree of \(treeSize) leaves") }
        guard bytesEqual(r.bytes, root) else {
            throw MerkleProofError("the proof leads to root \(base64(r)), not the expected root")
        }
    }

    /// Checks that the tree of `size2` leaves with root `root2` extends the tree of `size1`
    /// leaves with root `root1` (RFC 9162 §2.1.4.2).
    ///
    /// - Throws: ``MerkleProofError`` naming the failed step.
    public static func verifyConsistency(
        size1: UInt64, size2: UInt64, root1: [UInt8], root2: [UInt8], proof: [[UInt8]]
    ) throws(MerkleProofError) {
        // Preconditions of §2.1.4: 0 < first_tree_size <= second_tree_size.
        guard size1 <= size2 else { throw MerkleProofError("size1 \(size1) exceeds size2 \(size2)") }
        guard size1 > 0 else { throw MerkleProofError("a consistency proof from the empty tree proves nothing") }
        if size1 == size2 {
            // The same tree: no proof, and the roots must be equal.
            guard proof.isEmpty else { throw MerkleProofError("equal sizes need an empty proof") }
            guard bytesEqual(root1, root2) else { throw MerkleProofError("equal sizes but different roots") }
            return
        }
        // Step 1: "If consistency_path is an empty array, stop and fail."
        guard !proof.isEmpty else { throw MerkleProofError("the consistency proof is empty") }
        var path = try digests(proof)
        let first = try digest(root1, what: "root1")
        // Step 2: "If first is an exact power of 2, then prepend first_hash."
        if size1 & (size1 - 1) == 0 {
            path.insert(first, at: 0)
        }
        // Step 3: "Set fn to first - 1 and sn to second - 1."
        var fn = size1 - 1
        var sn = size2 - 1
        // Step 4: "If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set."
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        // Step 5: "Set both fr and sr to the first value in the consistency_path array."
        var fr = path[0]
        var sr = path[0]
        // Step 6: for each subsequent value c in the consistency_path array:
        for (position, c) in path.dropFirst().enumerated() {
            // 6a: "If sn is 0, then stop the iteration and fail."
            guard sn != 0 else {
                throw MerkleProofError("the proof has \(path.count - 1 - position) hash(es) more than needed")
            }
            // 6b: "If LSB(fn) is set, or if fn is equal to sn": c is a left sibling of both paths.
            if fn & 1 == 1 || fn == sn {
                fr = MerkleHash.node(c, fr)
                sr = MerkleHash.node(c, sr)
                // 6b.ii: climb past levels where the old tree's node has no right sibling.
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                // 6b, otherwise: c lies to the right of the old tree and only grows the new one.
                sr = MerkleHash.node(sr, c)
            }
            // 6c: "Finally, right-shift both fn and sn one time."
            fn >>= 1
            sn >>= 1
        }
        // Step 7: "verify that fr equals first_hash, that sr equals second_hash, and that sn is 0."
        guard sn == 0 else { throw MerkleProofError("the proof is too short for sizes \(size1) and \(size2)") }
        guard fr == first else { throw MerkleProofError("the proof does not lead to root1") }
        guard bytesEqual(sr.bytes, root2) else { throw MerkleProofError("the proof does not lead to root2") }
    }

    private static func digests(_ proof: [[UInt8]]) throws(MerkleProofError) -> [SHA256Digest] {
        var out: [SHA256Digest] = []
        out.reserveCapacity(proof.count)
        for (position, hash) in proof.enumerated() {
            out.append(try digest(hash, what: "proof hash \(position)"))
        }
        return out
    }

    private static func digest(_ bytes: [UInt8], what: String = "hash") throws(MerkleProofError) -> SHA256Digest {
        guard let digest = try? SHA256Digest(bytes: bytes) else {
            throw MerkleProofError("\(what) is \(bytes.count) bytes, not 32")
        }
        return digest
    }

    private static func bytesEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool { lhs == rhs }

    private static func base64(_ digest: SHA256Digest) -> String { Data(digest.bytes).base64EncodedString() }
}

/// Builds RFC 6962 inclusion and consistency proofs from a log's leaf hashes.
///
/// Uses the aligned view of the tree: the node at level `l` and index `i` covers leaves
/// `i << l ..< (i + 1) << l`, cut off at the tree size; a node with no right part is its
/// left child unchanged. That view and RFC 6962's recursive split are the same tree.
public enum MerkleProofBuilder {
    /// The root of the tree over `leaves`.
    public static func root(of leaves: some Collection<SHA256Digest>) -> SHA256Digest {
        var tree = CompactMerkleTree()
        for leaf in leaves { tree.append(leafHash: leaf) }
        return tree.root
    }

    /// The inclusion proof (RFC 6962 PATH) for leaf `index` in the tree of the first
    /// `size` of `leaves`, lowest level first.
    ///
    /// - Throws: ``MerkleProofError`` unless `index < size <= leaves.count`.
    public static func inclusionProof(index: Int, size: Int, leaves: [SHA256Digest]) throws(MerkleProofError) -> [SHA256Digest] {
        guard size <= leaves.count else { throw MerkleProofError("size \(size) exceeds the log's \(leaves.count) entries") }
        guard index >= 0, index < size else { throw MerkleProofError("index \(index) is not below size \(size)") }
        return path(from: index, level: 0, size: size, leaves: leaves)
    }

    /// The consistency proof (RFC 6962 PROOF) from the tree of `from` leaves to the tree of
    /// `to` leaves.
    ///
    /// - Throws: ``MerkleProofError`` unless `0 < from <= to <= leaves.count`.
    public static func consistencyProof(from: Int, to: Int, leaves: [SHA256Digest]) throws(MerkleProofError) -> [SHA256Digest] {
        guard to <= leaves.count else { throw MerkleProofError("size \(to) exceeds the log's \(leaves.count) entries") }
        guard from > 0, from <= to else { throw MerkleProofError("need 0 < from <= to, got from \(from), to \(to)") }
        if from == to { return [] }
        // The old tree's last leaf rises through `shift` levels where it is a right child
        // of a complete node; that node (unless it is the whole old tree) seeds the proof.
        let shift = (from).trailingZeroBitCount
        var proof: [SHA256Digest] = []
        if from != 1 << shift {
            proof.append(rangeRoot(from - (1 << shift), from, leaves))
        }
        proof += path(from: (from - 1) >> shift, level: shift, size: to, leaves: leaves)
        return proof
    }

    /// The siblings of node `nodeIndex` at `level` and of its ancestors, up to the root.
    private static func path(from nodeIndex: Int, level: Int, size: Int, leaves: [SHA256Digest]) -> [SHA256Digest] {
        var proof: [SHA256Digest] = []
        var node = nodeIndex
        var level = level
        while (1 << level) < size {
            let start = (node ^ 1) << level
            if start < size {
                proof.append(rangeRoot(start, min(start + (1 << level), size), leaves))
            }
            node >>= 1
            level += 1
        }
        return proof
    }

    private static func rangeRoot(_ start: Int, _ end: Int, _ leaves: [SHA256Digest]) -> SHA256Digest {
        root(of: leaves[start..<end])
    }
}
