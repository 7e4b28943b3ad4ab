import Foundation
import Hummingbird
import Logging
import SandboxSupport
import TillHTTP
import TillTesting
import Testing

/// A minimal gateway: `POST /v1/charges` records a capture in the ledger.
private func startGateway(
    webhookEndpoints: [String] = [], retry: WebhookDispatcher.RetryPolicy = .init()
) async throws -> (RunningSandbox, SandboxEnvironment) {
    var logger = Logger(label: "test.sandbox")
    logger.logLevel = .critical
    let environment = try SandboxEnvironment(webhookEndpoints: webhookEndpoints, webhookRetry: retry, logger: logger)
    let router = Router(context: SandboxContext.self)
    router.add(middleware: FaultMiddleware(faults: environment.faults) { status in
        Response(status: status, body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"error":"injected"}"#)))
    })
    router.addSandboxAdminRoutes(environment: environment, resetGateway: {})
    router.post("v1/charges") { _, _ in
        environment.ledger.record(.capture, object: "ch_1", payment: "pi_1", amount: 500, currency: "usd", at: Date())
        return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"id":"ch_1"}"#)))
    }
    let server = try await SandboxServer.start(
        name: "test-gateway", router: router, services: [environment.webhooks], logger: logger)
    return (server, environment)
}

private func send(
    _ client: HTTPClient, _ method: TillHTTP.HTTPMethod, _ url: String, json: String? = nil
) async throws -> TillHTTP.HTTPResponse {
    try await client.execute(
        TillHTTP.HTTPRequest(
            method: method, url: url, headers: json == nil ? [:] : ["Content-Type": "application/json"],
            body: json.map { Array($0.utf8) }))
}

