import Foundation
import TillCrypto
import TillHTTP
import TillServer
import TillStore
import TillTesting
import Testing

@Suite("Webhook endpoints, events and signed merchant webhooks over HTTP")
struct WebhooksTests {
    @Test("endpoints: create shows the secret once, list and retrieve hide it, rotate, delete")
    func endpointLifecycle() async throws {
        try await DaemonHarness.with { harness in
            let created = try await harness.call(.POST, "/v1/webhook_endpoints", json: #"{"url": "https://shop.example/hooks?x=1"}"#)
            #expect(created.status == 201, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            let secret = try #require(created.json["secret"] as? String)
            #expect(id.hasPrefix("we_"))
            #expect(secret.hasPrefix("whsec_") && secret.count > 40)
            #expect(created.json["url"] as? String == "https://shop.example/hooks?x=1")
            #expect(created.json["object"] as? String == "webhook_endpoint")
            #expect(created.json["created_at"] is String)

            let list = try await harness.call(.GET, "/v1/webhook_endpoints")
            #expect(list.status == 200)
            let items = try #require(list.json["data"] as? [[String: Any]])
            #expect(items.map { $0["id"] as? String } == [id])
            #expect(items.allSatisfy { $0["secret"] == nil })
            #expect(list.json["has_more"] as? Bool == false)
            #expect(!list.text.contains(secret))

            let one = try await harness.call(.GET, "/v1/webhook_endpoints/\(id)")
            #expect(one.status == 200)
            #expect(one.json["secret"] == nil)

            let rotated = try await harness.call(.POST, "/v1/webhook_endpoints/\(id)/rotate_secret")
            #expect(rotated.status == 200, "\(rotated.text)")
            let newSecret = try #require(rotated.json["secret"] as? String)
            #expect(newSecret.hasPrefix("whsec_") && newSecret != secret)
            #expect(rotated.json["id"] as? String == id)

            let deleted = try await harness.call(.DELETE, "/v1/webhook_endpoints/\(id)")
            #expect(deleted.status == 200, "\(deleted.text)")
            #expect(deleted.json["deleted"] as? Bool == true)
            #expect(try await harness.call(.DELETE, "/v1/webhook_endpoints/\(id)").status == 404)
            #expect(try await harness.call(.POST, "/v1/webhook_endpoints/\(id)/rotate_secret").status == 404)
            #expect(try await harness.call(.GET, "/v1/webhook_endpoints/\(id)").status == 404)
            let empty = try await harness.call(.GET, "/v1/webhook_endpoints")
            #expect((empty.json["data"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("endpoints: bad URLs, bad bodies and publishable keys are refused and nothing is created")
    func endpointValidation() async throws {
        try await DaemonHarness.with { harness in
            let refused: [(body: String, code: String)] = [
                (#"{}"#, "parameter_missing"),
                (#"{"url": ""}"#, "parameter_missing"),
                (#"{"url": 42}"#, "parameter_invalid"),
                (#"{"url": "ftp://shop.example/hooks"}"#, "url_invalid"),
                (#"{"url": "shop.example/hooks"}"#, "url_invalid"),
                (#"{"url": "https://"}"#, "url_invalid"),
                (#"{"url": "https://user:pw@shop.example/hooks"}"#, "url_invalid"),
                (#"{"url": "https://shop.example/hooks#top"}"#, "url_invalid"),
                (#"{"url": "https://shop.example/a b"}"#, "url_invalid"),
                (#"{"url": "https://shop.example/hooks", "events": ["*"]}"#, "parameter_unknown"),
                (#"{"url": "https://shop.example/hooks""#, "invalid_json"),
            ]
            for (body, code) in refused {
                let answer = try await harness.call(.POST, "/v1/webhook_endpoints", json: body)
                #expect(answer.status == 400, "\(body): \(answer.text)")
                #expect(answer.errorCode == code, "\(body): \(answer.text)")
            }
            let long = try await harness.call(
                .POST, "/v1/webhook_endpoints", json: #"{"url": "https://shop.example/\#(String(repeating: "a", count: 2100))"}"#)
            #expect(long.errorCode == "url_invalid")
            let publishable = try await harness.call(
                .POST, "/v1/webhook_endpoints", json: #"{"url": "https://shop.example/hooks"}"#, key: harness.publishableKey)
            #expect(publishable.status == 403)
            #expect(try await harness.call(.GET, "/v1/webhook_endpoints", key: harness.publishableKey).status == 403)
            #expect(try await harness.call(.GET, "/v1/webhook_endpoints", key: "").status == 401)
            let list = try await harness.call(.GET, "/v1/webhook_endpoints")
            #expect((list.json["data"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("endpoints: an idempotent create replays the first answer and creates one endpoint")
    func endpointIdempotency() async throws {
        try await DaemonHarness.with { harness in
            let body = #"{"url": "https://shop.example/hooks"}"#
            let first = try await harness.call(.POST, "/v1/webhook_endpoints", json: body, headers: ["Idempotency-Key": "we-1"])
            let again = try await harness.call(.POST, "/v1/webhook_endpoints", json: body, headers: ["Idempotency-Key": "we-1"])
            #expect(first.status == 201)
            // The replay is the first answer without the secret, which is shown once.
            var expected = first.json
            expected["secret"] = NSNull()
            expected["secret_shown"] = "once"
            #expect(NSDictionary(dictionary: again.json).isEqual(to: expected))
            #expect(again.headers.first(name: "Idempotent-Replayed") == "true")
            let other = try await harness.call(
                .POST, "/v1/webhook_endpoints", json: #"{"url": "https://other.example/hooks"}"#, headers: ["Idempotency-Key": "we-1"])
            #expect(other.status == 409)
            let list = try await harness.call(.GET, "/v1/webhook_endpoints")
            #expect((list.json["data"] as? [Any])?.count == 1)
        }
    }

    @Test("a payment's event reaches the endpoint, signed, and its delivery shows in the API")
    func signedDelivery() async throws {
        try await Self.withReceiver { receiver in try await DaemonHarness.with { harness in
            let secret = try await Self.endpoint(harness, url: receiver.url).secret
            let paymentID = try await Self.authorize(harness)
            let received = try await receiver.wait(count: 1)[0]
            #expect(received.headers["content-type"] == "application/json")
            #expect(Self.signatureIsValid(received, secret: secret))
            #expect(WebhookSignature.verify(header: received.headers["till-signature"] ?? "", body: received.body, secret: secret))
            #expect(!WebhookSignature.verify(header: received.headers["till-signature"] ?? "", body: received.body + [0x20], secret: secret))
            #expect(!WebhookSignature.verify(header: received.headers["till-signature"] ?? "", body: received.body, secret: secret + "x"))

            let body = try #require(received.json)
            let eventID = try #require(body["id"] as? String)
            #expect(eventID.hasPrefix("evt_"))
            #expect(body["type"] as? String == "payment.authorized")
            let object = (body["data"] as? [String: Any])?["object"] as? [String: Any]
            #expect(object?["id"] as? String == paymentID)

            let event = try await Self.settled(harness, eventID: eventID)
            let deliveries = try #require(event["deliveries"] as? [[String: Any]])
            #expect(deliveries.count == 1)
            #expect(deliveries.first?["status"] as? String == "delivered")
            let attempts = deliveries.first?["attempts"] as? [[String: Any]]
            #expect(attempts?.compactMap { $0["status_code"] as? Int } == [200])
            // The event is shown as it was delivered.
            #expect(event["type"] as? String == body["type"] as? String)
            #expect(event["created_at"] as? String == body["created_at"] as? String)
        } }
    }

    @Test("failed attempts are retried with the same event until delivered; every attempt shows")
    func retries() async throws {
        try await Self.withReceiver { receiver in try await DaemonHarness.with { harness in
            let secret = try await Self.endpoint(harness, url: receiver.url).secret
            receiver.failNext(2)
            _ = try await Self.authorize(harness)
            let all = try await receiver.wait(count: 3)
            let ids = Set(all.compactMap { $0.json?["id"] as? String })
            #expect(ids.count == 1)
            #expect(all.allSatisfy { Self.signatureIsValid($0, secret: secret) })
            #expect(Set(all.map(\.body)).count == 1)
            let eventID = try #require(ids.first)
            let event = try await Self.settled(harness, eventID: eventID)
            let delivery = try #require((event["deliveries"] as? [[String: Any]])?.first)
            #expect(delivery["status"] as? String == "delivered")
            #expect(delivery["attempt_count"] as? Int == 3)
            let attempts = try #require(delivery["attempts"] as? [[String: Any]])
            #expect(attempts.compactMap { $0["status_code"] as? Int } == [500, 500, 200])
            #expect(attempts.prefix(2).allSatisfy { $0["error"] as? String == "http_status" })
            #expect(attempts.last?["error"] is NSNull)
            #expect(attempts.allSatisfy { $0["attempted_at"] is String })
        } }
    }

    @Test("a deleted endpoint gets nothing more; the others still do")
    func deletedEndpoint() async throws {
        try await Self.withReceiver { receiver in try await DaemonHarness.with { harness in
            let kept = try await Self.endpoint(harness, url: receiver.url + "/kept")
            let gone = try await Self.endpoint(harness, url: receiver.url + "/gone")
            _ = try await Self.authorize(harness)
            _ = try await receiver.wait(count: 2)
            #expect(try await harness.call(.DELETE, "/v1/webhook_endpoints/\(gone.id)").status == 200)

            let second = try await Self.authorize(harness)
            let event = try #require(try await Self.events(harness, query: "payment=\(second)").first)
            let eventID = try #require(event["id"] as? String)
            let settled = try await Self.settled(harness, eventID: eventID)
            let deliveries = try #require(settled["deliveries"] as? [[String: Any]])
            #expect(deliveries.map { $0["endpoint"] as? String } == [kept.id])
            let toGone = receiver.received.filter { $0.path.hasSuffix("/gone") }
            #expect(toGone.count == 1)
            #expect(!toGone.contains { $0.json?["id"] as? String == eventID })
            #expect(receiver.received.contains { $0.path.hasSuffix("/kept") && $0.json?["id"] as? String == eventID })
        } }
    }

    @Test("after rotating, deliveries are signed with the new secret only")
    func rotatedSecret() async throws {
        try await Self.withReceiver { receiver in try await DaemonHarness.with { harness in
            let endpoint = try await Self.endpoint(harness, url: receiver.url)
            let rotated = try await harness.call(.POST, "/v1/webhook_endpoints/\(endpoint.id)/rotate_secret")
            let secret = try #require(rotated.json["secret"] as? String)
            _ = try await Self.authorize(harness)
            let received = try await receiver.wait(count: 1)[0]
            #expect(Self.signatureIsValid(received, secret: secret))
            #expect(!Self.signatureIsValid(received, secret: endpoint.secret))
        } }
    }

    @Test("another merchant's events and endpoints are not found, and its lists are its own")
    func otherMerchants() async throws {
        try await DaemonHarness.with { harness in
            // Nothing listens there (port 9, discard): deliveries simply fail.
            let endpoint = try await Self.endpoint(harness, url: "http://127.0.0.1:9/hooks")
            let paymentID = try await Self.authorize(harness)
            let event = try #require(try await Self.events(harness, query: "payment=\(paymentID)").first)
            let eventID = try #require(event["id"] as? String)

            let other = try await Merchants.create(name: "Other Shop", in: harness.daemon.server.store)
            let key = other.secretKey
            let notFound = try await harness.call(.GET, "/v1/events/\(eventID)", key: key)
            #expect(notFound.status == 404)
            #expect(notFound.errorCode == "resource_missing")
            #expect(try await harness.call(.GET, "/v1/webhook_endpoints/\(endpoint.id)", key: key).status == 404)
            #expect(try await harness.call(.POST, "/v1/webhook_endpoints/\(endpoint.id)/rotate_secret", key: key).status == 404)
            #expect(try await harness.call(.DELETE, "/v1/webhook_endpoints/\(endpoint.id)", key: key).status == 404)
            let events = try await harness.call(.GET, "/v1/events", key: key)
            #expect((events.json["data"] as? [Any])?.isEmpty == true)
            let filtered = try await harness.call(.GET, "/v1/events?payment=\(paymentID)", key: key)
            #expect((filtered.json["data"] as? [Any])?.isEmpty == true)
            let endpoints = try await harness.call(.GET, "/v1/webhook_endpoints", key: key)
            #expect((endpoints.json["data"] as? [Any])?.isEmpty == true)

            // Nothing the other merchant tried changed the first merchant's endpoint.
            let mine = try await harness.call(.GET, "/v1/webhook_endpoints/\(endpoint.id)")
            #expect(mine.status == 200)
        }
    }

    @Test("the events list pages with starting_after and filters by type and payment")
    func eventsPagingAndFilters() async throws {
        try await DaemonHarness.with { harness in
            var payments: [String] = []
            for _ in 0..<3 { payments.append(try await Self.authorize(harness)) }
            let captured = try await harness.call(.POST, "/v1/payments/\(payments[0])/capture", json: "{}")
            #expect(captured.status == 200, "\(captured.text)")

            let everything = try await Self.events(harness, query: "limit=100")
            #expect(everything.count == 4)
            let allIDs = everything.compactMap { $0["id"] as? String }

            let first = try await harness.call(.GET, "/v1/events?limit=3")
            #expect(first.json["has_more"] as? Bool == true)
            let firstPage = try #require(first.json["data"] as? [[String: Any]]).compactMap { $0["id"] as? String }
            #expect(firstPage.count == 3)
            let cursor = try #require(first.json["next_cursor"] as? String)
            #expect(cursor == firstPage.last)
            let second = try await harness.call(.GET, "/v1/events?limit=3&starting_after=\(cursor)")
            #expect(second.json["has_more"] as? Bool == false)
            #expect(second.json["next_cursor"] is NSNull)
            let secondPage = try #require(second.json["data"] as? [[String: Any]]).compactMap { $0["id"] as? String }
            #expect(firstPage + secondPage == allIDs)

            let capturedEvents = try await Self.events(harness, query: "type=payment.captured")
            #expect(capturedEvents.count == 1)
            #expect(((capturedEvents.first?["data"] as? [String: Any])?["object"] as? [String: Any])?["id"] as? String == payments[0])
            let forFirst = try await Self.events(harness, query: "payment=\(payments[0])")
            #expect(forFirst.compactMap { $0["type"] as? String } == ["payment.captured", "payment.authorized"])
            let forSecond = try await Self.events(harness, query: "payment=\(payments[1])&type=payment.captured")
            #expect(forSecond.isEmpty)
            #expect(try await Self.events(harness, query: "payment=pay_nothing").isEmpty)
            #expect(try await Self.events(harness, query: "starting_after=evt_nothing").isEmpty)

            for query in ["limit=0", "limit=101", "limit=ten", "type="] {
                let answer = try await harness.call(.GET, "/v1/events?\(query)")
                #expect(answer.status == 400, "\(query): \(answer.text)")
                #expect(answer.errorCode == "parameter_invalid", "\(query)")
            }
            let unknown = try await harness.call(.GET, "/v1/events/evt_nothing")
            #expect(unknown.status == 404)
            #expect(try await harness.call(.GET, "/v1/events", key: harness.publishableKey).status == 403)
            #expect(try await harness.call(.GET, "/v1/events", key: "").status == 401)
        }
    }

    // MARK: Helpers

    /// Runs `body` with a webhook receiver, stopping it afterwards.
    static func withReceiver<T>(_ body: (WebhookReceiver) async throws -> T) async throws -> T {
        let receiver = try await WebhookReceiver.start()
        do {
            let value = try await body(receiver)
            await receiver.stop()
            return value
        } catch {
            await receiver.stop()
            throw error
        }
    }

    /// Creates an endpoint; returns its id and secret.
    /// A loopback URL's address is put on the daemon's allow-list first, as the operator of a
    /// sandbox would list a local receiver: without it, loopback is refused.
    static func endpoint(_ harness: DaemonHarness, url: String) async throws -> (id: String, secret: String) {
        if let destination = try? WebhookURLPolicy.parse(url), case .address(let address) = destination.host {
            harness.allowWebhooks(to: SocketEndpoint(address: address, port: destination.port))
        }
        let answer = try await harness.call(.POST, "/v1/webhook_endpoints", json: #"{"url": "\#(url)"}"#)
        guard answer.status == 201, let id = answer.json["id"] as? String, let secret = answer.json["secret"] as? String else {
            throw Failure(description: "creating an endpoint failed: HTTP \(answer.status) \(answer.text)")
        }
        return (id, secret)
    }

    /// Authorizes a payment with manual capture (exactly one event: `payment.authorized`).
    static func authorize(_ harness: DaemonHarness) async throws -> String {
        let token = try await harness.tokenize()
        let answer = try await harness.call(
            .POST, "/v1/payments", json: #"{"amount": 2500, "currency": "usd", "token": "\#(token)", "capture": "manual"}"#)
        guard answer.status == 201, let id = answer.json["id"] as? String else {
            throw Failure(description: "authorizing failed: HTTP \(answer.status) \(answer.text)")
        }
        return id
    }

    static func events(_ harness: DaemonHarness, query: String) async throws -> [[String: Any]] {
        let answer = try await harness.call(.GET, "/v1/events?\(query)")
        guard answer.status == 200, let data = answer.json["data"] as? [[String: Any]] else {
            throw Failure(description: "listing events failed: HTTP \(answer.status) \(answer.text)")
        }
        return data
    }

    /// The event once none of its deliveries is pending any more.
    static func settled(_ harness: DaemonHarness, eventID: String) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let answer = try await harness.call(.GET, "/v1/events/\(eventID)")
            let deliveries = answer.json["deliveries"] as? [[String: Any]] ?? []
            if answer.status == 200, !deliveries.contains(where: { $0["status"] as? String == "pending" }) {
                return answer.json
            }
            guard ContinuousClock.now < deadline else {
                throw Failure(description: "event \(eventID) still has pending deliveries: \(answer.text)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Checks `Till-Signature` from first principles: `v1` is the hex HMAC-SHA256 of
    /// `"<t>.<body>"` keyed by the whole `whsec_` secret, and `t` is a recent Unix time.
    static func signatureIsValid(_ received: WebhookReceiver.Received, secret: String) -> Bool {
        guard let header = received.headers["till-signature"] else { return false }
        var fields: [String: [String]] = [:]
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { return false }
            fields[pair[0], default: []].append(pair[1])
        }
        guard let t = fields["t"]?.first, let seconds = Double(t), let signatures = fields["v1"] else { return false }
        // Generous: this checks the field is a Unix time in seconds, not the clock.
        guard abs(Date().timeIntervalSince1970 - seconds) < 3600 else { return false }
        let expected = HMACSHA256.authenticationCode(for: Array("\(t).".utf8) + received.body, key: Array(secret.utf8))
        return signatures.contains(expected.hexString)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }
}
