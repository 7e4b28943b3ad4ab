public import struct Foundation.Data
internal import CTillCurl
internal import CTillCurlShims

/// Delivers over SMTP with libcurl: one connection per message, `MAIL FROM`, one `RCPT TO`
/// per envelope recipient, then the message as DATA.
///
/// If any recipient is refused curl stops before DATA, so nothing is delivered and a retry
/// cannot duplicate the message for the others. A connection lost after DATA was sent but
/// before the server's reply is reported as transient: the message may have arrived, and
/// email's delivery is at least once.
///
/// Each send runs `curl_easy_perform` on its own thread, never on the cooperative pool; task
/// cancellation aborts the transfer through curl's progress callback.
public struct SMTPTransport: MailTransport {
    public let configuration: SMTPConfiguration

    public init(configuration: SMTPConfiguration) throws(MailError) {
        guard curlGlobalInit == 0 else {
            throw MailError(kind: .transient, code: .other, message: "curl_global_init failed with curl code \(curlGlobalInit)")
        }
        self.configuration = configuration
    }

    public func send(_ envelope: MailEnvelope, message: Data) async throws {
        guard message.count <= configuration.maxMessageSize else {
            throw MailError.tooLarge(message.count, limit: configuration.maxMessageSize)
        }
        guard !message.isEmpty else { throw MailError.invalidMessage("the message is empty") }
        if Task.isCancelled { throw MailError(kind: .transient, code: .cancelled, message: "cancelled before connecting") }
        let job = SMTPJob(configuration: configuration, envelope: envelope, message: [UInt8](message))
        let cancelled = Locked(false)
        let result: Result<Void, MailError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let started = startDetachedThread {
                    continuation.resume(returning: job.perform(cancelled: cancelled))
                }
                if !started {
                    continuation.resume(returning: .failure(MailError(
                        kind: .transient, code: .other, message: "could not start a thread for the SMTP transfer")))
                }
            }
        } onCancel: {
            cancelled.withLock { $0 = true }
        }
        try result.get()
    }
}

/// `curl_global_init` is not thread-safe and must run once per process: a global's lazy
/// initializer runs exactly once. TillHTTP does the same; libcurl counts the calls.
private let curlGlobalInit: Int = Int(till_curl_global_init_default().rawValue)

/// Plain values only, so it can cross to the transfer's thread.
struct SMTPJob: Sendable {
    let configuration: SMTPConfiguration
    let envelope: MailEnvelope
    let message: [UInt8]

    /// Runs on a thread of its own; the easy handle never leaves it.
    func perform(cancelled: Locked<Bool>) -> Result<Void, MailError> {
        guard let easy = curl_easy_init() else {
            return .failure(MailError(kind: .transient, code: .other, message: "curl_easy_init failed"))
        }
        defer { curl_easy_cleanup(easy) }
        let context = UploadContext(message: message, cancelled: cancelled)
        var recipients: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(recipients) }
        for recipient in envelope.recipients {
            guard let appended = curl_slist_append(recipients, recipient.smtpPath) else {
                return .failure(MailError(kind: .transient, code: .other, message: "curl_slist_append failed"))
            }
            recipients = appended
        }

        let configuration = self.configuration
        let contextPointer = Unmanaged.passUnretained(context).toOpaque()
        var steps: [(String, () -> CURLcode)] = [
            ("URL", { till_curl_easy_setopt_string(easy, CURLOPT_URL, configuration.curlURL) }),
            // Only SMTP, so no URL can make curl speak anything else.
            ("PROTOCOLS_STR", { till_curl_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps") }),
            // Signals are process-wide and this is one thread among many.
            ("NOSIGNAL", { till_curl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1) }),
            ("USE_SSL", { till_curl_easy_setopt_long(easy, CURLOPT_USE_SSL, configuration.curlUseSSL) }),
            ("CONNECTTIMEOUT_MS", { till_curl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, configuration.connectTimeout.milliseconds) }),
            ("TIMEOUT_MS", { till_curl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, configuration.totalTimeout.milliseconds) }),
            ("ERRORBUFFER", { till_curl_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, context.errorBuffer) }),
            ("MAIL_FROM", { till_curl_easy_setopt_string(easy, CURLOPT_MAIL_FROM, envelope.from.smtpPath) }),
            ("MAIL_RCPT", { till_curl_easy_setopt_slist(easy, CURLOPT_MAIL_RCPT, recipients) }),
            ("UPLOAD", { till_curl_easy_setopt_long(easy, CURLOPT_UPLOAD, 1) }),
            ("INFILESIZE_LARGE", { till_curl_easy_setopt_off_t(easy, CURLOPT_INFILESIZE_LARGE, curl_off_t(message.count)) }),
            ("READFUNCTION", { till_curl_easy_setopt_read_function(easy, readCallback) }),
            ("READDATA", { till_curl_easy_setopt_pointer(easy, CURLOPT_READDATA, contextPointer) }),
            ("NOPROGRESS", { till_curl_easy_setopt_long(easy, CURLOPT_NOPROGRESS, 0) }),
            ("XFERINFOFUNCTION", { till_curl_easy_setopt_xferinfo_function(easy, CURLOPT_XFERINFOFUNCTION, progressCallback) }),
            ("XFERINFODATA", { till_curl_easy_setopt_pointer(easy, CURLOPT_XFERINFODATA, contextPointer) }),
        ]
        if let username = configuration.username {
            steps.append(("USERNAME", { till_curl_easy_setopt_string(easy, CURLOPT_USERNAME, username) }))
        }
        if let password = configuration.password {
            steps.append(("PASSWORD", { till_curl_easy_setopt_string(easy, CURLOPT_PASSWORD, password) }))
        }
        if let caFile = configuration.caFile {
            steps.append(("CAINFO", { till_curl_easy_setopt_string(easy, CURLOPT_CAINFO, caFile) }))
        }
        for (name, step) in steps {
            let code = step()
            guard code == CURLE_OK else {
                return .failure(MailError(
                    kind: .transient, code: .invalidConfiguration,
                    message: "curl refused CURLOPT_\(name): " + String(cString: curl_easy_strerror(code)),
                    curlCode: Int(code.rawValue)))
            }
        }

        let code = withExtendedLifetime(context) { curl_easy_perform(easy) }
        guard code != CURLE_OK else { return .success(()) }
        var reply = 0
        till_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &reply)
        var detail = String(cString: context.errorBuffer)
        if detail.isEmpty { detail = String(cString: curl_easy_strerror(code)) }
        return .failure(SMTPErrorClassifier.classify(
            curlCode: Int(code.rawValue), reply: reply, detail: detail,
            cancelled: cancelled.withLock { $0 }, server: "\(configuration.host):\(configuration.port)"))
    }
}

