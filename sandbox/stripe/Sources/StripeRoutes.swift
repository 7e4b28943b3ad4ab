import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SandboxSupport

/// The HTTP face of the gateway: Stripe's paths, form bodies, API keys, idempotency keys,
/// `Request-Id` headers and error shapes, plus the Stripe-specific admin routes.
struct StripeRoutes: Sendable {
    let gateway: StripeGateway
    let environment: SandboxEnvironment

    /// Bodies beyond this are refused in Stripe's shape before they are parsed.
    static let maxBodySize = 256 * 1024

    static let requestIDName = HTTPField.Name("Request-Id")!
    static let idempotencyKeyName = HTTPField.Name("Idempotency-Key")!
    static let replayedName = HTTPField.Name("Idempotent-Replayed")!
    static let stripeVersionName = HTTPField.Name("Stripe-Version")!

    typealias Handler = @Sendable (_ id: String, _ params: FormParameters, _ info: RequestInfo) throws(StripeError) -> JSONValue

    func install(on router: Router<SandboxContext>) {
        router.add(middleware: StripeEnvelope())
        router.add(middleware: FaultMiddleware(faults: environment.faults) { status in
            Self.response(status: status.code, body: StripeError.api(status: status.code).body, requestID: Self.newRequestID())
        })
        router.addSandboxAdminRoutes(environment: environment, resetGateway: { [gateway] in gateway.reset() })

        let gateway = self.gateway
        post(router, "/v1/payment_methods") { _, params, _ throws(StripeError) in try gateway.createPaymentMethod(params) }
        get(router, "/v1/payment_methods/:id") { id, params, _ throws(StripeError) in
            try params.allowOnly(["expand"])
            return try gateway.retrievePaymentMethod(id)
        }
        post(router, "/v1/payment_intents") { _, params, info throws(StripeError) in try gateway.createIntent(params, info: info) }
        get(router, "/v1/payment_intents") { _, params, _ throws(StripeError) in try gateway.listIntents(params) }
        get(router, "/v1/payment_intents/search") { _, params, _ throws(StripeError) in try gateway.searchIntents(params) }
        get(router, "/v1/payment_intents/:id") { id, params, _ throws(StripeError) in try gateway.retrieveIntent(id, params) }
        post(router, "/v1/payment_intents/:id/confirm") { id, params, info throws(StripeError) in
            try gateway.confirmIntent(id, params, info: info)
        }
        post(router, "/v1/payment_intents/:id/capture") { id, params, info throws(StripeError) in
            try gateway.captureIntent(id, params, info: info)
        }
        post(router, "/v1/payment_intents/:id/cancel") { id, params, info throws(StripeError) in
            try gateway.cancelIntent(id, params, info: info)
        }
        get(router, "/v1/charges") { _, params, _ throws(StripeError) in try gateway.listCharges(params) }
        get(router, "/v1/charges/:id") { id, params, _ throws(StripeError) in try gateway.retrieveCharge(id, params) }
        post(router, "/v1/refunds") { _, params, info throws(StripeError) in try gateway.createRefund(params, info: info) }
        get(router, "/v1/refunds") { _, params, _ throws(StripeError) in try gateway.listRefunds(params) }
        get(router, "/v1/refunds/:id") { id, params, _ throws(StripeError) in try gateway.retrieveRefund(id, params) }
        get(router, "/v1/disputes") { _, params, _ throws(StripeError) in try gateway.listDisputes(params) }
        get(router, "/v1/disputes/:id") { id, params, _ throws(StripeError) in try gateway.retrieveDispute(id, params) }
        post(router, "/v1/disputes/:id") { id, params, info throws(StripeError) in
            try gateway.updateDispute(id, params, info: info)
        }
        post(router, "/v1/disputes/:id/close") { id, params, info throws(StripeError) in
            try gateway.closeDispute(id, params, info: info)
        }
        get(router, "/v1/events") { _, params, _ throws(StripeError) in try gateway.listEvents(params) }
        get(router, "/v1/events/:id") { id, params, _ throws(StripeError) in try gateway.retrieveEvent(id, params) }

        addAdminRoutes(router)
    }

    // MARK: Plumbing

    static func newRequestID() -> String { "req_" + Ids.random(14) }

    static func response(
        status: Int, body: [UInt8], requestID: String, extra: [(HTTPField.Name, String)] = []
    ) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[requestIDName] = requestID
        headers[stripeVersionName] = StripeGateway.apiVersion
        for (name, value) in extra { headers[name] = value }
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    private func get(_ router: Router<SandboxContext>, _ path: RouterPath, _ handler: @escaping Handler) {
        router.get(path) { request, context in
            await self.serve(request, context: context, mutating: false, handler)
        }
    }

