import Testing
import TillHTTP

@Suite("HTTPClient against a loopback server")
struct HTTPClientTests {
    @Test("methods carry bodies and headers both ways", arguments: [HTTPMethod.GET, .POST, .PUT, .DELETE, .PATCH])
    func methodsBodiesAndHeaders(method: HTTPMethod) async throws {
        let server = try await TestServer.start()
        let client = try HTTPClient()
        let request = HTTPRequest(
            method: method,
            url: server.url + "/echo",
            headers: ["X-Test": "first", "x-test": "second", "Content-Type": "application/json"],
            body: Array("{\"method\":\"\(method)\"}".utf8)
        )
        let response = try await bounded { try await client.execute(request) }
        #expect(response.status == 200)
        #expect(response.text == "{\"method\":\"\(method)\"}")
        #expect(response.headers.first(name: "X-METHOD") == method.rawValue)
        #expect(response.headers["x-echo-x-test"] == ["first", "second"])
        #expect(response.headers["x-echo-content-type"] == ["application/json"])
        #expect(response.headers["X-Multi"] == ["one", "two"])
        #expect(response.headers["x-echo-expect"].isEmpty)
        await client.shutdown()
        try await server.stop()
    }

    @Test("a request without a body sends none, and no invented content type")
    func noBody() async throws {
        let server = try await TestServer.start()
        let client = try HTTPClient(configuration: .init(userAgent: "Till/0.0-test"))
        let get = try await bounded { try await client.execute(HTTPRequest(url: server.url + "/echo")) }
        #expect(get.body.isEmpty)
        #expect(get.headers["x-echo-content-type"].isEmpty)
        #expect(get.headers["x-echo-user-agent"] == ["Till/0.0-test"])
        let delete = try await bounded {
            try await client.execute(HTTPRequest(method: .DELETE, url: server.url + "/echo", headers: ["User-Agent": "custom"]))
        }
        #expect(delete.headers.first(name: "x-method") == "DELETE")
        #expect(delete.headers["x-echo-user-agent"] == ["custom"])
        let post = try await bounded {
            try await client.execute(HTTPRequest(method: .POST, url: server.url + "/echo", body: []))
        }
        #expect(post.headers["x-echo-content-length"] == ["0"])
        #expect(post.headers["x-echo-content-type"].isEmpty)
        // An error status is a response, not an HTTPClientError: the exchange completed.
        let missing = try await bounded { try await client.execute(HTTPRequest(url: server.url + "/nowhere")) }
        #expect(missing.status == 404)
        #expect(missing.text == "no route /nowhere")
        await client.shutdown()
        try await server.stop()
    }

    @Test("several-megabyte bodies arrive intact both ways")
    func largeBodies() async throws {
        let server = try await TestServer.start()
        let client = try HTTPClient()
        // Every byte value, in an order that does not repeat at any power-of-two period.
        let payload = (0..<(6 * 1024 * 1024 + 7)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        let response = try await bounded {
            try await client.execute(HTTPRequest(method: .PUT, url: server.url + "/echo", body: payload))
        }
        #expect(response.status == 200)
        #expect(response.body.count == payload.count)
        #expect(response.body == payload)
        await client.shutdown()
        try await server.stop()
    }

    @Test("sequential requests reuse one connection")
    func connectionReuse() async throws {
        let server = try await TestServer.start()
        let client = try HTTPClient()
        var reused: [Bool] = []
        for index in 0..<25 {
            let response = try await bounded {
                try await client.execute(HTTPRequest(method: .POST, url: server.url + "/echo", body: Array("n\(index)".utf8)))
            }
            #expect(response.text == "n\(index)")
            reused.append(response.connectionReused)
        }
        #expect(server.events.snapshot.connectionsOpened == 1)
        #expect(reused.first == false)
        #expect(reused.dropFirst().allSatisfy { $0 })
        await client.shutdown()
        try await server.stop()
    }

    @Test("hundreds of concurrent requests are all answered, each with its own response")
    func manyConcurrentRequests() async throws {
        let server = try await TestServer.start()
        let client = try HTTPClient(configuration: .init(maxConnectionsPerHost: 64))
        let count = 500
        let mismatches = try await bounded(seconds: 60) {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<count {
                    group.addTask {
                        let response = try await client.execute(HTTPRequest(url: server.url + "/delay?ms=50&id=r\(index)"))
                        return response.status == 200 && response.text == "r\(index)"
                    }
                }
                var bad = 0
                for try await ok in group where !ok { bad += 1 }
                return bad
            }
        }
        #expect(mismatches == 0)
        #expect(server.events.snapshot.requests == count)
        #expect(server.events.snapshot.connectionsOpened <= 64)
        await client.shutdown()
        try await server.stop()
    }

