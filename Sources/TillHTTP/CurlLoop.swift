internal import CTillCurl
internal import CTillCurlShims

/// The state of one transfer, reachable from curl's C callbacks through an `Unmanaged`
/// pointer. The loop's `active` table holds the strong reference for as long as curl
/// may call back, so the pointer never dangles.
final class TransferContext {
    let id: UInt64
    let continuation: Job.Continuation
    let maxBodySize: Int
    var headers = HTTPHeaders()
    var body: [UInt8] = []
    var bodyTooLarge = false
    var headerList: UnsafeMutablePointer<curl_slist>?
    /// The `CURLOPT_RESOLVE` entry of a pinned request.
    var resolveList: UnsafeMutablePointer<curl_slist>?
    /// A pinned request's addresses (4 or 16 bytes each); `nil` when not pinned.
    var allowedAddresses: [[UInt8]]?
    /// Set when the pin refused a socket, so the failure is reported as such.
    var refusedDestination = false
    let errorBuffer: UnsafeMutablePointer<CChar>

    init(id: UInt64, continuation: Job.Continuation, maxBodySize: Int) {
        self.id = id
        self.continuation = continuation
        self.maxBodySize = maxBodySize
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        curl_slist_free_all(headerList)
        curl_slist_free_all(resolveList)
        errorBuffer.deallocate()
    }

    /// One header line as curl delivers it. Each status line starts a new header block
    /// (a `100 Continue` precedes the real one), so only the final block is kept.
    func receiveHeaderLine(_ bytes: UnsafeBufferPointer<UInt8>) {
        // Trim line ends as bytes: in a String, "\r\n" is one Character, neither "\r" nor "\n".
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0D || bytes[end - 1] == 0x0A { end -= 1 }
        let line = Substring(String(decoding: UnsafeBufferPointer(rebasing: bytes[..<end]), as: UTF8.self))
        if line.hasPrefix("HTTP/") {
            headers = HTTPHeaders()
            return
        }
        guard !line.isEmpty else { return }
        if line.first == " " || line.first == "\t" {
            // Obsolete line folding: a continuation of the previous value.
            guard let previous = headers.last else { return }
            headers.replaceLast(value: previous.value + " " + line.trimmingSpaces())
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        headers.add(
            name: String(line[..<colon]),
            value: String(line[line.index(after: colon)...].trimmingSpaces())
        )
    }
}

/// Drives one curl multi handle on the thread that runs ``run()``; nothing here may be
/// touched from any other thread.
final class CurlLoop {
    private let multi: UnsafeMutableRawPointer
    let configuration: HTTPClient.Configuration
    private let shared: Locked<SharedState>
    private var active: [UnsafeMutableRawPointer: TransferContext] = [:]
    private var handleByID: [UInt64: UnsafeMutableRawPointer] = [:]
    /// Easy handles kept for reuse: cheap to keep, and they carry curl's DNS and TLS
    /// session caches between requests.
    private var idleHandles: [UnsafeMutableRawPointer] = []
    private static let maxIdleHandles = 64

    /// The curl thread's body: creates the multi handle, serves requests until shutdown.
    static func run(configuration: HTTPClient.Configuration, shared: Locked<SharedState>) {
        guard let multi = curl_multi_init() else {
            let (commands, waiters) = shared.withLock { state in
                state.accepting = false
                state.loopFinished = true
                defer {
                    state.commands.removeAll()
                    state.shutdownWaiters.removeAll()
                }
                return (state.commands, state.shutdownWaiters)
            }
            for case .start(let job, let continuation) in commands {
                shared.withLock { state in state.transfers[job.id] = nil }
                continuation.resume(returning: .failure(HTTPClientError(
                    phase: .other, delivery: .notDelivered, message: "curl_multi_init failed")))
            }
            for waiter in waiters { waiter.resume() }
            return
        }
        shared.withLock { state in state.wakeHandle = multi }
        CurlLoop(multi: multi, configuration: configuration, shared: shared).run()
    }

