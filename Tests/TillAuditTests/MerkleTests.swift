import Foundation
import TillCrypto
import Testing
@testable import TillAudit

/// RFC 6962 §2.1 written as plainly as the RFC states it: the reference the tree, proof
/// builder and verifier must agree with.
enum Reference {
    static func leaf(_ index: Int) -> SHA256Digest { MerkleHash.leaf(Array("leaf \(index)".utf8)) }

    /// The largest power of two smaller than `n`.
    static func split(_ n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    /// MTH(D[n]).
    static func root(_ d: ArraySlice<SHA256Digest>) -> SHA256Digest {
        if d.isEmpty { return SHA256.hash(data: [UInt8]()) }
        if d.count == 1 { return d[d.startIndex] }
        let k = split(d.count)
        return MerkleHash.node(root(d.prefix(k)), root(d.dropFirst(k)))
    }

    /// PATH(m, D[n]).
    static func path(_ m: Int, _ d: ArraySlice<SHA256Digest>) -> [SHA256Digest] {
        if d.count <= 1 { return [] }
        let k = split(d.count)
        if m < k { return path(m, d.prefix(k)) + [root(d.dropFirst(k))] }
        return path(m - k, d.dropFirst(k)) + [root(d.prefix(k))]
    }

    /// SUBPROOF(m, D[n], b).
    static func subproof(_ m: Int, _ d: ArraySlice<SHA256Digest>, _ b: Bool) -> [SHA256Digest] {
        if m == d.count { return b ? [] : [root(d)] }
        let k = split(d.count)
        if m <= k { return subproof(m, d.prefix(k), b) + [root(d.dropFirst(k))] }
        return subproof(m - k, d.dropFirst(k), false) + [root(d.prefix(k))]
    }
}

@Suite("Merkle tree and proofs")
struct MerkleTests {
    static let leaves = (0..<64).map(Reference.leaf)

    @Test("the compact tree's root equals MTH for every size up to 64")
    func roots() {
        var tree = CompactMerkleTree()
        #expect(tree.root == SHA256.hash(data: [UInt8]()))
        for n in 1...64 {
            tree.append(leafHash: Self.leaves[n - 1])
            #expect(tree.root == Reference.root(Self.leaves[0..<n]), "size \(n)")
            #expect(tree.subtreeRoots.count == n.nonzeroBitCount)
        }
    }

    @Test("inclusion proofs equal PATH and verify, for every index of every size up to 64")
    func inclusion() throws {
        for n in 1...64 {
            let root = Reference.root(Self.leaves[0..<n]).bytes
            for m in 0..<n {
                let proof = try MerkleProofBuilder.inclusionProof(index: m, size: n, leaves: Self.leaves)
                #expect(proof == Reference.path(m, Self.leaves[0..<n]), "index \(m) size \(n)")
                let raw = proof.map(\.bytes)
                try MerkleProofVerifier.verifyInclusion(
                    leafHash: Self.leaves[m].bytes, index: UInt64(m), treeSize: UInt64(n), proof: raw, root: root)
                // A wrong index or a flipped bit must fail.
                #expect(throws: MerkleProofError.self) {
                    try MerkleProofVerifier.verifyInclusion(
                        leafHash: Self.leaves[m].bytes, index: UInt64((m + 1) % n == m ? n : (m + 1) % n),
                        treeSize: UInt64(n), proof: raw, root: root)
                }
                if !raw.isEmpty {
                    var bad = raw
                    bad[bad.count - 1][0] ^= 1
                    #expect(throws: MerkleProofError.self) {
                        try MerkleProofVerifier.verifyInclusion(
                            leafHash: Self.leaves[m].bytes, index: UInt64(m), treeSize: UInt64(n), proof: bad, root: root)
                    }
                }
            }
        }
    }

    @Test("consistency proofs equal PROOF and verify, for every pair of sizes up to 64")
    func consistency() throws {
        for n in 1...64 {
            let root2 = Reference.root(Self.leaves[0..<n]).bytes
            for m in 1...n {
                let root1 = Reference.root(Self.leaves[0..<m]).bytes
                let proof = try MerkleProofBuilder.consistencyProof(from: m, to: n, leaves: Self.leaves)
                let expected = m == n ? [] : Reference.subproof(m, Self.leaves[0..<n], true)
                #expect(proof == expected, "from \(m) to \(n)")
                try MerkleProofVerifier.verifyConsistency(
                    size1: UInt64(m), size2: UInt64(n), root1: root1, root2: root2, proof: proof.map(\.bytes))
                if m < n {
                    var bad = proof.map(\.bytes)
                    bad[0][31] ^= 0x80
                    #expect(throws: MerkleProofError.self) {
                        try MerkleProofVerifier.verifyConsistency(
                            size1: UInt64(m), size2: UInt64(n), root1: root1, root2: root2, proof: bad)
                    }
                    #expect(throws: MerkleProofError.self) {
                        try MerkleProofVerifier.verifyConsistency(
                            size1: UInt64(m), size2: UInt64(n), root1: root2, root2: root1, proof: proof.map(\.bytes))
                    }
                }
            }
        }
    }

    static func bytes(_ base64: String) -> [UInt8] { Array(Data(base64Encoded: base64) ?? Data()) }

    @Test("transparency-dev inclusion vectors", arguments: MerkleVectors.inclusion)
    func inclusionVector(_ vector: InclusionVector) {
        let outcome = Result { () throws(MerkleProofError) in
            try MerkleProofVerifier.verifyInclusion(
                leafHash: Self.bytes(vector.leafHash), index: vector.index, treeSize: vector.size,
                proof: vector.proof.map(Self.bytes), root: Self.bytes(vector.root))
        }
        if vector.wantError {
            #expect(throws: MerkleProofError.self) { try outcome.get() }
        } else {
            #expect(throws: Never.self) { try outcome.get() }
        }
    }

    @Test("transparency-dev consistency vectors", arguments: MerkleVectors.consistency)
    func consistencyVector(_ vector: ConsistencyVector) {
        let outcome = Result { () throws(MerkleProofError) in
            try MerkleProofVerifier.verifyConsistency(
                size1: vector.size1, size2: vector.size2, root1: Self.bytes(vector.root1), root2: Self.bytes(vector.root2),
                proof: vector.proof.map(Self.bytes))
        }
        if vector.wantError {
            #expect(throws: MerkleProofError.self) { try outcome.get() }
        } else {
            #expect(throws: Never.self) { try outcome.get() }
        }
    }

    @Test("the vectors' valid proofs are the ones our builder makes for their shapes")
    func vectorShapes() {
        // Every happy-path vector has the proof length our builder produces for its sizes.
        for vector in MerkleVectors.inclusion where !vector.wantError && vector.size <= 64 {
            let proof = try? MerkleProofBuilder.inclusionProof(index: Int(vector.index), size: Int(vector.size), leaves: Self.leaves)
            #expect(proof?.count == vector.proof.count, "\(vector.name)")
        }
    }
}
