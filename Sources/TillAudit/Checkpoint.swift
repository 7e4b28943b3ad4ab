import Foundation
public import TillCrypto

/// A C2SP `tlog-checkpoint` body: the log's origin, its size and its root hash, each on
/// its own line.
public struct Checkpoint: Sendable, Hashable {
    /// The log's name (the keyring's origin), e.g. `till.example/audit`.
    public let origin: String
    /// The number of entries the root covers.
    public let size: UInt64
    /// The RFC 6962 root of the first `size` entries.
    public let root: SHA256Digest

    public init(origin: String, size: UInt64, root: SHA256Digest) {
        self.origin = origin
        self.size = size
        self.root = root
    }

    /// `origin\nsize\nbase64(root)\n`, the text a signed note signs.
    public var text: String { "\(origin)\n\(size)\n\(Data(root.bytes).base64EncodedString())\n" }

    /// The checkpoint a note's text spells. Lines after the third (extensions) are allowed
    /// and ignored.
    ///
    /// - Throws: ``AuditError`` (`malformedCheckpoint`) naming the bad line.
    public init(text: String) throws(AuditError) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard text.hasSuffix("\n"), lines.count >= 4 else {
            throw .malformedCheckpoint("a checkpoint needs origin, size and root lines")
        }
        guard !lines[0].isEmpty else { throw .malformedCheckpoint("the origin line is empty") }
        guard let size = UInt64(lines[1]), String(size) == lines[1] else {
            throw .malformedCheckpoint("the size line is not a decimal number: \(lines[1].prefix(40))")
        }
        guard let rootBytes = Data(base64Encoded: String(lines[2])), let root = try? SHA256Digest(bytes: rootBytes) else {
            throw .malformedCheckpoint("the root line is not base64 of 32 bytes")
        }
        self.init(origin: String(lines[0]), size: size, root: root)
    }
}

/// A C2SP signed note: text, a blank line, then one `— <name> <base64(key hash ||
/// signature)>` line per signature.
public struct SignedNote: Sendable, Hashable {
    /// One signature line.
    public struct Signature: Sendable, Hashable {
        /// The signing key's name.
        public let keyName: String
        /// The first 4 bytes of SHA-256(name || "\n" || 0x01 || public key).
        public let keyHash: [UInt8]
        /// The 64-byte Ed25519 signature over the note's text.
        public let signature: [UInt8]

        public init(keyName: String, keyHash: [UInt8], signature: [UInt8]) {
            self.keyName = keyName
            self.keyHash = keyHash
            self.signature = signature
        }
    }

    /// The signed text, ending in a newline.
    public let text: String
    public let signatures: [Signature]

    public init(text: String, signatures: [Signature]) {
        self.text = text
        self.signatures = signatures
    }

    /// The em dash and space that open every signature line.
    static let signaturePrefix = "\u{2014} "

    /// The note as stored: text, blank line, signature lines.
    public var serialized: String {
        var out = text + "\n"
        for signature in signatures {
            out += SignedNote.signaturePrefix + signature.keyName + " "
                + Data(signature.keyHash + signature.signature).base64EncodedString() + "\n"
        }
        return out
    }

    /// Parses a note from its stored form.
    ///
    /// - Throws: ``AuditError`` (`malformedCheckpoint`) saying what is wrong.
    public init(parsing note: String) throws(AuditError) {
        guard let split = note.range(of: "\n\n") else {
            throw .malformedCheckpoint("no blank line between the text and the signatures")
        }
        let text = String(note[..<split.lowerBound]) + "\n"
        let signatureBlock = note[split.upperBound...]
        guard signatureBlock.hasSuffix("\n") else { throw .malformedCheckpoint("the last signature line is unterminated") }
        var signatures: [Signature] = []
        for line in signatureBlock.dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
            guard line.hasPrefix(SignedNote.signaturePrefix) else {
                throw .malformedCheckpoint("a signature line does not start with an em dash and a space")
            }
            let fields = line.dropFirst(SignedNote.signaturePrefix.count).split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 2, !fields[0].isEmpty, let blob = Data(base64Encoded: String(fields[1])), blob.count > 4 else {
                throw .malformedCheckpoint("a signature line is not `— <name> <base64>`")
            }
            signatures.append(Signature(keyName: String(fields[0]), keyHash: Array(blob.prefix(4)), signature: Array(blob.dropFirst(4))))
        }
        guard !signatures.isEmpty else { throw .malformedCheckpoint("the note has no signature lines") }
        self.init(text: text, signatures: signatures)
    }
}

