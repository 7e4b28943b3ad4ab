import Hummingbird
import Logging
import TillPayments
import NIOCore
import TillStore

/// Who is calling: the merchant and the kind of key they used.
public struct Caller: Sendable, Hashable {
    public var merchantID: String
    public var keyKind: APIKeyRecord.Kind
}

/// The request context of the daemon's routes.
public struct TillRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's address: failed authentications are counted, and audited, by it.
    public let remoteAddress: SocketAddress?
    /// Set by the authentication middleware for `/v1` routes.
    public var caller: Caller?
    /// The request's id, echoed as `Request-Id` and in every log line.
    public var requestID: String

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.caller = nil
        self.requestID = Identifiers.make("req")
        self.logger[metadataKey: "request_id"] = .string(requestID)
    }

    /// Bodies larger than this are refused (413) before they are read.
    public var maxUploadSize: Int { 256 * 1024 }

    /// The peer's IP address as text (no port), or `unknown`.
    public var peer: String { remoteAddress?.ipAddress ?? "unknown" }

    /// The authenticated caller; routes under `/v1` always have one.
    public func requireCaller() throws(APIError) -> Caller {
        guard let caller else { throw APIError.unauthorized }
        return caller
    }

    /// The caller, who must have used a secret key.
    public func requireSecretKey() throws(APIError) -> Caller {
        let caller = try requireCaller()
        guard caller.keyKind == .secret else {
            throw APIError(
                .forbidden, .authentication, code: "secret_key_required",
                "publishable keys may only create tokens; use a secret key (sk_…) from your server")
        }
        return caller
    }
}
