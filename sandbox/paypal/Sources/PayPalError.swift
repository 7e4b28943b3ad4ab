import HTTPTypes
import Hummingbird
import SandboxSupport
import TillCrypto

/// An error in PayPal's shape: `{"name", "message", "debug_id", "details": [{"field",
/// "value", "location", "issue", "description"}], "links"}`, with its HTTP status.
struct PayPalError: Error, Sendable {
    struct Detail: Sendable {
        var field: String?
        var value: String?
        var location: String?
        var issue: String
        var description: String
    }

    var status: Int
    var name: String
    var message: String
    var details: [Detail]

    /// 400: the request is malformed or violates the schema.
    static func invalidRequest(
        _ issue: String, _ description: String, field: String? = nil, value: String? = nil,
        location: String = "body"
    ) -> PayPalError {
        PayPalError(
            status: 400, name: "INVALID_REQUEST",
            message: "Request is not well-formed, syntactically incorrect, or violates schema.",
            details: [Detail(field: field, value: value, location: location, issue: issue, description: description)])
    }

    /// 422: the request is well-formed but breaks a business rule.
    static func unprocessable(
        _ issue: String, _ description: String, field: String? = nil, value: String? = nil
    ) -> PayPalError {
        PayPalError(
            status: 422, name: "UNPROCESSABLE_ENTITY",
            message: "The requested action could not be performed, semantically incorrect, or failed business validation.",
            details: [Detail(field: field, value: value, location: field == nil ? nil : "body", issue: issue, description: description)])
    }

    /// 404 for an id that names nothing.
    static func notFound(_ what: String, id: String, field: String) -> PayPalError {
        PayPalError(
            status: 404, name: "RESOURCE_NOT_FOUND", message: "The specified resource does not exist.",
            details: [
                Detail(
                    field: field, value: id, location: "path", issue: "INVALID_RESOURCE_ID",
                    description: "Specified resource ID does not exist. Please check the resource ID and try again. (\(what))")
            ])
    }

    /// 401 for a call without usable credentials.
    static let authenticationFailure = PayPalError(
        status: 401, name: "AUTHENTICATION_FAILURE",
        message: "Authentication failed due to missing authorization header, or invalid authentication credentials.",
        details: [
            Detail(
                field: "Authorization", value: nil, location: "header", issue: "INVALID_AUTHORIZATION_HEADER",
                description: "The Authorization header is missing or is not a Bearer access token.")
        ])

    /// 409 while the first request with the same `PayPal-Request-Id` is still running.
    static let requestInProgress = PayPalError(
        status: 409, name: "RESOURCE_CONFLICT", message: "The server has detected a conflict while processing this request.",
        details: [
            Detail(
                field: "PayPal-Request-Id", value: nil, location: "header", issue: "PREVIOUS_REQUEST_IN_PROGRESS",
                description: "A previous request on this resource is currently in progress. Please wait for sometime and try again.")
        ])

    /// A 5xx, used by fault injection and `PayPal-Mock-Response`.
    static func internalError(status: Int = 500) -> PayPalError {
        PayPalError(
            status: status, name: "INTERNAL_SERVER_ERROR", message: "An internal server error occurred.", details: [])
    }

    var json: JSON {
        let issue = details.first?.issue ?? name
        return .object([
            "name": .string(name),
            "message": .string(message),
            "details": details.isEmpty
                ? nil
                : .array(
                    details.map { detail in
                        .object([
                            "field": detail.field.map(JSON.string),
                            "value": detail.value.map(JSON.string),
                            "location": detail.location.map(JSON.string),
                            "issue": .string(detail.issue),
                            "description": .string(detail.description),
                        ])
                    }),
            "debug_id": .string(PayPalIDs.debugID()),
            "links": .array([
                .object([
                    "href": .string("https://developer.paypal.com/api/rest/reference/orders/v2/errors/#\(issue)"),
                    "rel": .string("information_link"),
                    "method": .string("GET"),
                ])
            ]),
        ])
    }

    var response: Response { PayPalHTTP.response(status: status, body: json.bytes) }
}

/// Ids in PayPal's formats.
enum PayPalIDs {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    /// 17 upper-case letters and digits, like PayPal's order, authorization, capture and
    /// refund ids.
    static func resource() -> String {
        var generator = SecureRandomNumberGenerator()
        return String(decoding: (0..<17).map { _ in alphabet.randomElement(using: &generator) ?? 65 }, as: UTF8.self)
    }

    static func debugID() -> String {
        var generator = SecureRandomNumberGenerator()
        return String((0..<13).map { _ in "0123456789abcdef".randomElement(using: &generator) ?? "0" })
    }

    static func token() -> String {
        var generator = SecureRandomNumberGenerator()
        let body = String(decoding: (0..<90).map { _ in alphabet.randomElement(using: &generator) ?? 65 }, as: UTF8.self)
        return "A21AA" + body
    }
}

/// Response building shared by every route.
enum PayPalHTTP {
    static func response(status: Int, body: [UInt8]?, extraHeaders: HTTPFields = [:]) -> Response {
        var headers = extraHeaders
        headers[.contentType] = "application/json"
        if let debug = HTTPField.Name("Paypal-Debug-Id") { headers[debug] = PayPalIDs.debugID() }
        guard let body else {
            return Response(status: HTTPResponse.Status(code: status), headers: headers)
        }
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Answers calls to paths the gateway does not have in PayPal's 404 shape, as PayPal does,
/// instead of an empty body.
struct PayPalNotFoundMiddleware: RouterMiddleware {
    typealias Context = SandboxContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && !request.uri.path.hasPrefix("/_sandbox") {
            return PayPalError(
                status: 404, name: "RESOURCE_NOT_FOUND", message: "The specified resource does not exist.",
                details: [
                    .init(
                        field: nil, value: request.uri.path, location: "path", issue: "INVALID_URI",
                        description: "No \(request.method.rawValue) operation at \(request.uri.path).")
                ]
            ).response
        }
    }
}
