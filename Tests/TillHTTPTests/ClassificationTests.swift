import Testing
@testable import TillHTTP

@Suite("Curl error classification")
struct ClassificationTests {
    typealias Phase = HTTPClientError.Phase

    /// Codes that fail before the request can be written: not delivered when nothing
    /// was sent, unknown as soon as any byte was.
    static let beforeSending: [(code: Int, phase: Phase)] = [
        (1, .invalidRequest),  // UNSUPPORTED_PROTOCOL
        (3, .invalidRequest),  // URL_MALFORMAT
        (4, .invalidRequest),  // NOT_BUILT_IN
        (43, .invalidRequest),  // BAD_FUNCTION_ARGUMENT
        (48, .invalidRequest),  // UNKNOWN_OPTION
        (49, .invalidRequest),  // SETOPT_OPTION_SYNTAX
        (5, .resolve),  // COULDNT_RESOLVE_PROXY
        (6, .resolve),  // COULDNT_RESOLVE_HOST
        (7, .connect),  // COULDNT_CONNECT
        (97, .connect),  // PROXY
        (35, .tls),  // SSL_CONNECT_ERROR
        (53, .tls),  // SSL_ENGINE_NOTFOUND
        (54, .tls),  // SSL_ENGINE_SETFAILED
        (58, .tls),  // SSL_CERTPROBLEM
        (59, .tls),  // SSL_CIPHER
        (60, .tls),  // PEER_FAILED_VERIFICATION
        (64, .tls),  // USE_SSL_FAILED
        (66, .tls),  // SSL_ENGINE_INITFAILED
        (77, .tls),  // SSL_CACERT_BADFILE
        (80, .tls),  // SSL_SHUTDOWN_FAILED
        (82, .tls),  // SSL_CRL_BADFILE
        (83, .tls),  // SSL_ISSUER_ERROR
        (90, .tls),  // SSL_PINNEDPUBKEYNOTMATCH
        (91, .tls),  // SSL_INVALIDCERTSTATUS
        (98, .tls),  // SSL_CLIENTCERT
        (28, .timeout),  // OPERATION_TIMEDOUT
        (55, .send),  // SEND_ERROR
        (42, .cancelled),  // ABORTED_BY_CALLBACK
    ]

    /// Codes that mean the request went out and its answer is missing or broken.
    static let whileReceiving: [Int] = [
        8,  // WEIRD_SERVER_REPLY
        16,  // HTTP2
        18,  // PARTIAL_FILE
        23,  // WRITE_ERROR
        52,  // GOT_NOTHING
        56,  // RECV_ERROR
        61,  // BAD_CONTENT_ENCODING
        63,  // FILESIZE_EXCEEDED
        92,  // HTTP2_STREAM
        95,  // HTTP3
    ]

    @Test("failures before sending are not delivered when nothing was sent")
    func beforeSendingNothingSent() {
        for (code, phase) in Self.beforeSending {
            let (gotPhase, delivery) = CurlErrorClassifier.classify(curlCode: code, facts: TransferFacts(requestBytesSent: 0))
            #expect(gotPhase == phase, "curl code \(code)")
            #expect(delivery == .notDelivered, "curl code \(code)")
        }
    }

    @Test("any byte sent makes the outcome unknown, whatever the code")
    func anyByteSentIsUnknown() {
        for (code, phase) in Self.beforeSending {
            let (gotPhase, delivery) = CurlErrorClassifier.classify(curlCode: code, facts: TransferFacts(requestBytesSent: 1))
            #expect(gotPhase == phase, "curl code \(code)")
            #expect(delivery == .unknown, "curl code \(code)")
        }
    }

    @Test("receive failures are unknown even if no byte was counted")
    func receiveFailures() {
        for code in Self.whileReceiving {
            for sent: Int64 in [0, 512] {
                let (phase, delivery) = CurlErrorClassifier.classify(curlCode: code, facts: TransferFacts(requestBytesSent: sent))
                #expect(phase == .receive, "curl code \(code)")
                #expect(delivery == .unknown, "curl code \(code)")
            }
        }
    }

