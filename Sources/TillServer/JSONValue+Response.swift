import HTTPTypes
import Hummingbird
import TillCore
import TillPayments

extension JSONValue {
    /// The value as a JSON response with `status`.
    public func response(status: HTTPResponse.Status) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
