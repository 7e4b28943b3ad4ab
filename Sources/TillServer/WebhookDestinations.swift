import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The webhook URL policy the routes and the outbox share. It changes once the daemon
/// knows the port it listens on (``addOwn(_:)``), and tests add their receivers with
/// ``allow(_:)``; everything else reads ``policy``.
public final class WebhookDestinations: Sendable {
    private let state: Mutex<WebhookURLPolicy>

    public init(_ policy: WebhookURLPolicy) {
        state = Mutex(policy)
    }

    public var policy: WebhookURLPolicy { state.withLock { $0 } }

    /// Lets deliveries reach `endpoint` although it is not public.
    public func allow(_ endpoint: SocketEndpoint) {
        _ = state.withLock { $0.allowed.insert(endpoint) }
    }

    /// Records an address the daemon listens on, so no webhook goes there.
    public func addOwn(_ endpoint: SocketEndpoint) {
        _ = state.withLock { $0.own.insert(endpoint) }
    }
}

/// Resolves a webhook host's name to the addresses a delivery may then be pinned to.
public typealias WebhookResolver = @Sendable (_ name: String) async throws -> [IPAddress]

/// A name the system resolver could not resolve.
public struct ResolutionFailure: Error, Sendable {
    /// `getaddrinfo`'s `EAI_` code.
    public let code: Int32

    public init(code: Int32) {
        self.code = code
    }
}

/// `getaddrinfo` for TCP, off the cooperative pool (it blocks for as long as DNS takes).
public let systemWebhookResolver: WebhookResolver = { name in
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[IPAddress], any Error>) in
        DispatchQueue.global().async {
            continuation.resume(with: resolveBlocking(name))
        }
    }
}

private func resolveBlocking(_ name: String) -> Result<[IPAddress], any Error> {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    #if canImport(Glibc)
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    #else
    hints.ai_socktype = SOCK_STREAM
    #endif
    var list: UnsafeMutablePointer<addrinfo>?
    let code = getaddrinfo(name, nil, &hints, &list)
    guard code == 0 else { return .failure(ResolutionFailure(code: code)) }
    defer { freeaddrinfo(list) }
    var addresses: [IPAddress] = []
    var cursor = list
    while let entry = cursor {
        defer { cursor = entry.pointee.ai_next }
        guard let socketAddress = entry.pointee.ai_addr else { continue }
        switch entry.pointee.ai_family {
        case AF_INET:
            let value = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
            addresses.append(.v4(UInt32(bigEndian: value)))
        case AF_INET6:
            let bytes = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
            }
            addresses.append(.v6(bytes))
        default:
            continue
        }
    }
    var seen = Set<IPAddress>()
    return .success(addresses.filter { seen.insert($0).inserted })
}
