// Fuzz target: the webhook URL policy (`WebhookURLPolicy`). It asserts what the policy
// promises rather than only "does not crash":
// - outside sandbox mode, nothing accepted is anything but https;
// - an accepted host the C library would read as an IPv4 or IPv6 address is judged as that
//   address, and that address is public or exactly allow-listed;
// - the stored URL reads back as the same destination, within the length limit, with no
//   user information, fragment, backslash or sandbox admin path;
// - the policy's inet_aton agrees with the C library's on every numeric-looking host.
import Foundation
import FuzzSupport
import TillServer
#if canImport(Glibc)
import Glibc
#endif

private let allowedEndpoint = SocketEndpoint("127.0.0.1:9000")
private let policies: [(name: String, policy: WebhookURLPolicy)] = [
    ("production", WebhookURLPolicy()),
    ("sandbox", WebhookURLPolicy(allowsPlainHTTP: true)),
    ("sandbox+allow", WebhookURLPolicy(allowsPlainHTTP: true, allowed: Set([allowedEndpoint].compactMap { $0 }))),
]

private func cInetAton(_ text: String) -> UInt32? {
    var address = in_addr()
    guard inet_aton(text, &address) != 0 else { return nil }
    return UInt32(bigEndian: address.s_addr)
}

private func cInetPton6(_ text: String) -> Bool {
    var bytes = [UInt8](repeating: 0, count: 16)
    return inet_pton(AF_INET6, text, &bytes) == 1
}

private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        // stderr is unbuffered: the message survives the abort.
        let line = Array("invariant broken: \(message())\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        abort()
    }
}

func fuzzWebhookURL(_ input: UnsafeRawBufferPointer) {
    let text = String(decoding: input, as: UTF8.self)

    // inet_aton agreement, on the characters an IPv4 literal in a host can hold.
    if !text.isEmpty, text.utf8.count <= 64,
        text.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) || $0 == 0x2E || $0 == 0x78 })
    {
        let ours = WebhookURLPolicy.inetAton(text)
        check(ours == cInetAton(text), "inet_aton disagrees on \(text): \(String(describing: ours))")
    }

    for (name, policy) in policies {
        guard let destination = try? policy.check(url: text) else { continue }
        let url = destination.url
        check(name != "production" || destination.scheme == "https", "\(name) accepted non-https \(text)")
        check(url.utf8.count <= WebhookURLPolicy.maxLength, "stored form too long for \(text)")
        let afterScheme = url.drop { $0 != "/" }.dropFirst(2)
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" }
        check(!authority.contains("@"), "userinfo in \(url)")
        check(!url.contains("#") && !url.contains("\\"), "fragment or backslash in \(url)")
        let segments = afterScheme.dropFirst(authority.count).prefix { $0 != "?" }.lowercased()
            .replacingOccurrences(of: "%5f", with: "_").split(separator: "/")
        check(!segments.contains("_sandbox"), "admin path in \(url)")
        switch destination.host {
        case .name(let host):
            check(cInetAton(host) == nil, "\(host) reads as an IPv4 address but was judged as a name")
            check(!cInetPton6(host), "\(host) reads as an IPv6 address but was judged as a name")
            check(host != "localhost" && !host.hasSuffix(".localhost"), "loopback name \(host) accepted")
        case .address(let address):
            let refused = WebhookURLPolicy.refusedRange(address)
            let endpoint = SocketEndpoint(address: address, port: destination.port)
            check(refused == nil || policy.allowed.contains(endpoint), "\(name) accepted \(refused ?? "") address in \(text)")
            if case .v4(let value) = address {
                check(cInetAton(destination.urlHost) == value, "stored host \(destination.urlHost) is not \(address)")
            }
        }
        // Idempotent: the stored form is accepted as itself.
        guard let again = try? policy.check(url: url) else {
            check(false, "stored form \(url) of \(text) is refused")
            return
        }
        check(again == destination, "stored form \(url) reads differently")
    }
}

#if TILL_FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzWebhookURL(fuzzInput(data, size))
    return 0
}
#else
@main enum Replay {
    static func main() { replayFiles(fuzzWebhookURL) }
}
#endif
