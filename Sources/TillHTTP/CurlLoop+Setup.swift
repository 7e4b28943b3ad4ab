internal import CTillCurl
internal import CTillCurlShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension CurlLoop {
    /// Sets every option of one transfer on a fresh or reset easy handle. Returns the
    /// first option curl refuses.
    func configure(_ easy: UnsafeMutableRawPointer, for job: Job, context: TransferContext) -> CURLcode {
        let request = job.request
        let tls = configuration.tls
        var steps: [() -> CURLcode] = [
            { till_curl_easy_setopt_string(easy, CURLOPT_URL, request.url) },
            // Only HTTP(S), also for redirects, so a URL can never reach file:// and friends.
            { till_curl_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https") },
            { till_curl_easy_setopt_string(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") },
            { till_curl_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0) },
            // Signals are process-wide and this is one thread among many.
            { till_curl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1) },
            { till_curl_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1)) },
            { till_curl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, job.timeoutMilliseconds) },
            { till_curl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, job.connectTimeoutMilliseconds) },
            { till_curl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, tls.verifyPeer ? 1 : 0) },
            { till_curl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, tls.verifyHost ? 2 : 0) },
            { till_curl_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, context.errorBuffer) },
            { till_curl_easy_setopt_write_function(easy, CURLOPT_WRITEFUNCTION, bodyCallback) },
            { till_curl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, Unmanaged.passUnretained(context).toOpaque()) },
            { till_curl_easy_setopt_write_function(easy, CURLOPT_HEADERFUNCTION, headerCallback) },
            { till_curl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, Unmanaged.passUnretained(context).toOpaque()) },
        ]
        if let path = tls.caBundlePath {
            steps.append { till_curl_easy_setopt_string(easy, CURLOPT_CAINFO, path) }
        }
        if let userAgent = configuration.userAgent {
            steps.append { till_curl_easy_setopt_string(easy, CURLOPT_USERAGENT, userAgent) }
        }
        steps += methodAndBody(easy, request)
        if let pin = request.pin {
            context.allowedAddresses = pin.addresses.compactMap(ConnectionPin.addressBytes)
            if let entry = pin.resolveEntry {
                context.resolveList = curl_slist_append(context.resolveList, entry)
                steps.append { till_curl_easy_setopt_slist(easy, CURLOPT_RESOLVE, context.resolveList) }
            }
            steps += [
                // A proxy from the environment would be connected to instead of the pinned address.
                { till_curl_easy_setopt_string(easy, CURLOPT_PROXY, "") },
                { till_curl_easy_setopt_opensocket_function(easy, pinnedOpenSocket) },
                { till_curl_easy_setopt_pointer(easy, CURLOPT_OPENSOCKETDATA, Unmanaged.passUnretained(context).toOpaque()) },
            ]
        }

        // curl reads `Name:` as "remove this header" and needs `Name;` to send it empty.
        var lines = request.headers.map { $0.value.isEmpty ? "\($0.name);" : "\($0.name): \($0.value)" }
        // No `Expect: 100-continue` round trip: most servers answer it late or never.
        if !request.headers.contains(name: "Expect") { lines.append("Expect:") }
        // curl would label any body as a form; a body's type is the caller's to say.
        if request.body != nil, !request.headers.contains(name: "Content-Type") { lines.append("Content-Type:") }
        for line in lines {
            context.headerList = curl_slist_append(context.headerList, line)
        }
        steps.append { till_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, context.headerList) }

        for step in steps {
            let code = step()
            if code != CURLE_OK { return code }
        }
        return CURLE_OK
    }

    private func methodAndBody(_ easy: UnsafeMutableRawPointer, _ request: HTTPRequest) -> [() -> CURLcode] {
        let method = request.method.rawValue
        guard let body = request.body else {
            switch request.method {
            case .GET: return [{ till_curl_easy_setopt_long(easy, CURLOPT_HTTPGET, 1) }]
            case .HEAD: return [{ till_curl_easy_setopt_long(easy, CURLOPT_NOBODY, 1) }]
            default: return [{ till_curl_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method) }]
            }
        }
        var steps: [() -> CURLcode] = [
            { till_curl_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)) },
            // COPYPOSTFIELDS copies the bytes, so nothing of ours must outlive this call.
            {
                body.withUnsafeBytes { bytes in
                    if let base = bytes.baseAddress {
                        return till_curl_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base))
                    }
                    return till_curl_easy_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, "")
                }
            },
        ]
        if request.method != .POST {
            steps.append { till_curl_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method) }
        }
        return steps
    }
}

/// `CURLOPT_WRITEFUNCTION`: appends body bytes; returning less than given makes curl
/// fail the transfer with `CURLE_WRITE_ERROR`, which is how an oversized body stops.
private let bodyCallback: curl_write_callback = { data, size, count, userdata in
    guard let userdata else { return 0 }
    let context = Unmanaged<TransferContext>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    guard length > 0, let data else { return length }
    guard context.body.count + length <= context.maxBodySize else {
        context.bodyTooLarge = true
        return 0
    }
    data.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
        context.body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: length))
    }
    return length
}

/// `CURLOPT_HEADERFUNCTION`: one complete header line per call.
private let headerCallback: curl_write_callback = { data, size, count, userdata in
    guard let userdata else { return 0 }
    let context = Unmanaged<TransferContext>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    guard length > 0, let data else { return length }
    data.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
        context.receiveHeaderLine(UnsafeBufferPointer(start: bytes, count: length))
    }
    return length
}

/// `CURLOPT_OPENSOCKETFUNCTION` for pinned requests: opens the socket only if curl is about
/// to connect to one of the pinned addresses. `CURL_SOCKET_BAD` makes curl fail the connect.
private let pinnedOpenSocket: curl_opensocket_callback = { clientp, _, address in
    guard let clientp, let address else { return CURL_SOCKET_BAD }
    let context = Unmanaged<TransferContext>.fromOpaque(clientp).takeUnretainedValue()
    var bytes = [UInt8](repeating: 0, count: 16)
    let count = Int(till_curl_sockaddr_address(address, &bytes))
    guard count > 0, let allowed = context.allowedAddresses, allowed.contains(Array(bytes.prefix(count))) else {
        context.refusedDestination = true
        return CURL_SOCKET_BAD
    }
    return socket(address.pointee.family, address.pointee.socktype, address.pointee.protocol)
}
