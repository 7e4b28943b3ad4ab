import Foundation
import HTTPTypes
import Hummingbird
import SandboxSupport
import Synchronization
import TillCrypto

/// One authenticated API call, parsed as far as every operation needs.
struct APICall: Sendable {
    /// The id from the path (`{id}`, `{authorization_id}`, ...), or "".
    var id: String
    var body: JSONValue?
    var requestID: String?
}

extension HTTPField.Name {
    static let paypalRequestID = Self("PayPal-Request-Id")!
    static let paypalMockResponse = Self("PayPal-Mock-Response")!
    static let prefer = Self("Prefer")!
}

/// The HTTP face of the gateway: OAuth, the bearer check, body limits, `PayPal-Request-Id`
/// idempotency, `Prefer`, and `PayPal-Mock-Response`.
final class PayPalAPI: Sendable {
    let gateway: PayPalGateway
    let clientID: String
    let clientSecret: String
    let tokenLifetime: Int
    /// Access tokens and when they expire, on the sandbox clock.
    private let tokens = Mutex<[String: Date]>([:])
    /// PayPal's own limit is larger; the sandbox refuses anything a checkout could not need.
    static let maxBodyBytes = 64 * 1024

    init(gateway: PayPalGateway, clientID: String, clientSecret: String, tokenLifetime: Int) {
        self.gateway = gateway
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.tokenLifetime = tokenLifetime
    }

    var environment: SandboxEnvironment { gateway.environment }

