internal import CTillCurl
internal import CTillCurlShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An HTTP/1.1 client over libcurl's multi interface.
///
/// One dedicated thread drives one curl multi handle and owns every curl handle; callers
/// hand it work through a locked queue and wake it with `curl_multi_wakeup`, and it
/// answers with plain values. Connections are kept and reused across requests (up to
/// ``Configuration/maxConnectionsTotal``). Cancelling the calling task removes the
/// transfer from curl, which closes its connection, so no cancelled transfer keeps
/// running.
///
/// Every failure is an ``HTTPClientError`` that says which phase failed and whether the
/// request may have reached the server; see ``HTTPClientError/Delivery``.
///
/// HTTP/1.1 is used even where HTTP/2 could be negotiated: the "was anything sent" rule
/// relies on one request per connection at a time.
///
/// Creating the first client ignores `SIGPIPE` for the whole process: a peer that closes
/// a connection while curl or OpenSSL writes to it would otherwise kill the process,
/// and curl's `CURLOPT_NOSIGNAL` (which the client sets, so that timeouts never use
/// signals across threads) stops curl from handling that signal itself.
///
/// Call ``shutdown()`` when done; dropping the last reference also stops the thread,
/// failing any request still in flight with ``HTTPClientError/Phase/shutdown``.
public final class HTTPClient: Sendable {
    /// The configuration this client was created with.
    public let configuration: Configuration
    private let shared: Locked<SharedState>

    /// Creates a client and starts its curl thread.
    ///
    /// - Throws: ``HTTPClientError/Phase/invalidConfiguration`` naming the field at fault,
    ///   or when curl or the thread cannot be set up.
    public init(configuration: Configuration = Configuration()) throws(HTTPClientError) {
        try configuration.validate()
        guard curlGlobalInit == 0 else {
            throw .invalidConfiguration("curl_global_init failed with curl code \(curlGlobalInit)")
        }
        self.configuration = configuration
        let shared = Locked(SharedState())
        self.shared = shared
        // The multi handle is created on the curl thread, so that no curl handle is ever
        // used by two threads; requests submitted before it exists simply wait in the queue.
        let started = startDetachedThread {
            CurlLoop.run(configuration: configuration, shared: shared)
        }
        guard started else {
            throw .invalidConfiguration("could not start the curl thread")
        }
    }

    deinit {
        shared.withLock { state in
            state.accepting = false
            state.wake()
        }
    }

    /// Sends a request and returns the complete response, whatever its status code.
    ///
    /// - Parameters:
    ///   - request: What to send.
    ///   - timeout: Overrides ``Configuration/timeout`` for this request.
    ///   - connectTimeout: Overrides ``Configuration/connectTimeout`` for this request.
    /// - Throws: ``HTTPClientError``; its ``HTTPClientError/delivery`` says whether the
    ///   server may have processed the request.
    public func execute(
        _ request: HTTPRequest,
        timeout: Duration? = nil,
        connectTimeout: Duration? = nil
    ) async throws(HTTPClientError) -> HTTPResponse {
        try request.validate()
        let timeouts: (total: Int, connect: Int)
        do {
            timeouts = (
                try Configuration.milliseconds(timeout ?? configuration.timeout, field: "timeout"),
                try Configuration.milliseconds(connectTimeout ?? configuration.connectTimeout, field: "connectTimeout")
            )
        } catch {
            throw .invalidRequest(error.message)
        }
        if Task.isCancelled {
            throw HTTPClientError(phase: .cancelled, delivery: .notDelivered, message: "the task was cancelled before the request started")
        }

        let shared = self.shared
        let id = shared.withLock { state in
            state.nextID &+= 1
            state.transfers[state.nextID] = .registered
            return state.nextID
        }
        let job = Job(
            id: id,
            request: request,
            timeoutMilliseconds: timeouts.total,
            connectTimeoutMilliseconds: timeouts.connect
        )
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: Job.Continuation) in
                let refusal: HTTPClientError? = shared.withLock { state in
                    guard state.accepting else {
                        state.transfers[id] = nil
                        return HTTPClientError(phase: .shutdown, delivery: .notDelivered, message: "the client is shut down")
                    }
                    guard state.transfers[id] == .registered else {
                        state.transfers[id] = nil
                        return HTTPClientError(phase: .cancelled, delivery: .notDelivered, message: "the task was cancelled before the request started")
                    }
                    state.transfers[id] = .submitted
                    state.commands.append(.start(job, continuation))
                    state.wake()
                    return nil
                }
                if let refusal {
                    continuation.resume(returning: .failure(refusal))
                }
            }
        } onCancel: {
            shared.withLock { state in
                switch state.transfers[id] {
                case .registered:
                    state.transfers[id] = .cancelledEarly
                case .submitted:
                    state.commands.append(.cancel(id))
                    state.wake()
                case .cancelledEarly, nil:
                    break
                }
            }
        }
        return try result.get()
    }

    /// Stops accepting requests, fails those in flight with
    /// ``HTTPClientError/Phase/shutdown``, closes all connections and waits until the
    /// curl thread has released everything. Calling it again returns at once.
    public func shutdown() async {
        let shared = self.shared
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = shared.withLock { state in
                if state.loopFinished { return true }
                state.accepting = false
                state.shutdownWaiters.append(continuation)
                state.wake()
                return false
            }
            if finished { continuation.resume() }
        }
    }
}

/// One request as handed to the curl thread: plain values only.
struct Job: Sendable {
    typealias Continuation = CheckedContinuation<Result<HTTPResponse, HTTPClientError>, Never>
    let id: UInt64
    let request: HTTPRequest
    let timeoutMilliseconds: Int
    let connectTimeoutMilliseconds: Int
}

/// What callers and the curl thread share, under one lock.
struct SharedState {
    enum Command {
        case start(Job, Job.Continuation)
        case cancel(UInt64)
    }

    /// Where each live request stands, so a cancellation that races its submission
    /// is never lost.
    enum TransferState {
        case registered, cancelledEarly, submitted
    }

    var commands: [Command] = []
    var transfers: [UInt64: TransferState] = [:]
    var nextID: UInt64 = 0
    var accepting = true
    var loopFinished = false
    var shutdownWaiters: [CheckedContinuation<Void, Never>] = []
    /// The multi handle, only for `curl_multi_wakeup` (which is safe from any thread);
    /// `nil` once the curl thread has cleaned it up.
    var wakeHandle: UnsafeMutableRawPointer? = nil

    func wake() {
        if let wakeHandle {
            curl_multi_wakeup(wakeHandle)
        }
    }
}

/// `curl_global_init` is not thread-safe and must run once per process: a global's lazy
/// initializer runs exactly once, under the runtime's own lock.
private let curlGlobalInit: Int = {
    signal(SIGPIPE, SIG_IGN)
    return Int(till_curl_global_init_default().rawValue)
}()