/// Ed25519 note keys, named and identified as C2SP signed notes do.
public enum NoteKey {
    /// The signature-type byte for Ed25519 in C2SP signed notes.
    static let ed25519Type: UInt8 = 0x01

    /// The 4-byte key hash: SHA-256(name || "\n" || 0x01 || public key), truncated.
    public static func keyHash(name: String, publicKey: Ed25519.PublicKey) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: Array(name.utf8) + [0x0A, ed25519Type])
        hasher.update(data: publicKey.rawRepresentation)
        return Array(hasher.finalize().bytes.prefix(4))
    }

    /// Whether `name` is usable: not empty, no whitespace and no `+`.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.unicodeScalars.contains { $0 == "+" || CharacterSet.whitespacesAndNewlines.contains($0) }
    }

    /// The C2SP verifier key string `name+hexhash+base64(0x01 || key)`.
    public static func verifierKey(name: String, publicKey: Ed25519.PublicKey) -> String {
        "\(name)+\(Hex.encode(keyHash(name: name, publicKey: publicKey)))+"
            + Data([ed25519Type] + publicKey.rawRepresentation).base64EncodedString()
    }

    /// Signs `text` (a checkpoint body) as `name`.
    public static func sign(_ text: String, name: String, key: Ed25519.PrivateKey) throws(CryptoError) -> SignedNote {
        let signature = try key.signature(for: Array(text.utf8))
        return SignedNote(
            text: text,
            signatures: [SignedNote.Signature(keyName: name, keyHash: keyHash(name: name, publicKey: key.publicKey), signature: signature)])
    }
}

/// Reads and writes the checkpoints file: signed notes, each followed by a blank line.
enum CheckpointsFile {
    struct Entry {
        var note: SignedNote?
        /// Why the note did not parse, when it did not.
        var error: AuditError?
        var byteOffset: Int
        var line: Int
    }

    struct Contents {
        var entries: [Entry]
        /// The byte offset where an incomplete final note starts, if any.
        var tornAt: Int?
        /// The length of the complete notes.
        var completeLength: Int
    }

    /// Splits the file into notes. Each stored note is `text \n\n signatures \n\n`.
    static func parse(_ data: [UInt8]) -> Contents {
        var entries: [Entry] = []
        var offset = 0
        var line = 1
        var blankLinesSeen = 0
        var noteStart = 0
        var noteLine = 1
        var index = 0
        var lineStart = 0
        while index < data.count {
            if data[index] == 0x0A {
                if index == lineStart {
                    blankLinesSeen += 1
                    if blankLinesSeen == 2 {
                        let bytes = Array(data[noteStart..<index])
                        let note: SignedNote?
                        let error: AuditError?
                        if let text = String(validating: bytes, as: UTF8.self) {
                            do throws(AuditError) {
                                note = try SignedNote(parsing: text)
                                error = nil
                            } catch let caught {
                                note = nil
                                error = caught
                            }
                        } else {
                            note = nil
                            error = .malformedCheckpoint("the note is not UTF-8")
                        }
                        entries.append(Entry(note: note, error: error, byteOffset: noteStart, line: noteLine))
                        blankLinesSeen = 0
                        noteStart = index + 1
                        noteLine = line + 1
                        offset = index + 1
                    }
                }
                line += 1
                lineStart = index + 1
            }
            index += 1
        }
        let torn = offset < data.count ? offset : nil
        return Contents(entries: entries, tornAt: torn, completeLength: offset)
    }

    static func serialize(_ note: SignedNote) -> [UInt8] {
        Array((note.serialized + "\n").utf8)
    }
}
