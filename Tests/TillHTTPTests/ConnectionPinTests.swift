import Testing
import TillHTTP

@Suite("Pinned connections: a request goes only to the addresses it was pinned to")
struct ConnectionPinTests {
    @Test("a name that does not exist is reached through its pinned address, the Host header unchanged")
    func nameIsPinned() async throws {
        let server = try await TestServer.start()
        let client = try HTTPClient()
        // `.invalid` never resolves (RFC 6761): only the pin can make this work.
        let request = HTTPRequest(
            url: "http://pinned.invalid:\(server.port)/echo",
            pin: ConnectionPin(host: "pinned.invalid", port: UInt16(server.port), addresses: ["127.0.0.1"]))
        let response = try await bounded { try await client.execute(request) }
        #expect(response.status == 200)
        #expect(response.headers["x-echo-host"] == ["pinned.invalid:\(server.port)"])
        await client.shutdown()
        try await server.stop()
    }

    @Test("an address literal that is not among the pinned addresses is refused before connecting")
    func literalOutsideThePinIsRefused() async throws {
        let server = try await TestServer.start()
        let client = try HTTPClient()
        let request = HTTPRequest(
            url: server.url + "/echo",
            pin: ConnectionPin(host: "127.0.0.1", port: UInt16(server.port), addresses: ["127.0.0.2"]))
        let error = try await failure(client, request)
        #expect(error?.phase == .destinationRefused)
        #expect(error?.delivery == .notDelivered)
        #expect(server.events.snapshot.requests == 0)
        await client.shutdown()
        try await server.stop()
    }

    @Test("an IPv6 literal host is pinned as itself")
    func ipv6Literal() async throws {
        let client = try HTTPClient()
        // Nothing listens on this port on ::1 (or IPv6 is off): the connect itself fails,
        // which shows the pin was accepted and checked rather than refused up front.
        let request = HTTPRequest(url: "http://[::1]:9/", pin: ConnectionPin(host: "::1", port: 9, addresses: ["::1"]))
        let error = try await failure(client, request)
        #expect(error != nil)
        #expect(error?.phase != .invalidRequest && error?.phase != .destinationRefused, "\(String(describing: error))")
        await client.shutdown()
    }

    @Test("a pin must list numeric addresses")
    func pinIsValidated() async throws {
        let client = try HTTPClient()
        for addresses in [[], ["localhost"], ["127.0.0.1:80"]] {
            let request = HTTPRequest(
                url: "http://example.invalid/", pin: ConnectionPin(host: "example.invalid", port: 80, addresses: addresses))
            let error = try await failure(client, request)
            #expect(error?.phase == .invalidRequest, "\(addresses)")
        }
        await client.shutdown()
    }
}
