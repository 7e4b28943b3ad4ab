import Foundation
import HTTPTypes
import Hummingbird
import TillStore

/// `Idempotency-Key` for mutating calls: the first response is stored; a replay gets it
/// back; the same key with a different request is a 409; a duplicate that arrives while the
/// first still runs is a 409 too, so it never runs twice. Keys are per merchant and kept
/// for 24 hours.
struct IdempotencyGuard: Sendable {
    static let header = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!
    static let retention: TimeInterval = 24 * 60 * 60

    let store: Store
    let now: @Sendable () -> Date
    /// A keyed digest (the vault's): request bodies may hold card numbers, and a plain hash
    /// of one at rest could be brute-forced back to the number.
    let digest: @Sendable ([UInt8]) async throws -> String

    /// Runs `body` at most once per key. Without a key it simply runs.
    func run(
        request: Request, body bytes: [UInt8], caller: Caller, _ work: () async throws -> APIResponse
    ) async throws -> Response {
        guard let key = request.headers[Self.header] else { return try await work().response }
        guard !key.isEmpty, key.count <= 255 else {
            throw APIError.invalid("Idempotency-Key must be 1 to 255 characters", param: "Idempotency-Key")
        }
        let fingerprint = try await digest(Array("\(request.method.rawValue) \(request.uri.path)\n".utf8) + bytes)
        switch try await store.beginIdempotency(
            merchantID: caller.merchantID, key: key, requestHash: fingerprint, now: now(), retention: Self.retention)
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
            throw APIError(
                .conflict, .conflict, code: "idempotency_key_in_use",
                "a request with this Idempotency-Key is still being processed; retry after it finishes")
        case .proceed:
            let response: APIResponse
            do {
                response = try await work()
            } catch let error as APIError where error.status.code < 500 {
                // A refusal is an answer: replays get the same refusal.
                try await store.completeIdempotency(
                    merchantID: caller.merchantID, key: key, status: Int(error.status.code), body: JSONValue.object(error.body).data)
                throw error
            } catch {
                // Nothing was answered; let a retry run afresh.
                try? await store.abandonIdempotency(merchantID: caller.merchantID, key: key)
                throw error
            }
            try await store.completeIdempotency(
                merchantID: caller.merchantID, key: key, status: Int(response.status.code), body: response.body)
            return response.response
        }
    }
}

/// A JSON answer, kept as bytes so it can be stored for idempotent replays.
struct APIResponse: Sendable {
    var status: HTTPResponse.Status
    var body: Data

    init(_ status: HTTPResponse.Status = .ok, _ value: JSONValue) {
        self.status = status
        self.body = value.data
    }

    var response: Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