    @Test("a slow response hits the total timeout: outcome unknown")
    func totalTimeout() async throws {
        let server = try await TestServer.start()
        let client = try HTTPClient()
        // Wide enough that a loaded machine still writes the request before the deadline.
        let error = try await failure(client, HTTPRequest(method: .POST, url: server.url + "/delay?ms=20000", body: [1]), timeout: .seconds(2))
        #expect(error?.phase == .timeout)
        #expect(error?.delivery == .unknown)
        #expect(error?.mayHaveBeenProcessed == true)
        #expect(error?.curlCode == 28)
        await client.shutdown()
        try await server.stop()
    }

    @Test("a refused connection was certainly not delivered")
    func connectRefused() async throws {
        let port = try await TestServer.closedPort()
        let client = try HTTPClient()
        let error = try await failure(client, HTTPRequest(method: .POST, url: "http://127.0.0.1:\(port)/echo", body: [1, 2, 3]))
        #expect(error?.phase == .connect)
        #expect(error?.delivery == .notDelivered)
        #expect(error?.mayHaveBeenProcessed == false)
        await client.shutdown()
    }

    @Test("a connect timeout before any byte was written was certainly not delivered")
    func connectTimeout() async throws {
        let listener = try SaturatedListener()
        defer { listener.close() }
        let client = try HTTPClient(configuration: .init(connectTimeout: .milliseconds(200)))
        let error = try await failure(client, HTTPRequest(method: .POST, url: "http://127.0.0.1:\(listener.port)/", body: [1]))
        #expect(error?.phase == .timeout)
        #expect(error?.delivery == .notDelivered)
        await client.shutdown()
    }

    @Test("the server closing after reading the request: receive failure, outcome unknown")
    func serverDropsAfterRequest() async throws {
        let server = try await TestServer.start()
        let client = try HTTPClient()
        let error = try await failure(client, HTTPRequest(method: .POST, url: server.url + "/drop", body: Array("charge".utf8)))
        #expect(error?.phase == .receive)
        #expect(error?.delivery == .unknown)
        await client.shutdown()
        try await server.stop()
    }

    @Test("a body cut short: receive failure, outcome unknown")
    func truncatedBody() async throws {
        let server = try await TestServer.start()
        let client = try HTTPClient()
        let error = try await failure(client, HTTPRequest(url: server.url + "/partial"))
        #expect(error?.phase == .receive)
        #expect(error?.delivery == .unknown)
        await client.shutdown()
        try await server.stop()
    }

    @Test("a response body above the configured limit is refused")
    func bodyLimit() async throws {
        let server = try await TestServer.start()
        let client = try HTTPClient(configuration: .init(maxResponseBodySize: 1000))
        let small = try await bounded { try await client.execute(HTTPRequest(url: server.url + "/bytes?n=1000")) }
        #expect(small.body.count == 1000)
        let error = try await failure(client, HTTPRequest(url: server.url + "/bytes?n=100000"))
        #expect(error?.phase == .receive)
        #expect(error?.delivery == .unknown)
        #expect(error?.message.contains("maxResponseBodySize") == true)
        await client.shutdown()
        try await server.stop()
    }