    func addRoutes(to router: Router<SandboxContext>) {
        router.post("v1/oauth2/token") { request, context in await self.issueToken(request, context) }
        // Public, as PayPal's are: a receiver fetches the signing certificate before it
        // holds any credential.
        router.get("v1/notifications/certs/:name") { _, context in
            let signing = self.gateway.signing
            guard context.parameters.get("name") == signing.certificateName else { throw HTTPError(.notFound) }
            var headers = HTTPFields()
            headers[.contentType] = "application/x-pem-file"
            return Response(
                status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: signing.chainPEM)))
        }
        router.post("v1/notifications/verify-webhook-signature") { request, context in
            await self.handle(request, context, id: "") { call throws(PayPalError) in try self.verifyWebhook(call) }
        }
        let g = gateway
        // A client that lost the answer to a card order no longer holds the card (the CVC is
        // wiped after the call), and PayPal answers a repeated PayPal-Request-Id with the
        // latest state of the first request: so the card is no part of the fingerprint.
        route(router, .post, "v2/checkout/orders", idempotent: true, fingerprintOmits: ["payment_source"]) {
            call throws(PayPalError) in try g.createOrder(call)
        }
        route(router, .get, "v2/checkout/orders/:id") { call throws(PayPalError) in try g.getOrder(call) }
        route(router, .post, "v2/checkout/orders/:id/authorize", idempotent: true) { call throws(PayPalError) in
            try g.completeOrder(call, intent: .authorize)
        }
        route(router, .post, "v2/checkout/orders/:id/capture", idempotent: true) { call throws(PayPalError) in
            try g.completeOrder(call, intent: .capture)
        }
        route(router, .get, "v2/payments/authorizations/:id") { call throws(PayPalError) in try g.getAuthorization(call) }
        route(router, .post, "v2/payments/authorizations/:id/capture", idempotent: true) { call throws(PayPalError) in
            try g.captureAuthorization(call)
        }
        route(router, .post, "v2/payments/authorizations/:id/void", idempotent: true) { call throws(PayPalError) in
            try g.voidAuthorization(call)
        }
        route(router, .post, "v2/payments/authorizations/:id/reauthorize", idempotent: true) { call throws(PayPalError) in
            try g.reauthorize(call)
        }
        route(router, .get, "v2/payments/captures/:id") { call throws(PayPalError) in try g.getCapture(call) }
        route(router, .post, "v2/payments/captures/:id/refund", idempotent: true) { call throws(PayPalError) in
            try g.refundCapture(call)
        }
        route(router, .get, "v2/payments/refunds/:id") { call throws(PayPalError) in try g.getRefund(call) }
        route(router, .get, "v1/customer/disputes/:id") { call throws(PayPalError) in try g.getDispute(call) }
        route(router, .post, "v1/customer/disputes/:id/provide-evidence", idempotent: true) { call throws(PayPalError) in
            try g.provideEvidence(call)
        }
        route(router, .post, "v1/customer/disputes/:id/accept-claim", idempotent: true) { call throws(PayPalError) in
            try g.acceptClaim(call)
        }
    }

    private func route(
        _ router: Router<SandboxContext>, _ method: HTTPRequest.Method, _ path: RouterPath, idempotent: Bool = false,
        fingerprintOmits: Set<String> = [],
        _ operation: @escaping @Sendable (APICall) throws(PayPalError) -> Reply
    ) {
        router.on(path, method: method) { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.handle(
                request, context, id: id, idempotent: idempotent, fingerprintOmits: fingerprintOmits, operation)
        }
    }

    // MARK: The request pipeline

    func handle(
        _ request: Request, _ context: SandboxContext, id: String, idempotent: Bool = false,
        fingerprintOmits: Set<String> = [], _ operation: @Sendable (APICall) throws(PayPalError) -> Reply
    ) async -> Response {
        if let refusal = authenticate(request) { return refusal }
        let bytes: [UInt8]
        do {
            bytes = Array(try await request.body.collect(upTo: Self.maxBodyBytes).readableBytesView)
        } catch {
            return PayPalError(
                status: 413, name: "INVALID_REQUEST",
                message: "Request is not well-formed, syntactically incorrect, or violates schema.",
                details: [
                    .init(
                        field: nil, value: nil, location: "body", issue: "REQUEST_BODY_TOO_LARGE",
                        description: "The request body is larger than \(Self.maxBodyBytes) bytes.")
                ]
            ).response
        }
        var body: JSONValue?
        if !bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            guard let parsed = JSONValue.parse(bytes) else {
                return PayPalError.invalidRequest("MALFORMED_REQUEST_JSON", "The request JSON is not well formed.").response
            }
            body = parsed
        }
        if let mocked = mockResponse(request) { return mocked.response }
        let requestID = request.headers[.paypalRequestID]
        let call = APICall(id: id, body: body, requestID: requestID)
        let representation = request.headers[.prefer]?.lowercased().contains("return=representation") ?? false

        guard idempotent, let requestID, !requestID.isEmpty else {
            return render(Result { () throws(PayPalError) in try operation(call) }, representation: representation)
        }
        guard requestID.utf8.count <= 108 else {
            return PayPalError.invalidRequest(
                "INVALID_STRING_MAX_LENGTH", "PayPal-Request-Id is at most 108 characters.", field: "PayPal-Request-Id",
                location: "header"
            ).response
        }
        // The key is scoped to the call's path: the same id on another resource is another request.
        let scope = request.uri.path
        var fingerprinted = body
        if case .object(let members)? = body, !fingerprintOmits.isEmpty {
            fingerprinted = .object(members.filter { !fingerprintOmits.contains($0.key) })
        }
        let fingerprint = SHA256.hash(data: fingerprinted?.canonical.bytes ?? []).hexString + (representation ? "+r" : "")
        let now = environment.clock.now
        switch environment.idempotency.begin(scope: scope, key: requestID, fingerprint: fingerprint, now: now) {
        case .replay(let stored):
            // PayPal answers a repeated create with 200 and the same body.
            var headers = HTTPFields()
            for header in stored.headers {
                if let name = HTTPField.Name(header.name) { headers[name] = header.value }
            }
            return Response(
                status: HTTPResponse.Status(code: stored.status == 201 ? 200 : stored.status), headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: stored.body)))
        case .inFlight:
            return PayPalError.requestInProgress.response
        case .mismatch:
            return PayPalError.unprocessable(
                "PAYPAL_REQUEST_ID_PREVIOUSLY_USED",
                "The PayPal-Request-Id has already been used for another request.", field: "PayPal-Request-Id"
            ).response
        case .proceed:
            break
        }
        let result = Result { () throws(PayPalError) in try operation(call) }
        let (status, responseBody) = encode(result, representation: representation)
        switch result {
        case .failure(let error) where error.status != 422:
            // Refused before anything happened: a retry with the same id runs afresh.
            environment.idempotency.abandon(scope: scope, key: requestID)
        default:
            environment.idempotency.complete(
                scope: scope, key: requestID,
                response: StoredResponse(
                    status: status, headers: [.init(name: "Content-Type", value: "application/json")],
                    body: responseBody ?? []),
                now: now)
        }
        return PayPalHTTP.response(status: status, body: responseBody)
    }

    private func encode(_ result: Result<Reply, PayPalError>, representation: Bool) -> (Int, [UInt8]?) {
        switch result {
        case .success(let reply):
            if reply.alwaysFull || representation { return (reply.status, reply.full.bytes) }
            if reply.minimalIsEmpty { return (204, nil) }
            return (reply.status, Renderer.minimal(reply.full).bytes)
        case .failure(let error):
            return (error.status, error.json.bytes)
        }
    }

    private func render(_ result: Result<Reply, PayPalError>, representation: Bool) -> Response {
        let (status, body) = encode(result, representation: representation)
        return PayPalHTTP.response(status: status, body: body)
    }

    /// `PayPal-Mock-Response: {"mock_application_codes": "INSTRUMENT_DECLINED"}` answers
    /// with that error without doing anything, as PayPal's negative testing does.
    private func mockResponse(_ request: Request) -> PayPalError? {
        guard let header = request.headers[.paypalMockResponse] else { return nil }
        guard case .object(let members)? = JSONValue.parse(Array(header.utf8)),
            case .string(let code)? = members["mock_application_codes"], !code.isEmpty
        else {
            return .invalidRequest(
                "INVALID_PARAMETER_VALUE",
                "PayPal-Mock-Response must be JSON like {\"mock_application_codes\": \"INSTRUMENT_DECLINED\"}.",
                field: "PayPal-Mock-Response", location: "header")
        }
        let description = "Mocked by PayPal-Mock-Response."
        switch code {
        case "INTERNAL_SERVER_ERROR": return .internalError()
        case "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID":
            return PayPalError(
                status: 404, name: "RESOURCE_NOT_FOUND", message: "The specified resource does not exist.",
                details: [.init(field: nil, value: nil, location: "path", issue: code, description: description)])
        case "PERMISSION_DENIED", "NOT_AUTHORIZED":
            return PayPalError(
                status: 403, name: "NOT_AUTHORIZED", message: "Authorization failed due to insufficient permissions.",
                details: [.init(field: nil, value: nil, location: nil, issue: code, description: description)])
        case "PREVIOUS_REQUEST_IN_PROGRESS":
            return .requestInProgress
        case "INVALID_PARAMETER_VALUE", "MISSING_REQUIRED_PARAMETER", "INVALID_PARAMETER_SYNTAX",
            "MALFORMED_REQUEST_JSON", "INVALID_STRING_LENGTH":
            return .invalidRequest(code, description)
        default:
            return .unprocessable(code, description)
        }
    }

    // MARK: OAuth

    /// `Authorization: Bearer <token>`, checked against unexpired tokens on the sandbox clock.
    private func authenticate(_ request: Request) -> Response? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            return PayPalError.authenticationFailure.response
        }
        let token = String(header.dropFirst(7))
        let now = environment.clock.now
        let expiry = tokens.withLock { $0[token] }
        guard let expiry else {
            return Self.oauthError(401, "invalid_token", "Token signature verification failed")
        }
        guard now < expiry else {
            return Self.oauthError(401, "invalid_token", "Access Token has expired")
        }
        return nil
    }

    private static func oauthError(_ status: Int, _ error: String, _ description: String) -> Response {
        PayPalHTTP.response(
            status: status,
            body: JSON.object([("error", .string(error)), ("error_description", .string(description))]).bytes)
    }

    /// `POST /v1/oauth2/token` with `grant_type=client_credentials` and Basic auth.
    private func issueToken(_ request: Request, _ context: SandboxContext) async -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Basic "),
            let decoded = Data(base64Encoded: String(header.dropFirst(6))),
            let pair = String(data: decoded, encoding: .utf8), let colon = pair.firstIndex(of: ":")
        else {
            return Self.oauthError(401, "invalid_client", "Client Authentication failed")
        }
        let id = String(pair[..<colon])
        let secret = String(pair[pair.index(after: colon)...])
        guard constantTimeEquals(Array(id.utf8), Array(clientID.utf8)),
            constantTimeEquals(Array(secret.utf8), Array(clientSecret.utf8))
        else {
            return Self.oauthError(401, "invalid_client", "Client Authentication failed")
        }
        guard let buffer = try? await request.body.collect(upTo: 8 * 1024) else {
            return Self.oauthError(400, "invalid_request", "Request body too large")
        }
        let form = String(decoding: buffer.readableBytesView, as: UTF8.self)
        var grant: String?
        for pair in form.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.first == "grant_type" {
                grant = parts.count > 1 ? String(parts[1]).removingPercentEncoding : ""
            }
        }
        guard let grant else { return Self.oauthError(400, "unsupported_grant_type", "Grant Type is NULL") }
        guard grant == "client_credentials" else {
            return Self.oauthError(400, "unsupported_grant_type", "Grant Type is not supported: \(grant)")
        }
        let token = PayPalIDs.token()
        let now = environment.clock.now
        tokens.withLock { tokens in
            // Forget expired tokens so a long run does not grow without bound.
            if tokens.count > 10_000 { tokens = tokens.filter { $0.value > now } }
            tokens[token] = now.addingTimeInterval(TimeInterval(tokenLifetime))
        }
        let body = JSON.object([
            ("scope", .string("https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/refund https://uri.paypal.com/services/payments/realtimepayment https://uri.paypal.com/services/disputes/read-seller")),
            ("access_token", .string(token)),
            ("token_type", .string("Bearer")),
            ("app_id", .string("APP-80W284485P519543T")),
            ("expires_in", .int(Int64(tokenLifetime))),
            ("nonce", .string("\(now.paypalString)\(PayPalIDs.debugID())")),
        ])
        return PayPalHTTP.response(status: 200, body: body.bytes)
    }

    // MARK: Webhook verification

    private func verifyWebhook(_ call: APICall) throws(PayPalError) -> Reply {
        let body = try Fields(
            call.body, pointer: "",
            allowed: [
                "auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time", "webhook_id",
                "webhook_event",
            ])
        let algorithm = try body.string("auth_algo", required: true) ?? ""
        let certURL = try body.string("cert_url", required: true, maxLength: 2048) ?? ""
        let transmissionID = try body.string("transmission_id", required: true) ?? ""
        let signature = try body.string("transmission_sig", required: true, maxLength: 1024) ?? ""
        let time = try body.string("transmission_time", required: true) ?? ""
        let webhookID = try body.string("webhook_id", required: true, maxLength: 50) ?? ""
        let event = try body.object("webhook_event", allowed: Set(body.members["webhook_event"]?.objectValue?.keys.map { $0 } ?? []), required: true)
        var eventID = ""
        if case .string(let id)? = event?.members["id"] { eventID = id }
        let sent = gateway.sentEvents.withLock { $0[eventID] }
        let certificateURL = "\(gateway.base.withLock { $0 })/v1/notifications/certs/\(gateway.signing.certificateName)"
        let verified =
            algorithm == PayPalWebhookSignature.algorithm && webhookID == gateway.webhookID && certURL == certificateURL
            && sent.map { bytes in
                // PayPal checks the event it is given: one changed after signing fails, so the
                // sandbox compares it with what it sent before checking the signature over
                // the exact bytes (the CRC32 covers those, not a re-serialization).
                event.map { .object($0.members) } == JSONValue.parse(bytes)
                    && gateway.signing.isValid(
                        signature: signature, transmissionID: transmissionID, time: time, webhookID: webhookID, body: bytes)
            } ?? false
        return Reply(
            status: 200, full: .object([("verification_status", .string(verified ? "SUCCESS" : "FAILURE"))]),
            alwaysFull: true)
    }
}
