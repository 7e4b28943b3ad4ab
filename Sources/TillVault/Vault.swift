public import Foundation
public import Logging
import Synchronization
import TillCore
import TillCrypto
public import TillStore

/// The card vault: turns cards into merchant-scoped tokens, keeps the numbers encrypted
/// under rotating data keys, and gives a number back only to build a gateway request.
///
/// - The number, expiry and holder name are sealed with AES-256-GCM under the active data
///   key, with a fresh random nonce and associated data binding the ciphertext to its
///   token, merchant and key id. Data keys rest in the database only wrapped by the
///   ``KeyEncryptionKey``, which never enters it.
/// - The CVC stays in memory until the authorization takes it or it expires.
/// - Every detokenization goes through the ``VaultAuditSink`` first; if that fails, the
///   number is not handed out.
///
/// All storage goes through ``VaultStore`` (TillStore keeps the SQL); its async reads and
/// writes run off the cooperative pool.
public final class Vault: Sendable {
    /// Limits and lifetimes, with production defaults.
    public struct Configuration: Sendable {
        /// Encryptions one data key may make before the vault rotates to a new one. GCM with
        /// random 96-bit nonces is safe for 2^32 messages per key (NIST SP 800-38D §8.3);
        /// the default, 2^30, keeps a wide margin.
        public var dataKeyUsageLimit: Int64
        /// How long a CVC waits for its authorization before it is wiped.
        public var cvcLifetime: Duration
        /// Rows re-encrypted per write transaction during rotation.
        public var reencryptionBatchSize: Int

        public init(
            dataKeyUsageLimit: Int64 = 1 << 30,
            cvcLifetime: Duration = .seconds(600),
            reencryptionBatchSize: Int = 500
        ) {
            self.dataKeyUsageLimit = dataKeyUsageLimit
            self.cvcLifetime = cvcLifetime
            self.reencryptionBatchSize = reencryptionBatchSize
        }
    }

    let store: any VaultStore
    let kek: KeyEncryptionKey
    let kekID: String
    let audit: any VaultAuditSink
    let configuration: Configuration
    let logger: Logger
    let clock: @Sendable () -> Date
    /// Unwrapped keys by id, so each is unwrapped once per process.
    let unwrapped = Mutex<[String: SymmetricKey]>([:])
    /// The keys tokenizations seal with before joining a write: see ``sealingKeys()``.
    let activeKeys = Mutex(ActiveKeys())
    let cvcs = CVCStore()

