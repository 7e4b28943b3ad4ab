import HTTPTypes
import Hummingbird
import Logging
import TillBilling
import TillPayments

/// Answers every failure in the API's one error shape, and stamps `Request-Id` on every
/// response. Unexpected errors become a 500 whose message reveals nothing; the log line
/// carries the request id to find it.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = TillRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            response = error.response()
        } catch let error as PaymentError {
            response = APIError(error).response()
        } catch let error as BillingError {
            response = APIError(error).response()
        } catch let error as HTTPError {
            response = Self.translate(error).response()
        } catch let error as any HTTPResponseError {
            response = APIError(error.status, .invalidRequest, code: "http_\(error.status.code)", error.status.reasonPhrase).response()
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            response = APIError(
                .internalServerError, .api, code: "internal_error",
                "something went wrong on our side; the request id \(context.requestID) helps us find it"
            ).response()
        }
        response.headers[HTTPField.Name("Request-Id")!] = context.requestID
        return response
    }

    private static func translate(_ error: HTTPError) -> APIError {
        switch error.status {
        case .notFound:
            APIError(.notFound, .notFound, code: "route_not_found", "no such route")
        case .contentTooLarge:
            APIError(.contentTooLarge, .invalidRequest, code: "body_too_large", "the request body is larger than 256 KiB")
        case .methodNotAllowed:
            APIError(.methodNotAllowed, .invalidRequest, code: "method_not_allowed", "this route does not take that method")
        default:
            APIError(error.status, .invalidRequest, code: "http_\(error.status.code)", error.body ?? error.status.reasonPhrase)
        }
    }
}
