import Foundation
public import TillCrypto

/// Inclusion and consistency proofs for a log file, as `till audit prove` and
/// `till audit consistency` print them.
public enum AuditProofs {
    /// An inclusion proof with everything needed to check it.
    public struct Inclusion: Sendable, Hashable, Codable {
        public var index: UInt64
        public var size: UInt64
        public var leafHash: String
        public var root: String
        public var proof: [String]

        enum CodingKeys: String, CodingKey {
            case index, size, root, proof
            case leafHash = "leaf_hash"
        }

        /// Checks the proof (RFC 9162 §2.1.3.2).
        public func verify() throws(MerkleProofError) {
            try MerkleProofVerifier.verifyInclusion(
                leafHash: decode(leafHash), index: index, treeSize: size, proof: proof.map(decode), root: decode(root))
        }
    }

    /// A consistency proof with both roots.
    public struct Consistency: Sendable, Hashable, Codable {
        public var from: UInt64
        public var to: UInt64
        public var root1: String
        public var root2: String
        public var proof: [String]

        /// Checks the proof (RFC 9162 §2.1.4.2).
        public func verify() throws(MerkleProofError) {
            try MerkleProofVerifier.verifyConsistency(
                size1: from, size2: to, root1: decode(root1), root2: decode(root2), proof: proof.map(decode))
        }
    }

    /// The leaf hashes of every complete line of the log at `path`, from its stored bytes.
    public static func leafHashes(log path: String) throws(AuditError) -> [SHA256Digest] {
        var hashes: [SHA256Digest] = []
        try LogScanner.scan(path: path) { line throws(AuditError) in
            if case .torn = line.kind { return }
            hashes.append(line.hash)
        }
        return hashes
    }

    /// The inclusion proof of entry `index` in the tree of the first `size` entries (all
    /// of them when nil).
    public static func inclusion(log path: String, index: UInt64, size: UInt64?) throws(AuditError) -> Inclusion {
        let leaves = try leafHashes(log: path)
        let treeSize = size ?? UInt64(leaves.count)
        guard treeSize <= UInt64(leaves.count), index < treeSize else {
            throw .io("need index < size <= \(leaves.count) entries; got index \(index), size \(treeSize)")
        }
        let proof: [SHA256Digest]
        do {
            proof = try MerkleProofBuilder.inclusionProof(index: Int(index), size: Int(treeSize), leaves: leaves)
        } catch { throw .io(error.message) }
        return Inclusion(
            index: index, size: treeSize, leafHash: encode(leaves[Int(index)]),
            root: encode(MerkleProofBuilder.root(of: leaves[0..<Int(treeSize)])), proof: proof.map(encode))
    }

    /// The consistency proof from the tree of `from` entries to the tree of `to` entries.
    public static func consistency(log path: String, from: UInt64, to: UInt64) throws(AuditError) -> Consistency {
        let leaves = try leafHashes(log: path)
        guard from > 0, from <= to, to <= UInt64(leaves.count) else {
            throw .io("need 0 < from <= to <= \(leaves.count) entries; got from \(from), to \(to)")
        }
        let proof: [SHA256Digest]
        do {
            proof = try MerkleProofBuilder.consistencyProof(from: Int(from), to: Int(to), leaves: leaves)
        } catch { throw .io(error.message) }
        return Consistency(
            from: from, to: to, root1: encode(MerkleProofBuilder.root(of: leaves[0..<Int(from)])),
            root2: encode(MerkleProofBuilder.root(of: leaves[0..<Int(to)])), proof: proof.map(encode))
    }

    static func encode(_ digest: SHA256Digest) -> String { Data(digest.bytes).base64EncodedString() }
}

private func decode(_ text: String) -> [UInt8] { Array(Data(base64Encoded: text) ?? Data()) }