    @Test("cancelling the task aborts the transfer and closes its connection")
    func cancellationAbortsTransfer() async throws {
        let server = try await TestServer.start()
        let client = try HTTPClient()
        let task = Task { () -> HTTPClientError? in
            do throws(HTTPClientError) {
                _ = try await client.execute(HTTPRequest(url: server.url + "/stream"), timeout: .seconds(120))
                return nil
            } catch {
                return error
            }
        }
        #expect(await eventually { server.events.snapshot.streamsStarted == 1 })
        task.cancel()
        let error = try await bounded { await task.value }
        #expect(error?.phase == .cancelled)
        #expect(error?.delivery == .unknown)
        #expect(await eventually { server.events.snapshot.streamsEnded == 1 })
        #expect(await eventually { server.events.snapshot.connectionsClosed == 1 })

        let after = try await bounded { try await client.execute(HTTPRequest(method: .POST, url: server.url + "/echo", body: [42])) }
        #expect(after.body == [42])
        await client.shutdown()
        try await server.stop()
    }

    @Test("a task cancelled before the request starts sends nothing")
    func cancelledBeforeStart() async throws {
        let server = try await TestServer.start()
        let client = try HTTPClient()
        let task = Task { () -> HTTPClientError? in
            withUnsafeCurrentTask { $0?.cancel() }
            do throws(HTTPClientError) {
                _ = try await client.execute(HTTPRequest(url: server.url + "/echo"))
                return nil
            } catch {
                return error
            }
        }
        let error = try await bounded { await task.value }
        #expect(error?.phase == .cancelled)
        #expect(error?.delivery == .notDelivered)
        #expect(server.events.snapshot.requests == 0)
        await client.shutdown()
        try await server.stop()
    }

    @Test("shutdown fails requests in flight and refuses new ones")
    func shutdown() async throws {
        let server = try await TestServer.start()
        let client = try HTTPClient()
        let inFlight = Task { () -> HTTPClientError? in
            do throws(HTTPClientError) {
                _ = try await client.execute(HTTPRequest(url: server.url + "/stream"))
                return nil
            } catch {
                return error
            }
        }
        #expect(await eventually { server.events.snapshot.streamsStarted == 1 })
        try await bounded { await client.shutdown() }
        let error = try await bounded { await inFlight.value }
        #expect(error?.phase == .shutdown)
        #expect(error?.delivery == .unknown)
        #expect(await eventually { server.events.snapshot.streamsEnded == 1 })

        let refused = try await failure(client, HTTPRequest(url: server.url + "/echo"))
        #expect(refused?.phase == .shutdown)
        #expect(refused?.delivery == .notDelivered)
        try await bounded { await client.shutdown() }
        try await server.stop()
    }

    @Test("requests curl would mangle are refused before anything is sent")
    func invalidRequests() async throws {
        let client = try HTTPClient()
        let requests = [
            HTTPRequest(url: "ftp://127.0.0.1/file"),
            HTTPRequest(url: "file:///etc/passwd"),
            HTTPRequest(url: "http://127.0.0.1/ space"),
            HTTPRequest(url: "http://127.0.0.1/", headers: ["X-Evil": "a\r\nX-Injected: b"]),
            HTTPRequest(url: "http://127.0.0.1/", headers: ["Bad Name": "a"]),
            HTTPRequest(method: HTTPMethod("GET /x HTTP/1.1\r\n"), url: "http://127.0.0.1/"),
        ]
        for request in requests {
            let error = try await failure(client, request)
            #expect(error?.phase == .invalidRequest, "\(request)")
            #expect(error?.delivery == .notDelivered)
        }
        let badTimeout = try await failure(client, HTTPRequest(url: "http://127.0.0.1/"), timeout: .zero)
        #expect(badTimeout?.phase == .invalidRequest)
        await client.shutdown()
    }
}
