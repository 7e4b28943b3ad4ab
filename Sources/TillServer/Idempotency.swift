import Foundation
import TillPayments
import HTTPTypes
import Hummingbird
import Synchronization
import TillCore
import TillStore

/// `Idempotency-Key` for mutating calls: the first response is stored; a replay gets it
/// back; the same key with a different request is a 409; a duplicate that arrives while the
/// first still runs is a 409 too, so it never runs twice. Keys are per merchant and kept
/// for 24 hours.
///
/// A key is claimed in memory first (one daemon owns its database), which keeps concurrent
/// duplicates out. The claim becomes durable before the work can act on a gateway: either
/// by its own commit before the work starts, or, for payment operations, inside the
/// engine's writes (the first always precedes a gateway call). Either way, a crash can
/// never let a retry with the same key act twice.
///
/// A payment operation that knows its answer from the payment alone saves that answer
/// with each of its writes; when the last write already holds the final answer, nothing
/// more is written. If the daemon dies mid-request, a replay gets the answer as of the
/// last durable step (a `processing` payment, say, which reconciliation then settles).
struct IdempotencyGuard: Sendable {
    static let header = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!
    static let retention: TimeInterval = 24 * 60 * 60
    static let maxKeyBytes = 255

    /// When the claim of a first request is made durable.
    enum ClaimTiming {
        /// Its own commit, before the work runs.
        case beforeWork
        /// With the work's ``PaymentWrite``s (see ``PendingIdempotencyClaim``); only for
        /// work that writes a payment before any gateway call. `answer` is what the request
        /// answers when it ends with the payment as saved, if the route can tell.
        case withPaymentWrites(answer: (@Sendable (PaymentEngine.Loaded) throws -> APIResponse)?)
    }

    let store: Store
    let now: @Sendable () -> Date
    /// A keyed digest (the vault's): request bodies may hold card numbers, and a plain hash
    /// of one at rest could be brute-forced back to the number.
    let digest: @Sendable ([UInt8]) async throws -> String
    let running = RunningKeys()

    /// Runs `body` at most once per key. Without a key it simply runs.
    func run(
        request: Request, body bytes: [UInt8], caller: Caller, claim timing: ClaimTiming = .beforeWork,
        _ work: () async throws -> APIResponse
    ) async throws -> Response {
        guard let key = request.headers[Self.header] else { return try await work().response }
        // Bytes, not characters: one grapheme cluster can be kilobytes.
        guard !key.isEmpty, key.utf8.count <= Self.maxKeyBytes else {
            throw APIError.invalid("Idempotency-Key must be 1 to \(Self.maxKeyBytes) bytes", param: "Idempotency-Key")
        }
        // The key is stored as it is; a card number must not reach the disk that way.
        if PANScreen.containsCardNumber(key) { throw RequestBody.cardNumberInText("Idempotency-Key") }
        let scope = caller.keyKind
        guard running.claim(merchantID: caller.merchantID, keyKind: scope, key: key) else { throw Self.inUse }
        defer { running.release(merchantID: caller.merchantID, keyKind: scope, key: key) }

        let fingerprint = try await digest(Array("\(request.method.rawValue) \(request.uri.path)\n".utf8) + bytes)
        let date = now()
        switch try await store.idempotencyDecision(
            merchantID: caller.merchantID, keyKind: scope, key: key, requestHash: fingerprint, now: date,
            retention: Self.retention)
        {
        case .replay(let status, let stored):
            var response = Response(
                status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: stored)))
            response.headers[Self.replayedHeader] = "true"
            return response
        case .mismatch:
            throw APIError(
                .conflict, .conflict, code: "idempotency_key_reused",
                "this Idempotency-Key was already used with a different request; use a new key for a new request")
        case .inFlight:
            throw Self.inUse
        case .proceed:
            let claim = IdempotencyRecord(
                merchantId: caller.merchantID, keyKind: scope, key: key, requestHash: fingerprint, createdAt: date)
            func complete(_ status: HTTPResponse.Status, _ body: Data) async throws {
                try await store.completeIdempotency(
                    merchantID: caller.merchantID, keyKind: scope, key: key, requestHash: fingerprint, createdAt: date,
                    status: Int(status.code), body: body)
            }
            if case .beforeWork = timing {
                guard
                    case .proceed = try await store.beginIdempotency(
                        merchantID: caller.merchantID, keyKind: scope, key: key, requestHash: fingerprint, now: date,
                        retention: Self.retention)
                else { throw Self.inUse }
            }
            var pending: PendingIdempotencyClaim?
            let response: APIResponse
            do {
                switch timing {
                case .beforeWork:
                    response = try await work()
                case .withPaymentWrites(let answer):
                    let claim = PendingIdempotencyClaim(claim, answer: answer)
                    pending = claim
                    response = try await PaymentWrites.$companion.withValue(claim) { try await work() }
                }
            } catch {
                guard let refusal = APIError(mapping: error), refusal.status.code < 500 else {
                    // Nothing was answered; let a retry run afresh.
                    try? await store.abandonIdempotency(merchantID: caller.merchantID, keyKind: scope, key: key)
                    throw error
                }
                // A refusal is an answer: replays get the same refusal.
                let body = JSONValue.object(refusal.body).data
                if pending?.savedAnswer != StoredAnswer(status: Int(refusal.status.code), body: body) {
                    try await complete(refusal.status, body)
                }
                throw refusal
            }
            if pending?.savedAnswer != StoredAnswer(status: Int(response.status.code), body: response.storedBody) {
                try await complete(response.status, response.storedBody)
            }
            return response.response
        }
    }

    static let inUse = APIError(
        .conflict, .conflict, code: "idempotency_key_in_use",
        "a request with this Idempotency-Key is still being processed; retry after it finishes")
}

