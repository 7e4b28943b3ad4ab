/// A complete HTTP response, body held in memory.
public struct HTTPResponse: Sendable, Hashable {
    /// The status code of the final response (interim `1xx` responses are skipped).
    public var status: Int
    /// Response headers of the final response, in received order.
    public var headers: HTTPHeaders
    /// The response body, after transfer decoding (chunked), without content decoding.
    public var body: [UInt8]
    /// Whether the request went over a connection kept from an earlier request, rather
    /// than a new one (from curl's `CURLINFO_NUM_CONNECTS`).
    public var connectionReused: Bool

    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = [], connectionReused: Bool = false) {
        self.status = status
        self.headers = headers
        self.body = body
        self.connectionReused = connectionReused
    }
}
