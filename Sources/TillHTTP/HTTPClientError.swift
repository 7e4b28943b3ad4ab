/// Why an HTTP call failed, in which phase, and whether the server may have acted on it.
///
/// Callers that move money care most about ``delivery``: a request that was
/// ``Delivery/notDelivered`` can be retried anywhere, while one whose outcome is
/// ``Delivery/unknown`` may have been processed (the gateway may have charged the card) and
/// must be reconciled, never blindly retried elsewhere.
///
/// A struct rather than an enum, so new phases or details do not break callers.
public struct HTTPClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The step of the exchange that failed.
    public struct Phase: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidConfiguration, invalidRequest, resolve, connect, tls, send, receive
            case timeout, cancelled, shutdown, destinationRefused, other
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The client's configuration was refused before any request was made.
        public static let invalidConfiguration = Phase(.invalidConfiguration)
        /// The request was refused before anything was sent (bad URL, header, method).
        public static let invalidRequest = Phase(.invalidRequest)
        /// The host name could not be resolved.
        public static let resolve = Phase(.resolve)
        /// No TCP connection could be made (refused, unreachable).
        public static let connect = Phase(.connect)
        /// The TLS handshake or the server's certificate verification failed.
        public static let tls = Phase(.tls)
        /// Writing the request failed.
        public static let send = Phase(.send)
        /// Reading the response failed: connection closed or reset, malformed or cut short.
        public static let receive = Phase(.receive)
        /// The connect timeout or the total timeout expired.
        public static let timeout = Phase(.timeout)
        /// The calling task was cancelled and the transfer aborted.
        public static let cancelled = Phase(.cancelled)
        /// The client was shut down before the request completed.
        public static let shutdown = Phase(.shutdown)
        /// The request's ``ConnectionPin`` refused the address curl was about to connect to.
        public static let destinationRefused = Phase(.destinationRefused)
        /// A curl failure that belongs to no phase above (out of memory, internal error).
        public static let other = Phase(.other)

        public var description: String { base.rawValue }
    }

    /// Whether the server can have received the request.
    public enum Delivery: Sendable, Hashable, CustomStringConvertible {
        /// Not one byte of the request was written to the connection: safe to retry,
        /// on this or another gateway.
        case notDelivered
        /// Some or all of the request was written; the server may have processed it.
        case unknown

        public var description: String {
            switch self {
            case .notDelivered: "not delivered"
            case .unknown: "outcome unknown"
            }
        }
    }

    /// The failed phase.
    public let phase: Phase
    /// Whether the request may have reached the server.
    public let delivery: Delivery
    /// libcurl's `CURLcode`, when curl reported the failure.
    public let curlCode: Int?
    /// A human-readable explanation (curl's detailed message where there is one).
    public let message: String

    /// True unless the request certainly never reached the server.
    public var mayHaveBeenProcessed: Bool { delivery == .unknown }

    public init(phase: Phase, delivery: Delivery, curlCode: Int? = nil, message: String) {
        self.phase = phase
        self.delivery = delivery
        self.curlCode = curlCode
        self.message = message
    }

    public var description: String {
        let code = curlCode.map { " (curl code \($0))" } ?? ""
        return "HTTP \(phase) failure, \(delivery)\(code): \(message)"
    }

    static func invalidRequest(_ message: String) -> HTTPClientError {
        HTTPClientError(phase: .invalidRequest, delivery: .notDelivered, message: message)
    }

    static func invalidConfiguration(_ message: String) -> HTTPClientError {
        HTTPClientError(phase: .invalidConfiguration, delivery: .notDelivered, message: message)
    }
}

/// What the transport knows about how far a failed transfer got.
struct TransferFacts: Sendable, Hashable {
    /// Request bytes (headers and body) handed to the connection, over all of curl's
    /// attempts for this transfer: `CURLINFO_REQUEST_SIZE` + `CURLINFO_SIZE_UPLOAD_T`.
    var requestBytesSent: Int64
}

/// Turns a curl result into a phase and a delivery verdict.
///
/// The rule: a request is ``HTTPClientError/Delivery/notDelivered`` only when curl wrote
/// no request byte to the connection **and** the failure is one that happens before
/// writing (resolve, connect, TLS, a timeout or send failure before the first byte, a
/// refused request). Anything else — any byte written, a failure while receiving, or a
/// code not listed here — is ``HTTPClientError/Delivery/unknown``, because guessing
/// "not delivered" wrongly could charge a card twice while guessing "unknown" wrongly
/// only costs a reconciliation.
///
/// curl counts request bytes only once its `send` succeeded, so zero means the server
/// cannot have seen the request. curl silently re-sends a request once on a fresh
/// connection when a reused connection dies before any response byte; the count covers
/// every attempt, so such a transfer is never reported as not delivered.
enum CurlErrorClassifier {
    static func classify(curlCode: Int, facts: TransferFacts) -> (HTTPClientError.Phase, HTTPClientError.Delivery) {
        let nothingSent = facts.requestBytesSent == 0
        let beforeSending: HTTPClientError.Delivery = nothingSent ? .notDelivered : .unknown
        switch curlCode {
        case 1, 3, 4, 43, 48, 49:
            // UNSUPPORTED_PROTOCOL, URL_MALFORMAT, NOT_BUILT_IN, BAD_FUNCTION_ARGUMENT,
            // UNKNOWN_OPTION, SETOPT_OPTION_SYNTAX: refused while setting up.
            return (.invalidRequest, beforeSending)
        case 5, 6:
            // COULDNT_RESOLVE_PROXY, COULDNT_RESOLVE_HOST
            return (.resolve, beforeSending)
        case 7, 97:
            // COULDNT_CONNECT, PROXY (handshake with a proxy failed)
            return (.connect, beforeSending)
        case 35, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98:
            // SSL_CONNECT_ERROR, SSL_ENGINE_NOTFOUND,
            // SSL_ENGINE_SETFAILED, SSL_CERTPROBLEM, SSL_CIPHER, PEER_FAILED_VERIFICATION,
            // USE_SSL_FAILED, SSL_ENGINE_INITFAILED, SSL_CACERT_BADFILE, SSL_SHUTDOWN_FAILED,
            // SSL_CRL_BADFILE, SSL_ISSUER_ERROR, SSL_PINNEDPUBKEYNOTMATCH,
            // SSL_INVALIDCERTSTATUS, SSL_CLIENTCERT
            return (.tls, beforeSending)
        case 28:
            // OPERATION_TIMEDOUT: the connect and the total timeout share this code; the
            // byte count tells a connect timeout (nothing sent) from a lost response.
            return (.timeout, beforeSending)
        case 55:
            // SEND_ERROR
            return (.send, beforeSending)
        case 8, 16, 18, 23, 52, 56, 61, 63, 92, 95:
            // WEIRD_SERVER_REPLY, HTTP2, PARTIAL_FILE, WRITE_ERROR, GOT_NOTHING, RECV_ERROR,
            // BAD_CONTENT_ENCODING, FILESIZE_EXCEEDED, HTTP2_STREAM, HTTP3: the request
            // went out; only its answer is missing or broken.
            return (.receive, .unknown)
        case 42:
            // ABORTED_BY_CALLBACK: only our cancellation aborts from a callback.
            return (.cancelled, beforeSending)
        default:
            return (.other, .unknown)
        }
    }

    /// The delivery verdict for a transfer aborted by us (cancellation, shutdown).
    static func abortedDelivery(facts: TransferFacts) -> HTTPClientError.Delivery {
        facts.requestBytesSent == 0 ? .notDelivered : .unknown
    }
}