/// The keys whose first request runs in this process now.
final class RunningKeys: Sendable {
    private let keys = Mutex<Set<String>>([])

    /// Claims the key; `false` when a request with it is already running.
    func claim(merchantID: String, keyKind: APIKeyRecord.Kind, key: String) -> Bool {
        keys.withLock { $0.insert(Self.name(merchantID, keyKind, key)).inserted }
    }

    func release(merchantID: String, keyKind: APIKeyRecord.Kind, key: String) {
        _ = keys.withLock { $0.remove(Self.name(merchantID, keyKind, key)) }
    }

    private static func name(_ merchantID: String, _ keyKind: APIKeyRecord.Kind, _ key: String) -> String {
        merchantID + "\u{0}" + keyKind.rawValue + "\u{0}" + key
    }
}

/// An answer as stored for replays.
struct StoredAnswer: Sendable, Hashable {
    var status: Int
    var body: Data

    /// What a request answers, or the refusal it throws (a 4xx), for the payment as loaded.
    init?(_ answer: (PaymentEngine.Loaded) throws -> APIResponse, _ loaded: PaymentEngine.Loaded) {
        do {
            let response = try answer(loaded)
            self.init(status: Int(response.status.code), body: response.storedBody)
        } catch {
            guard let refusal = APIError(mapping: error), refusal.status.code < 500 else { return nil }
            self.init(status: Int(refusal.status.code), body: JSONValue.object(refusal.body).data)
        }
    }

    init(status: Int, body: Data) {
        self.status = status
        self.body = body
    }
}

/// The idempotency claim of the request the current task serves, for the engine's payment
/// writes to save (``IdempotencyGuard/ClaimTiming/withPaymentWrites(answer:)``), through
/// ``PaymentWrites/companion``.
final class PendingIdempotencyClaim: PaymentWriteCompanion {
    private let record: IdempotencyRecord
    private let answer: (@Sendable (PaymentEngine.Loaded) throws -> APIResponse)?
    /// Whether a write saved the claim, the answer the last one saved with it, and the
    /// answer offered to the write in progress (writes under one request are sequential:
    /// the engine holds the payment's lock).
    private let state = Mutex<(claimed: Bool, answer: StoredAnswer?, offered: StoredAnswer?)>((false, nil, nil))

    init(_ record: IdempotencyRecord, answer: (@Sendable (PaymentEngine.Loaded) throws -> APIResponse)?) {
        self.record = record
        self.answer = answer
    }

    /// The claim with the answer as of `loaded`, or the bare claim unless an earlier write
    /// saved it.
    func idempotencyRecord(forWriteOf loaded: PaymentEngine.Loaded) -> IdempotencyRecord? {
        if let answer, let stored = StoredAnswer(answer, loaded) {
            var record = self.record
            record.responseStatus = stored.status
            record.responseBody = stored.body
            state.withLock { $0.offered = stored }
            return record
        }
        return state.withLock { state in
            guard !state.claimed else { return nil }
            state.offered = nil
            return record
        }
    }

    func saved(_ record: IdempotencyRecord) {
        state.withLock { $0 = (true, $0.offered, nil) }
    }

    /// The answer the last committed write saved, if any.
    var savedAnswer: StoredAnswer? { state.withLock { $0.answer } }
}

/// A JSON answer, kept as bytes so it can be stored for idempotent replays.
struct APIResponse: Sendable {
    var status: HTTPResponse.Status
    var body: Data
    /// What a replay answers instead of `body`, when the first answer shows a secret that
    /// must not be kept at rest (a webhook endpoint's signing secret). `nil`: `body`.
    var replayBody: Data?

    init(_ status: HTTPResponse.Status = .ok, _ value: JSONValue, replay: JSONValue? = nil) {
        self.status = status
        self.body = value.data
        self.replayBody = replay?.data
    }

    /// The bytes stored for replays.
    var storedBody: Data { replayBody ?? body }

    var response: Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