/// Maps a failed transfer to retry-or-not. The server's reply decides when there is one
/// (4xx transient, 5xx permanent); otherwise the failure is the connection's, never the
/// message's, and so transient.
enum SMTPErrorClassifier {
    static func classify(curlCode: Int, reply: Int, detail: String, cancelled: Bool, server: String) -> MailError {
        let replyCode = reply >= 200 ? reply : nil
        func error(_ kind: MailError.Kind, _ code: MailError.Code, _ text: String) -> MailError {
            MailError(kind: kind, code: code, message: "\(text) (\(server)): \(detail)", smtpReplyCode: replyCode, curlCode: curlCode)
        }
        if cancelled, curlCode == Int(CURLE_ABORTED_BY_CALLBACK.rawValue) {
            return error(.transient, .cancelled, "the send was cancelled; the message may or may not have been delivered")
        }
        switch curlCode {
        case Int(CURLE_LOGIN_DENIED.rawValue):
            // The credentials are wrong, not the message: once they are fixed it goes through.
            return error(.transient, .authenticationFailed, "the server refused the login")
        case Int(CURLE_COULDNT_RESOLVE_HOST.rawValue), Int(CURLE_COULDNT_RESOLVE_PROXY.rawValue),
             Int(CURLE_COULDNT_CONNECT.rawValue):
            return error(.transient, .connectionFailed, "could not connect to the SMTP server")
        case Int(CURLE_OPERATION_TIMEDOUT.rawValue):
            return error(.transient, .timedOut, "the SMTP exchange timed out")
        case Int(CURLE_SSL_CONNECT_ERROR.rawValue), Int(CURLE_PEER_FAILED_VERIFICATION.rawValue),
             Int(CURLE_USE_SSL_FAILED.rawValue), Int(CURLE_SSL_CACERT_BADFILE.rawValue),
             Int(CURLE_SSL_CERTPROBLEM.rawValue):
            return error(.transient, .tlsFailed, "TLS with the SMTP server failed")
        default:
            break
        }
        if let replyCode, replyCode >= 400 {
            let recipient = detail.contains("RCPT")
            let code: MailError.Code = recipient ? .recipientRejected : .messageRejected
            let what = recipient ? "the server refused a recipient" : "the server refused the message"
            return replyCode < 500
                ? error(.transient, code, what + " for now (\(replyCode))")
                : error(.permanent, code, what + " (\(replyCode))")
        }
        return error(.transient, .connectionLost, "the SMTP exchange failed")
    }
}

/// What curl's C callbacks reach through an `Unmanaged` pointer; ``SMTPJob/perform``
/// keeps it alive for the whole transfer.
final class UploadContext {
    let message: [UInt8]
    var offset = 0
    let cancelled: Locked<Bool>
    let errorBuffer: UnsafeMutablePointer<CChar>

    init(message: [UInt8], cancelled: Locked<Bool>) {
        self.message = message
        self.cancelled = cancelled
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit { errorBuffer.deallocate() }
}

/// `CURLOPT_READFUNCTION`: the next bytes of the message; 0 ends the upload.
private let readCallback: curl_read_callback = { buffer, size, count, userdata in
    guard let buffer, let userdata else { return 0 }
    let context = Unmanaged<UploadContext>.fromOpaque(userdata).takeUnretainedValue()
    let length = min(size * count, context.message.count - context.offset)
    guard length > 0 else { return 0 }
    context.message.withUnsafeBufferPointer { bytes in
        guard let base = bytes.baseAddress else { return }
        UnsafeMutableRawPointer(buffer).copyMemory(from: base + context.offset, byteCount: length)
    }
    context.offset += length
    return length
}

/// `CURLOPT_XFERINFOFUNCTION`: non-zero aborts the transfer, which is how cancellation stops it.
private let progressCallback: curl_xferinfo_callback = { userdata, _, _, _, _ in
    guard let userdata else { return 1 }
    let context = Unmanaged<UploadContext>.fromOpaque(userdata).takeUnretainedValue()
    return context.cancelled.withLock { $0 } ? 1 : 0
}

extension SMTPConfiguration {
    var curlUseSSL: Int {
        if implicitTLS { return Int(CURLUSESSL_ALL.rawValue) }
        switch startTLS {
        case .never: return Int(CURLUSESSL_NONE.rawValue)
        case .ifAvailable: return Int(CURLUSESSL_TRY.rawValue)
        case .required: return Int(CURLUSESSL_ALL.rawValue)
        }
    }
}

extension Duration {
    /// Whole milliseconds, at least 1 (curl reads 0 as "no timeout").
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}