@Suite("Sandbox server, admin API and faults over HTTP")
struct SandboxServerTests {
    @Test("an injected 5xx answers in the gateway's shape and moves no money")
    func injectedError() async throws {
        let (server, environment) = try await startGateway()
        let client = try HTTPClient()
        let added = try await send(client, .POST, server.baseURL + "/_sandbox/faults", json: #"{"kind":"error","status":503,"count":1}"#)
        #expect(added.status == 201)
        let failed = try await send(client, .POST, server.baseURL + "/v1/charges")
        #expect(failed.status == 503)
        #expect(String(decoding: failed.body, as: UTF8.self) == #"{"error":"injected"}"#)
        #expect(environment.ledger.all.isEmpty)
        let next = try await send(client, .POST, server.baseURL + "/v1/charges")
        #expect(next.status == 200)
        #expect(environment.ledger.all.count == 1)
        await client.shutdown()
        await server.stop()
    }

    @Test("a drop before processing loses the request; a drop after commit loses only the answer")
    func drops() async throws {
        let (server, environment) = try await startGateway()
        let admin = try HTTPClient()
        _ = try await send(admin, .POST, server.baseURL + "/_sandbox/faults", json: #"{"kind":"drop_before_processing","count":1}"#)
        // A fresh client per faulted call: curl re-sends a request once, on a new connection,
        // when a *reused* connection closes before any answer, which would hide the drop.
        let first = try HTTPClient()
        await #expect(throws: HTTPClientError.self) { try await send(first, .POST, server.baseURL + "/v1/charges") }
        #expect(environment.ledger.all.isEmpty)

        _ = try await send(admin, .POST, server.baseURL + "/_sandbox/faults", json: #"{"kind":"drop_after_commit","count":1}"#)
        let second = try HTTPClient()
        do {
            _ = try await send(second, .POST, server.baseURL + "/v1/charges")
            Issue.record("the response should have been lost")
        } catch let error as HTTPClientError {
            // The client cannot know whether the charge happened: exactly the case to reconcile.
            #expect(error.delivery == .unknown)
        }
        #expect(environment.ledger.all.count == 1)

        let ledger = try await send(admin, .GET, server.baseURL + "/_sandbox/ledger")
        let entries = try JSONSerialization.jsonObject(with: Data(ledger.body)) as? [String: Any]
        #expect((entries?["data"] as? [Any])?.count == 1)
        for client in [admin, first, second] { await client.shutdown() }
        await server.stop()
    }

    @Test("bad admin input is refused and changes nothing; reset forgets state")
    func adminInput() async throws {
        let (server, environment) = try await startGateway()
        let client = try HTTPClient()
        for body in [#"{"kind":"nope"}"#, "not json", #"{"kind":"latency"}"#] {
            let response = try await send(client, .POST, server.baseURL + "/_sandbox/faults", json: body)
            #expect(response.status == 400, "\(body)")
        }
        #expect(environment.faults.active.isEmpty)
        let advance = try await send(client, .POST, server.baseURL + "/_sandbox/clock/advance", json: #"{"seconds":-5}"#)
        #expect(advance.status == 400)

        _ = try await send(client, .POST, server.baseURL + "/v1/charges")
        _ = try await send(client, .POST, server.baseURL + "/_sandbox/faults", json: #"{"kind":"latency","latency_ms":1}"#)
        let reset = try await send(client, .POST, server.baseURL + "/_sandbox/reset")
        #expect(reset.status == 200)
        #expect(environment.ledger.all.isEmpty)
        #expect(environment.faults.active.isEmpty)
        await client.shutdown()
        await server.stop()
    }

    @Test("webhooks are retried with backoff until the endpoint accepts them")
    func webhookRetries() async throws {
        let receiver = try await WebhookReceiver.start()
        receiver.failNext(2)
        let (server, environment) = try await startGateway(
            webhookEndpoints: [receiver.url],
            retry: .init(maxAttempts: 5, initialDelay: .milliseconds(10), maxDelay: .milliseconds(50)))
        environment.webhooks.send(event: "evt_1", body: Array(#"{"id":"evt_1"}"#.utf8)) { body, _ in
            [("X-Signature", "sig-\(body.count)")]
        }
        let received = try await receiver.wait(count: 3)
        #expect(received.map(\.bodyString) == Array(repeating: #"{"id":"evt_1"}"#, count: 3))
        #expect(received.allSatisfy { $0.headers["x-signature"] == "sig-14" })
        try await waitUntil { environment.webhooks.deliveries.first?.delivered == true }
        let delivery = try #require(environment.webhooks.deliveries.first)
        #expect(delivery.attempts == 3)
        #expect(delivery.gaveUp == false)
        await server.stop()
        await receiver.stop()
    }

    @Test("a delivery that keeps failing is given up after the last attempt")
    func webhookGivesUp() async throws {
        let receiver = try await WebhookReceiver.start()
        receiver.failNext(100)
        let (server, environment) = try await startGateway(
            webhookEndpoints: [receiver.url],
            retry: .init(maxAttempts: 3, initialDelay: .milliseconds(5), maxDelay: .milliseconds(10)))
        environment.webhooks.send(event: "evt_2", body: Array("{}".utf8)) { _, _ in [] }
        try await waitUntil { environment.webhooks.deliveries.first?.gaveUp == true }
        #expect(environment.webhooks.deliveries.first?.attempts == 3)
        #expect(environment.webhooks.deliveries.first?.lastStatus == 500)
        #expect(receiver.received.count == 3)
        await server.stop()
        await receiver.stop()
    }

    @Test("starting on a port in use fails with a clear error")
    func portInUse() async throws {
        let (server, _) = try await startGateway()
        let router = Router(context: SandboxContext.self)
        await #expect(throws: SandboxServer.StartError.self) {
            _ = try await SandboxServer.start(
                name: "second", router: router, port: server.port, logger: Logger(label: "test"))
        }
        await server.stop()
    }
}

/// Polls `condition` until it holds, for at most `timeout` (a bound, not a timing assertion).
private func waitUntil(
    timeout: Duration = .seconds(15), _ condition: @Sendable () -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}
