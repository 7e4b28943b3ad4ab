extension HTTPClient {
    /// How a client connects, times out and verifies servers. Defaults suit calls to
    /// payment gateway APIs.
    public struct Configuration: Sendable, Hashable {
        /// How long to wait for a TCP connection and TLS handshake. Default 10 s.
        public var connectTimeout: Duration
        /// The longest a whole request may take, connecting included. Default 30 s.
        public var timeout: Duration
        /// The most connections open to one host at once; further requests wait for a
        /// free one. Default 32.
        public var maxConnectionsPerHost: Int
        /// The most connections open at once, and kept for reuse. Default 256.
        public var maxConnectionsTotal: Int
        /// The largest response body accepted; a larger one fails in ``HTTPClientError/Phase/receive``.
        /// Default 64 MiB.
        public var maxResponseBodySize: Int
        /// The `User-Agent` sent unless a request sets its own, e.g. `Till/0.1.0`; `nil`
        /// sends none. TillHTTP sits below TillCore, so the caller supplies the version.
        public var userAgent: String?
        /// Server certificate verification.
        public var tls: TLS

        public init(
            connectTimeout: Duration = .seconds(10),
            timeout: Duration = .seconds(30),
            maxConnectionsPerHost: Int = 32,
            maxConnectionsTotal: Int = 256,
            maxResponseBodySize: Int = 64 * 1024 * 1024,
            userAgent: String? = nil,
            tls: TLS = TLS()
        ) {
            self.connectTimeout = connectTimeout
            self.timeout = timeout
            self.maxConnectionsPerHost = maxConnectionsPerHost
            self.maxConnectionsTotal = maxConnectionsTotal
            self.maxResponseBodySize = maxResponseBodySize
            self.userAgent = userAgent
            self.tls = tls
        }

        /// TLS settings. Verification is on unless switched off explicitly, which only
        /// a local sandbox should ever need.
        public struct TLS: Sendable, Hashable {
            /// Verify the server's certificate chain against the trusted CAs. Default `true`.
            public var verifyPeer: Bool
            /// Verify that the certificate names the host in the URL. Default `true`.
            public var verifyHost: Bool
            /// A PEM file of CA certificates to trust instead of the system's.
            public var caBundlePath: String?

            public init(verifyPeer: Bool = true, verifyHost: Bool = true, caBundlePath: String? = nil) {
                self.verifyPeer = verifyPeer
                self.verifyHost = verifyHost
                self.caBundlePath = caBundlePath
            }
        }

        /// Refuses values curl would misread (zero means "no limit" to curl, which is
        /// never what a caller setting a timeout means).
        func validate() throws(HTTPClientError) {
            _ = try Self.milliseconds(connectTimeout, field: "connectTimeout")
            _ = try Self.milliseconds(timeout, field: "timeout")
            guard maxConnectionsPerHost > 0 else {
                throw .invalidConfiguration("maxConnectionsPerHost must be positive, got \(maxConnectionsPerHost)")
            }
            guard maxConnectionsTotal >= maxConnectionsPerHost else {
                throw .invalidConfiguration(
                    "maxConnectionsTotal (\(maxConnectionsTotal)) must be at least maxConnectionsPerHost (\(maxConnectionsPerHost))")
            }
            guard maxResponseBodySize >= 0 else {
                throw .invalidConfiguration("maxResponseBodySize must not be negative, got \(maxResponseBodySize)")
            }
            if let userAgent, userAgent.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
                throw .invalidConfiguration("userAgent contains a control character")
            }
            if let path = tls.caBundlePath, path.isEmpty || path.utf8.contains(0) {
                throw .invalidConfiguration("tls.caBundlePath must be a file path, got \"\(path)\"")
            }
        }

        /// Whole milliseconds, rounded up so that a sub-millisecond timeout is not zero.
        static func milliseconds(_ duration: Duration, field: String) throws(HTTPClientError) -> Int {
            let (seconds, attoseconds) = duration.components
            guard duration > .zero, seconds < Int64(Int.max / 1000) - 1 else {
                throw .invalidConfiguration("\(field) must be positive and finite, got \(duration)")
            }
            let fraction = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
            return Int(seconds) * 1000 + Int(fraction)
        }
    }
}