    private init(multi: UnsafeMutableRawPointer, configuration: HTTPClient.Configuration, shared: Locked<SharedState>) {
        self.multi = multi
        self.configuration = configuration
        self.shared = shared
        till_curl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maxConnectionsPerHost)
        till_curl_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, configuration.maxConnectionsTotal)
        till_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, configuration.maxConnectionsTotal)
    }

    private func run() {
        var running: Int32 = 0
        while true {
            let (commands, accepting) = shared.withLock { state in
                defer { state.commands.removeAll(keepingCapacity: true) }
                return (state.commands, state.accepting)
            }
            guard accepting else { break }
            for command in commands {
                switch command {
                case .start(let job, let continuation):
                    start(job, continuation)
                case .cancel(let id):
                    cancel(id)
                }
            }
            curl_multi_perform(multi, &running)
            collectFinished()
            // Returns early on socket activity, curl's own timers, or curl_multi_wakeup.
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        stop()
    }

    private func start(_ job: Job, _ continuation: Job.Continuation) {
        guard let easy = idleHandles.popLast() ?? curl_easy_init() else {
            finish(id: job.id, continuation, .failure(HTTPClientError(
                phase: .other, delivery: .notDelivered, message: "curl_easy_init failed")))
            return
        }
        let context = TransferContext(id: job.id, continuation: continuation, maxBodySize: configuration.maxResponseBodySize)
        let setup = configure(easy, for: job, context: context)
        guard setup == CURLE_OK else {
            recycle(easy)
            let (phase, delivery) = CurlErrorClassifier.classify(curlCode: Int(setup.rawValue), facts: TransferFacts(requestBytesSent: 0))
            finish(id: job.id, continuation, .failure(HTTPClientError(
                phase: phase, delivery: delivery, curlCode: Int(setup.rawValue),
                message: "curl refused the request: " + String(cString: curl_easy_strerror(setup)))))
            return
        }
        active[easy] = context
        handleByID[job.id] = easy
        let added = curl_multi_add_handle(multi, easy)
        if added != CURLM_OK {
            active[easy] = nil
            handleByID[job.id] = nil
            recycle(easy)
            finish(id: job.id, continuation, .failure(HTTPClientError(
                phase: .other, delivery: .notDelivered,
                message: "curl_multi_add_handle failed: " + String(cString: curl_multi_strerror(added)))))
        }
    }

    /// Removing the handle aborts the transfer at once and closes its connection (curl
    /// never returns a connection with a half-finished exchange to its cache).
    private func cancel(_ id: UInt64) {
        guard let easy = handleByID[id], let context = active[easy] else { return }
        curl_multi_remove_handle(multi, easy)
        let facts = Self.facts(of: easy)
        complete(easy, context, .failure(HTTPClientError(
            phase: .cancelled, delivery: CurlErrorClassifier.abortedDelivery(facts: facts),
            message: "the task was cancelled; \(facts.requestBytesSent) request bytes had been sent")))
    }

    private func collectFinished() {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE,
                  let easy = message.pointee.easy_handle,
                  let context = active[easy]
            else { continue }
            let code = till_curl_msg_result(message)
            curl_multi_remove_handle(multi, easy)
            complete(easy, context, result(of: easy, code: code, context: context))
        }
    }

    private func result(of easy: UnsafeMutableRawPointer, code: CURLcode, context: TransferContext) -> Result<HTTPResponse, HTTPClientError> {
        guard code == CURLE_OK else {
            let facts = Self.facts(of: easy)
            var (phase, delivery) = CurlErrorClassifier.classify(curlCode: Int(code.rawValue), facts: facts)
            if context.refusedDestination {
                // No socket to a refused address was ever opened, so nothing was sent there.
                phase = .destinationRefused
            }
            var message = String(cString: context.errorBuffer)
            if message.isEmpty { message = String(cString: curl_easy_strerror(code)) }
            if context.bodyTooLarge {
                message = "the response body exceeds maxResponseBodySize (\(context.maxBodySize) bytes)"
            }
            return .failure(HTTPClientError(
                phase: phase, delivery: delivery, curlCode: Int(code.rawValue),
                message: "\(message) (\(facts.requestBytesSent) request bytes sent)"))
        }
        var status = 0
        var connects = 0
        till_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        till_curl_easy_getinfo_long(easy, CURLINFO_NUM_CONNECTS, &connects)
        return .success(HTTPResponse(
            status: status, headers: context.headers, body: context.body, connectionReused: connects == 0))
    }

    private static func facts(of easy: UnsafeMutableRawPointer) -> TransferFacts {
        var requestSize = 0
        var uploaded: curl_off_t = 0
        till_curl_easy_getinfo_long(easy, CURLINFO_REQUEST_SIZE, &requestSize)
        till_curl_easy_getinfo_off_t(easy, CURLINFO_SIZE_UPLOAD_T, &uploaded)
        return TransferFacts(requestBytesSent: Int64(requestSize) + Int64(uploaded))
    }

    /// Detaches a finished transfer: the handle is reset (dropping its pointers into the
    /// context) before the context, and with it the header list, is released.
    private func complete(_ easy: UnsafeMutableRawPointer, _ context: TransferContext, _ result: Result<HTTPResponse, HTTPClientError>) {
        active[easy] = nil
        handleByID[context.id] = nil
        recycle(easy)
        finish(id: context.id, context.continuation, result)
    }

    private func recycle(_ easy: UnsafeMutableRawPointer) {
        curl_easy_reset(easy)
        if idleHandles.count < Self.maxIdleHandles {
            idleHandles.append(easy)
        } else {
            curl_easy_cleanup(easy)
        }
    }

    private func finish(id: UInt64, _ continuation: Job.Continuation, _ result: Result<HTTPResponse, HTTPClientError>) {
        shared.withLock { state in state.transfers[id] = nil }
        continuation.resume(returning: result)
    }

    /// Fails everything still queued or running, then releases every curl handle. The
    /// wake handle is withdrawn under the lock first, so no caller can touch the multi
    /// handle after it is freed.
    private func stop() {
        let leftovers = shared.withLock { state in
            state.accepting = false
            state.wakeHandle = nil
            defer { state.commands.removeAll() }
            return state.commands
        }
        for command in leftovers {
            if case .start(let job, let continuation) = command {
                finish(id: job.id, continuation, .failure(HTTPClientError(
                    phase: .shutdown, delivery: .notDelivered, message: "the client shut down before the request started")))
            }
        }
        for (easy, context) in active {
            curl_multi_remove_handle(multi, easy)
            let facts = Self.facts(of: easy)
            complete(easy, context, .failure(HTTPClientError(
                phase: .shutdown, delivery: CurlErrorClassifier.abortedDelivery(facts: facts),
                message: "the client shut down during the request; \(facts.requestBytesSent) request bytes had been sent")))
        }
        for easy in idleHandles { curl_easy_cleanup(easy) }
        idleHandles.removeAll()
        curl_multi_cleanup(multi)
        let waiters = shared.withLock { state in
            state.loopFinished = true
            defer { state.shutdownWaiters.removeAll() }
            return state.shutdownWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
