// Fuzz target: PayPal's certificate URL policy (`CertificateURLPolicy`), the check that
// stands between a webhook's unauthenticated PAYPAL-CERT-URL header and an outbound fetch.
// It asserts what the policy promises, not only "does not crash":
// - without allowsPlainHTTP nothing accepted is anything but https;
// - the accepted authority is in the allow-list (with the scheme's default port dropped);
// - the URL to fetch is within the byte limit, under /v1/notifications/certs/, and is
//   itself accepted as the same thing (checking is idempotent).
import FuzzSupport
import PayPalGateway

private let policies: [CertificateURLPolicy] = [
    CertificateURLPolicy(),
    CertificateURLPolicy(allowedHosts: ["127.0.0.1:9000", "[::1]:9000"], allowsPlainHTTP: true),
]

func fuzzCertificateURL(_ input: UnsafeRawBufferPointer) {
    let text = String(decoding: input, as: UTF8.self)
    for policy in policies {
        guard case .success(let accepted) = policy.check(text) else { continue }
        if accepted.scheme != "https" && !(policy.allowsPlainHTTP && accepted.scheme == "http") {
            fuzzFailure("scheme \(accepted.scheme) accepted for \(text)")
        }
        let defaultPort = accepted.scheme == "https" ? ":443" : ":80"
        if !policy.allowedHosts.contains(accepted.authority)
            && !policy.allowedHosts.contains(accepted.authority + defaultPort)
        {
            fuzzFailure("authority \(accepted.authority) not allow-listed, from \(text)")
        }
        let url = accepted.url
        if url.utf8.count > CertificateURLPolicy.maximumBytes || !url.contains(CertificateURLPolicy.pathPrefix)
            || url.contains("@") || url.contains("?") || url.contains("#")
        {
            fuzzFailure("accepted URL \(url) breaks the policy")
        }
        guard case .success(let again) = policy.check(url), again == accepted else {
            fuzzFailure("accepted URL \(url) does not check to itself")
        }
    }
}

#if TILL_FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzCertificateURL(fuzzInput(data, size))
    return 0
}
#else
@main enum Replay {
    static func main() { replayFiles(fuzzCertificateURL) }
}
#endif