    @Test("codes not mapped are phase other, outcome unknown")
    func unmappedCodes() {
        for code in [2, 27, 99, 1000] {
            let (phase, delivery) = CurlErrorClassifier.classify(curlCode: code, facts: TransferFacts(requestBytesSent: 0))
            #expect(phase == .other)
            #expect(delivery == .unknown)
        }
    }

    @Test("aborted transfers follow the byte count")
    func aborted() {
        #expect(CurlErrorClassifier.abortedDelivery(facts: TransferFacts(requestBytesSent: 0)) == .notDelivered)
        #expect(CurlErrorClassifier.abortedDelivery(facts: TransferFacts(requestBytesSent: 10)) == .unknown)
    }

    @Test("the error describes phase, delivery and code")
    func description() {
        let error = HTTPClientError(phase: .connect, delivery: .notDelivered, curlCode: 7, message: "Connection refused")
        #expect(error.description == "HTTP connect failure, not delivered (curl code 7): Connection refused")
        #expect(!error.mayHaveBeenProcessed)
    }
}

@Suite("HTTPClient configuration and headers")
struct ConfigurationAndHeaderTests {
    @Test("TLS verification is on by default")
    func tlsDefaults() {
        let configuration = HTTPClient.Configuration()
        #expect(configuration.tls.verifyPeer)
        #expect(configuration.tls.verifyHost)
        #expect(configuration.tls.caBundlePath == nil)
    }

    @Test("invalid configurations name their field")
    func invalidConfigurations() {
        let cases: [(HTTPClient.Configuration, String)] = [
            (.init(connectTimeout: .zero), "connectTimeout"),
            (.init(timeout: .milliseconds(-1)), "timeout"),
            (.init(maxConnectionsPerHost: 0), "maxConnectionsPerHost"),
            (.init(maxConnectionsPerHost: 10, maxConnectionsTotal: 5), "maxConnectionsTotal"),
            (.init(maxResponseBodySize: -1), "maxResponseBodySize"),
            (.init(userAgent: "Till\r\nX: y"), "userAgent"),
            (.init(tls: .init(caBundlePath: "")), "tls.caBundlePath"),
        ]
        for (configuration, field) in cases {
            #expect {
                _ = try HTTPClient(configuration: configuration)
            } throws: { error in
                guard let error = error as? HTTPClientError else { return false }
                return error.phase == .invalidConfiguration && error.message.contains(field)
            }
        }
    }

    @Test("sub-millisecond timeouts round up, never to zero")
    func milliseconds() throws {
        #expect(try HTTPClient.Configuration.milliseconds(.microseconds(1), field: "t") == 1)
        #expect(try HTTPClient.Configuration.milliseconds(.milliseconds(1500), field: "t") == 1500)
        #expect(try HTTPClient.Configuration.milliseconds(.seconds(2), field: "t") == 2000)
    }

    @Test("headers keep order and repeats, and look up names without regard to case")
    func headers() {
        var headers: HTTPHeaders = ["Set-Cookie": "a=1", "Content-Type": "text/plain", "set-cookie": "b=2"]
        #expect(headers["SET-COOKIE"] == ["a=1", "b=2"])
        #expect(headers.first(name: "content-type") == "text/plain")
        #expect(headers.map(\.name) == ["Set-Cookie", "Content-Type", "set-cookie"])
        headers.replaceOrAdd(name: "SET-cookie", value: "c=3")
        #expect(headers["set-cookie"] == ["c=3"])
        #expect(headers.count == 2)
        headers.remove(name: "CONTENT-TYPE")
        #expect(!headers.contains(name: "content-type"))
        #expect(HTTPHeaders.namesMatch("Ä", "ä") == false)
    }
}
