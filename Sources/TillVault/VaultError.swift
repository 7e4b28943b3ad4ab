public import TillCore
import TillStore

/// Why a vault operation failed.
///
/// A struct over an open set of ``Code``s, so new reasons do not break callers that switch
/// on them. Messages name what was wrong and what to do; they never contain a card number,
/// a CVC or key material (tokens, merchant ids and key ids are not secret and may appear).
public struct VaultError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, matchable reason.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The card details were refused; ``VaultError/validation`` says which check failed.
        public static let invalidCard = Code(rawValue: "invalid_card")
        /// The merchant id is empty or longer than 255 bytes.
        public static let invalidMerchant = Code(rawValue: "invalid_merchant")
        /// The cardholder name is longer than the vault keeps.
        public static let invalidHolderName = Code(rawValue: "invalid_holder_name")
        /// No such token for this merchant (tokens of other merchants are not found either).
        public static let tokenNotFound = Code(rawValue: "token_not_found")
        /// A stored card failed authenticated decryption: its row was altered, swapped with
        /// another or moved to another key outside the vault.
        public static let decryptionFailed = Code(rawValue: "decryption_failed")
        /// The vault has no active data key or fingerprint key yet: run `till keys init`.
        public static let keysNotInitialized = Code(rawValue: "keys_not_initialized")
        /// A key the database refers to is missing, retired or cannot be unwrapped.
        public static let keyUnavailable = Code(rawValue: "key_unavailable")
        /// The keys in the database were wrapped under a different key-encryption key.
        public static let wrongKeyEncryptionKey = Code(rawValue: "wrong_key_encryption_key")
        /// No key-encryption key was found (neither the environment variable nor the file).
        public static let keyEncryptionKeyMissing = Code(rawValue: "key_encryption_key_missing")
        /// The key-encryption key is malformed (not 32 bytes in hex or base64).
        public static let invalidKeyEncryptionKey = Code(rawValue: "invalid_key_encryption_key")
        /// The key-encryption key file may be read or written by others, or is not a
        /// regular file owned by this user.
        public static let insecureKeyFile = Code(rawValue: "insecure_key_file")
        /// The key-encryption key file lies inside the data directory outside sandbox mode: a
        /// copy of the directory would carry the cards and the key that opens them.
        public static let keyFileInDataDirectory = Code(rawValue: "key_file_in_data_directory")
        /// Reading or writing a key file failed.
        public static let keyFileFailure = Code(rawValue: "key_file_failure")
        /// The database refused or failed an operation.
        public static let storageFailure = Code(rawValue: "storage_failure")
        /// The audit sink could not record an event; a detokenization is refused then.
        public static let auditFailure = Code(rawValue: "audit_failure")
        /// The cryptographic library failed (random generator, OpenSSL).
        public static let cryptoFailure = Code(rawValue: "crypto_failure")

        public var description: String { rawValue }
    }

    /// The reason.
    public let code: Code
    /// What was wrong, for people reading logs or API errors.
    public let message: String
    /// For ``Code/invalidCard``: the failed check, with its API code and field.
    public let validation: CardValidationError?

    init(_ code: Code, _ message: String, validation: CardValidationError? = nil) {
        self.code = code
        self.message = message
        self.validation = validation
    }

    public var description: String { "\(code): \(message)" }

    static func invalidCard(_ error: CardValidationError) -> VaultError {
        VaultError(.invalidCard, error.message, validation: error)
    }

    static func tokenNotFound(_ token: String) -> VaultError {
        VaultError(.tokenNotFound, "no card with token \(Self.quoted(token)) for this merchant")
    }

    static func decryptionFailed(_ token: String) -> VaultError {
        VaultError(
            .decryptionFailed,
            "the card stored under token \(Self.quoted(token)) does not decrypt: its row was altered, "
                + "swapped with another or given another key id outside the vault")
    }

    static func storage(_ what: String, _ error: any Error) -> VaultError {
        // GRDB keeps statement arguments out of its errors by default, and no card data is
        // ever an argument; the message still names only the SQLite result, not the SQL.
        VaultError(.storageFailure, "\(what) failed: \(StoreDatabase.describe(error))")
    }

    static func crypto(_ what: String, _ error: any Error) -> VaultError {
        VaultError(.cryptoFailure, "\(what) failed: \(error)")
    }

    /// Tokens come from callers; keep an odd one short in messages.
    static func quoted(_ text: String) -> String {
        let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
        return "\"\(shown)\""
    }
}