    /// A vault over `store`, which must have been opened with `VaultSchema.migrations` (in TillStore).
    ///
    /// - Parameters:
    ///   - store: The database.
    ///   - kek: The key-encryption key.
    ///   - audit: Where detokenizations and key operations are reported.
    ///   - configuration: Limits and lifetimes.
    ///   - logger: For key operations and failures; never given card data.
    ///   - now: The clock: expiry checks, CVC lifetimes, timestamps.
    public init(
        store: any VaultStore,
        kek: KeyEncryptionKey,
        audit: any VaultAuditSink = DiscardingVaultAuditSink(),
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "till.vault", factory: { _ in SwiftLogNoOpLogHandler() }),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.kek = kek
        self.kekID = kek.identifier
        self.audit = audit
        var configuration = configuration
        configuration.dataKeyUsageLimit = max(1, configuration.dataKeyUsageLimit)
        configuration.reencryptionBatchSize = max(1, configuration.reencryptionBatchSize)
        self.configuration = configuration
        self.logger = logger
        self.clock = now
    }

    // MARK: Tokenizing

    /// Validates `card`, stores it encrypted and returns its token. A CVC, if given, is kept
    /// in memory for ``Configuration/cvcLifetime``.
    ///
    /// - Throws: ``VaultError/Code/invalidCard`` (with the failed check in
    ///   ``VaultError/validation``), ``VaultError/Code/invalidMerchant``,
    ///   ``VaultError/Code/invalidHolderName``, ``VaultError/Code/keysNotInitialized``, or a
    ///   storage or crypto failure. Nothing is stored when it throws.
    public func tokenize(_ card: CardInput, merchant: String) async throws(VaultError) -> CardToken {
        try Self.checkMerchant(merchant)
        let now = clock()
        let (digits, summary) = try Self.checkNumber(card.number)
        let expiry: CardExpiry
        do {
            expiry = try CardExpiry(month: card.expMonth, year: card.expYear, now: now)
        } catch {
            throw .invalidCard(error)
        }
        if let cvc = card.cvc {
            var failure: CardValidationError?
            cvc.withUnsafeBytes { bytes in
                do throws(CardValidationError) { try CardValidation.checkCVC(bytes, brand: summary.brand) } catch { failure = error }
            }
            if let failure { throw .invalidCard(failure) }
        }
        if let name = card.holderName, name.utf8.count > VaultEncoding.maximumHolderNameBytes {
            throw VaultError(
                .invalidHolderName,
                "the cardholder name has \(name.utf8.count) bytes; at most \(VaultEncoding.maximumHolderNameBytes) are kept")
        }
        let payload = VaultEncoding.payload(digits: digits, expiry: expiry, holderName: card.holderName)
        let token: String
        do {
            token = try VaultEncoding.newToken()
        } catch {
            throw .crypto("drawing a token", error)
        }

        // Seal and fingerprint before joining the writer, with the keys last seen: the
        // writer re-reads the active key (and its usage count) and reseals only if it changed.
        let keys = try await sealingKeys()
        let presealed = try Self.seal(payload, token: token, merchant: merchant, key: keys.data)
        let fingerprint = VaultEncoding.fingerprint(digits: digits, merchant: merchant, key: keys.fingerprint)
        let stored = CardToken(
            id: token, merchant: merchant, brand: summary.brand, bin: summary.bin, last4: summary.last4,
            expiry: expiry, fingerprint: fingerprint, created: now)

        // Concurrent tokenizations share one transaction (one fsync); each runs in its own
        // savepoint and sees the usage counts of those before it, so the limit still holds.
        let (active, events) = try await groupWrite("storing a card") { tx in
            var events: [VaultAuditEvent.Kind] = []
            var active = try self.activeDataKey(tx, events: &events, now: now)
            let sealed = active.id == keys.data.id
                ? presealed : try Self.seal(payload, token: token, merchant: merchant, key: active)
            try tx.insertCard(
                VaultCardRow(
                    token: token, merchant: merchant, keyID: active.id, sealed: Data(sealed), fingerprint: fingerprint,
                    brand: summary.brand.rawValue, bin: summary.bin, last4: summary.last4, expMonth: expiry.month,
                    expYear: expiry.year, createdAt: now.timeIntervalSince1970))
            try self.countUse(of: &active, tx)
            return (active, events)
        }
        if active.id != keys.data.id { noteActiveDataKey(active) }
        if let cvc = card.cvc {
            cvcs.put(cvc, token: token, merchant: merchant, expires: now.addingTimeInterval(Self.seconds(configuration.cvcLifetime)))
        }
        // The card is stored; an audit failure for an automatic rotation is logged, not thrown.
        try? await emit(events, at: now)
        return stored
    }

    /// What may be shown about a token's card.
    ///
    /// - Throws: ``VaultError/Code/tokenNotFound`` unless `token` belongs to `merchant`.
    public func card(token: String, merchant: String) async throws(VaultError) -> CardToken {
        let found = try quickRead("looking up a token") { tx -> CardToken? in
            guard let row = try tx.card(token: token, merchant: merchant) else { return nil }
            guard let brand = CardBrand(rawValue: row.brand) else {
                throw VaultError(.storageFailure, "the stored brand of token \(VaultError.quoted(token)) is not one Till knows")
            }
            return CardToken(
                id: token, merchant: merchant, brand: brand, bin: row.bin, last4: row.last4,
                expiry: CardExpiry(uncheckedMonth: row.expMonth, year: row.expYear), fingerprint: row.fingerprint,
                created: Date(timeIntervalSince1970: row.createdAt))
        }
        guard let found else { throw .tokenNotFound(token) }
        return found
    }

    // MARK: Detokenizing

    /// The card behind `token`, for the gateway request being built. Call it only while
    /// building one, and drop the result once the request is sent.
    ///
    /// The attempt is reported to the audit sink whatever its outcome; the number is
    /// returned only if the success was recorded. The CVC is included (and taken, so never
    /// handed out twice) only when `purpose` ``DetokenizationPurpose/takesCVC``.
    ///
    /// - Throws: ``VaultError/Code/tokenNotFound``, ``VaultError/Code/decryptionFailed`` (an
    ///   altered or swapped row), ``VaultError/Code/keyUnavailable``,
    ///   ``VaultError/Code/wrongKeyEncryptionKey``, ``VaultError/Code/auditFailure``.
    public func detokenize(
        token: String, merchant: String, purpose: DetokenizationPurpose
    ) async throws(VaultError) -> DetokenizedCard {
        let now = clock()
        func audited(_ outcome: DetokenizationOutcome) async throws(VaultError) {
            do {
                try await audit.record(
                    VaultAuditEvent(
                        kind: .detokenized(token: token, merchant: merchant, purpose: purpose, outcome: outcome),
                        time: now))
            } catch {
                logger.error(
                    "audit sink failed; detokenization refused",
                    metadata: ["token": "\(token)", "merchant": "\(merchant)", "error": "\(error)"])
                throw VaultError(
                    .auditFailure, "the audit sink could not record the detokenization of \(VaultError.quoted(token)): \(error)")
            }
        }

        let row = try quickRead("looking up a token") { tx in try tx.sealedCard(token: token, merchant: merchant) }
        guard let row else {
            try? await audited(.tokenNotFound)
            throw .tokenNotFound(token)
        }
        let key: DataKey
        do {
            key = try await dataKey(id: row.keyID)
        } catch {
            try? await audited(.keyUnavailable)
            throw error
        }
        guard let payload = Self.open(row.sealed, token: token, merchant: merchant, key: key),
            let brand = payload.digits.withUnsafeBytes({ CardBrand(leadingDigits: $0) })
        else {
            try? await audited(.decryptionFailed)
            logger.error("a stored card failed to decrypt", metadata: ["token": "\(token)", "key": "\(row.keyID)"])
            throw .decryptionFailed(token)
        }
        try await audited(.succeeded)
        let cvc = purpose.takesCVC ? cvcs.take(token: token, merchant: merchant, now: now) : nil
        return DetokenizedCard(
            token: token, brand: brand, number: payload.digits, expiry: payload.expiry,
            holderName: payload.holderName, cvc: cvc)
    }

    // MARK: CVC

    /// Hands over the CVC held for `token` and forgets it: a second call returns nil, as
    /// does a call after the CVC expired. Internal: outside the vault a CVC only leaves
    /// with a card detokenized for authorization.
    func takeCVC(token: String, merchant: String) -> SecureBytes? {
        cvcs.take(token: token, merchant: merchant, now: clock())
    }

    /// Whether an unexpired CVC is held for `token`.
    public func holdsCVC(token: String, merchant: String) -> Bool {
        cvcs.contains(token: token, merchant: merchant, now: clock())
    }

    /// Wipes every expired CVC now and returns how many. Expired CVCs are never handed out
    /// in any case; this bounds how long their bytes stay in memory.
    @discardableResult
    public func purgeExpiredCVCs() -> Int {
        cvcs.purge(now: clock())
    }

    /// Purges expired CVCs every `interval` until the task is cancelled: a daemon worker.
    public func runCVCSweeper(every interval: Duration = .seconds(30)) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            purgeExpiredCVCs()
        }
    }

    // MARK: Helpers

    static func checkMerchant(_ merchant: String) throws(VaultError) {
        let count = merchant.utf8.count
        guard count > 0, count <= VaultEncoding.maximumMerchantBytes else {
            throw VaultError(
                .invalidMerchant,
                "a merchant id must have 1 to \(VaultEncoding.maximumMerchantBytes) bytes, got \(count)")
        }
    }

    /// The number's digits (spaces and dashes removed) in secure memory, and what the checks
    /// found out.
    static func checkNumber(_ number: SecureBytes) throws(VaultError) -> (SecureBytes, CardValidation.NumberSummary) {
        var failure: CardValidationError?
        var count = 0
        let scratch = SecureBytes(count: number.count) { (out: UnsafeMutableRawBufferPointer) in
            number.withUnsafeBytes { input in
                do throws(CardValidationError) { count = try CardValidation.normalizeNumber(input, into: out) } catch { failure = error }
            }
        }
        if let failure { throw .invalidCard(failure) }
        let digits = scratch.withUnsafeBytes { SecureBytes(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        var summary: CardValidation.NumberSummary?
        digits.withUnsafeBytes { bytes in
            do throws(CardValidationError) { summary = try CardValidation.checkNumber(digits: bytes) } catch { failure = error }
        }
        if let failure { throw .invalidCard(failure) }
        guard let summary else { throw VaultError(.invalidCard, "the card number could not be checked") }
        return (digits, summary)
    }

    static func seal(_ payload: SecureBytes, token: String, merchant: String, key: DataKey) throws(VaultError) -> [UInt8] {
        let aad = VaultEncoding.associatedData(token: token, merchant: merchant, keyID: key.id)
        do {
            return try AES256GCM.seal(payload, using: key.key, authenticating: aad).combined
        } catch {
            throw .crypto("encrypting a card", error)
        }
    }

    static func open(_ sealed: some DataProtocol, token: String, merchant: String, key: DataKey) -> VaultEncoding.Payload? {
        let aad = VaultEncoding.associatedData(token: token, merchant: merchant, keyID: key.id)
        guard let box = try? AES256GCM.SealedBox(combined: sealed),
            let plaintext = try? AES256GCM.openSecret(box, using: key.key, authenticating: aad)
        else { return nil }
        return VaultEncoding.parsePayload(plaintext)
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    func write<T: Sendable>(
        _ what: String, _ body: @escaping @Sendable (any VaultTransaction) throws -> T
    ) async throws(VaultError) -> T {
        do { return try await store.vaultWrite(body) } catch { throw Self.storageError(what, error) }
    }

    /// Like ``write(_:_:)``, but in a transaction shared with concurrent callers: see
    /// ``StoreDatabase/groupWrite(_:)``.
    func groupWrite<T: Sendable>(
        _ what: String, _ body: @escaping @Sendable (any VaultTransaction) throws -> T
    ) async throws(VaultError) -> T {
        do { return try await store.vaultGroupWrite(body) } catch { throw Self.storageError(what, error) }
    }

    func read<T: Sendable>(
        _ what: String, _ body: @escaping @Sendable (any VaultTransaction) throws -> T
    ) async throws(VaultError) -> T {
        do { return try await store.vaultRead(body) } catch { throw Self.storageError(what, error) }
    }

    /// Like ``read(_:_:)`` for an indexed point lookup on the request path, on the calling
    /// thread: see ``StoreDatabase/quickRead(_:)``.
    func quickRead<T>(_ what: String, _ body: (any VaultTransaction) throws -> T) throws(VaultError) -> T {
        do { return try store.vaultQuickRead(body) } catch { throw Self.storageError(what, error) }
    }

    /// A vault error thrown inside a database closure as it is; anything else as a storage
    /// failure while doing `what`.
    private static func storageError(_ what: String, _ error: any Error) -> VaultError {
        (error as? VaultError) ?? .storage(what, error)
    }

    /// Reports key events; failures are logged and thrown as ``VaultError/Code/auditFailure``.
    func emit(_ kinds: [VaultAuditEvent.Kind], at time: Date) async throws(VaultError) {
        for kind in kinds {
            do {
                try await audit.record(VaultAuditEvent(kind: kind, time: time))
            } catch {
                logger.error("audit sink failed to record a key event", metadata: ["event": "\(kind)", "error": "\(error)"])
                throw VaultError(.auditFailure, "the key operation was done, but the audit sink failed to record it: \(error)")
            }
        }
    }
}