    private func post(_ router: Router<SandboxContext>, _ path: RouterPath, _ handler: @escaping Handler) {
        router.post(path) { request, context in
            await self.serve(request, context: context, mutating: true, handler)
        }
    }

    /// The API key from `Authorization: Bearer sk_test_…` (or Basic with the key as user).
    private static func apiKey(_ request: Request) throws(StripeError) -> String {
        guard let header = request.headers[.authorization], !header.isEmpty else {
            throw .authentication(
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                    + "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")
        }
        var key = ""
        if header.hasPrefix("Bearer ") {
            key = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        } else if header.hasPrefix("Basic "), let data = Data(base64Encoded: String(header.dropFirst(6))),
            let text = String(data: data, encoding: .utf8)
        {
            key = String(text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        }
        guard (key.hasPrefix("sk_test_") || key.hasPrefix("rk_test_")), key.count > 8, key.count <= 255,
            key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
        else {
            let shown = key.isEmpty ? "(none)" : String(key.prefix(8)) + "*********" + String(key.suffix(4))
            throw .authentication("Invalid API Key provided: \(shown)")
        }
        return key
    }

    private func serve(
        _ request: Request, context: SandboxContext, mutating: Bool, _ handler: Handler
    ) async -> Response {
        let requestID = Self.newRequestID()
        func failure(_ error: StripeError) -> Response {
            Self.response(status: error.status, body: error.body, requestID: requestID)
        }
        let key: String
        var params: FormParameters
        do {
            key = try Self.apiKey(request)
            params = try FormParameters(decoding: (request.uri.query ?? "").utf8)
        } catch {
            return failure(error)
        }
        if mutating {
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: Self.maxBodySize)
            } catch {
                return failure(
                    .invalidRequest("The request body is larger than \(Self.maxBodySize) bytes.", code: "request_too_large", status: 413))
            }
            do {
                params.merge(try FormParameters(decoding: body.readableBytesView))
            } catch {
                return failure(error)
            }
        }
        let info = RequestInfo(
            requestID: requestID, idempotencyKey: mutating ? request.headers[Self.idempotencyKeyName] : nil,
            baseURL: "http://" + (request.head.authority ?? "127.0.0.1"))
        let id = context.parameters.get("id") ?? ""
        guard mutating, let idempotencyKey = info.idempotencyKey else {
            return run(handler, id: id, params: params, info: info).response
        }
        guard idempotencyKey.utf8.count <= 255 else {
            return failure(.invalidRequest("Idempotency-Key must be at most 255 characters long.", param: "Idempotency-Key"))
        }
        let fingerprint = request.uri.path + "?" + params.canonical
        let now = environment.clock.now
        switch environment.idempotency.begin(scope: key, key: idempotencyKey, fingerprint: fingerprint, now: now) {
        case .replay(let stored):
            var headers = HTTPFields()
            for header in stored.headers {
                if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
            }
            headers[Self.replayedName] = "true"
            return Response(
                status: HTTPResponse.Status(code: stored.status), headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: stored.body)))
        case .inFlight:
            return failure(
                .invalidRequest(
                    "There is currently another in-progress request using this Stripe token (probably the same "
                        + "idempotency key). Try again later.", code: "idempotency_key_in_use", status: 409))
        case .mismatch:
            var error = StripeError.invalidRequest(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. "
                    + "Try using a key other than '\(idempotencyKey)' if you meant to execute a different request.")
            error.type = "idempotency_error"
            return failure(error)
        case .proceed:
            let (response, status, body) = run(handler, id: id, params: params, info: info)
            let stored = StoredResponse(
                status: status,
                headers: [
                    .init(name: "Content-Type", value: "application/json"),
                    .init(name: "Request-Id", value: requestID),
                    .init(name: "Stripe-Version", value: StripeGateway.apiVersion),
                    .init(name: "Idempotency-Key", value: idempotencyKey),
                ],
                body: body)
            environment.idempotency.complete(scope: key, key: idempotencyKey, response: stored, now: now)
            return response
        }
    }

    private func run(
        _ handler: Handler, id: String, params: FormParameters, info: RequestInfo
    ) -> (response: Response, status: Int, body: [UInt8]) {
        let status: Int
        let body: [UInt8]
        do {
            body = try handler(id, params, info).bytes
            status = 200
        } catch {
            body = error.body
            status = error.status
        }
        var extra: [(HTTPField.Name, String)] = []
        if let key = info.idempotencyKey { extra.append((Self.idempotencyKeyName, key)) }
        return (Self.response(status: status, body: body, requestID: info.requestID, extra: extra), status, body)
    }

    // MARK: Admin routes of this gateway

    private struct OpenDispute: Decodable {
        var payment: String
        var reason: String?
        var stage: String?
    }

    private func addAdminRoutes(_ router: Router<SandboxContext>) {
        let gateway = self.gateway
        let admin = router.group("_sandbox")
        admin.post("disputes") { request, context in
            var request = request
            let requestID = Self.newRequestID()
            let info = RequestInfo(requestID: requestID, idempotencyKey: nil, baseURL: "")
            do {
                guard let buffer = try? await request.collectBody(upTo: Self.maxBodySize),
                    let body = try? JSONDecoder().decode(OpenDispute.self, from: Data(buffer.readableBytesView))
                else {
                    throw StripeError.invalidRequest(
                        "Expected JSON {\"payment\": \"pi_… or ch_…\", \"reason\": \"fraudulent|product_not_received|general\", "
                            + "\"stage\": \"inquiry|chargeback\"}.")
                }
                let reason: DisputeReason
                switch body.reason ?? "fraudulent" {
                case "fraudulent": reason = .fraudulent
                case "product_not_received": reason = .productNotReceived
                case "general": reason = .general
                default: throw StripeError.invalidRequest("reason must be fraudulent, product_not_received or general", param: "reason")
                }
                let stage = body.stage ?? "chargeback"
                guard stage == "inquiry" || stage == "chargeback" else {
                    throw StripeError.invalidRequest("stage must be inquiry or chargeback", param: "stage")
                }
                let dispute = try gateway.openDispute(payment: body.payment, reason: reason, inquiry: stage == "inquiry", info: info)
                return Self.response(status: 201, body: dispute.bytes, requestID: requestID)
            } catch let error as StripeError {
                return Self.response(status: error.status, body: error.body, requestID: requestID)
            }
        }
        for (path, won) in [("disputes/:id/win", true), ("disputes/:id/lose", false)] {
            admin.post(RouterPath(path)) { _, context in
                let requestID = Self.newRequestID()
                let info = RequestInfo(requestID: requestID, idempotencyKey: nil, baseURL: "")
                do throws(StripeError) {
                    let dispute = try gateway.settleDispute(context.parameters.get("id") ?? "", won: won, info: info)
                    return Self.response(status: 200, body: dispute.bytes, requestID: requestID)
                } catch {
                    return Self.response(status: error.status, body: error.body, requestID: requestID)
                }
            }
        }
        admin.get("3ds/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            let safe = id.filter { $0.isLetter || $0.isNumber || $0 == "_" }
            let page = """
                <!doctype html><html><head><meta charset="utf-8"><title>3-D Secure (sandbox)</title></head>
                <body><h1>3-D Secure test payment</h1><p>PaymentIntent \(safe)</p>
                <form method="post" action="/_sandbox/3ds/\(safe)/complete"><input type="hidden" name="result" value="succeed">
                <button type="submit">Complete authentication</button></form>
                <form method="post" action="/_sandbox/3ds/\(safe)/complete"><input type="hidden" name="result" value="fail">
                <button type="submit">Fail authentication</button></form></body></html>
                """
            var headers = HTTPFields()
            headers[.contentType] = "text/html; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: page)))
        }
        admin.post("3ds/:id/complete") { request, context in
            var request = request
            let requestID = Self.newRequestID()
            let id = context.parameters.get("id") ?? ""
            do {
                var params = try FormParameters(decoding: (request.uri.query ?? "").utf8)
                if let body = try? await request.collectBody(upTo: Self.maxBodySize) {
                    params.merge(try FormParameters(decoding: body.readableBytesView))
                }
                let result = try params.string("result") ?? "succeed"
                guard result == "succeed" || result == "fail" else {
                    throw StripeError.invalidRequest("result must be succeed or fail", param: "result")
                }
                let info = RequestInfo(
                    requestID: requestID, idempotencyKey: nil, baseURL: "http://" + (request.head.authority ?? "127.0.0.1"))
                let intent = try gateway.completeAuthentication(id, succeed: result == "succeed", info: info)
                return Self.response(status: 200, body: intent.bytes, requestID: requestID)
            } catch let error as StripeError {
                return Self.response(status: error.status, body: error.body, requestID: requestID)
            }
        }
    }
}

/// Turns what the router itself refuses (an unknown URL, a wrong method) into Stripe's error
/// shape, so clients never see a body they cannot parse.
struct StripeEnvelope: RouterMiddleware {
    typealias Context = SandboxContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError where error.status == .notFound || error.status == .methodNotAllowed {
            let stripeError = StripeError.invalidRequest(
                "Unrecognized request URL (\(request.method.rawValue): \(request.uri.path)).", status: 404)
            return StripeRoutes.response(status: 404, body: stripeError.body, requestID: StripeRoutes.newRequestID())
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            let stripeError = StripeError.invalidRequest("The request body is too large.", code: "request_too_large", status: 413)
            return StripeRoutes.response(status: 413, body: stripeError.body, requestID: StripeRoutes.newRequestID())
        }
    }
}
