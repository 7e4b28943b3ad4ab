import Foundation
import Testing
import TillServer

@Suite("The webhook URL policy on its own (pure)")
struct WebhookURLPolicyTests {
    static let production = WebhookURLPolicy()
    static let sandbox = WebhookURLPolicy(allowsPlainHTTP: true)

    /// Every form of an internal destination the review tried, and more of the same families.
    static let attacks = [
        "http://127.0.0.1:8081/_sandbox/reset", "http://127.0.0.1:8080/v1/payments", "http://169.254.169.254/latest/meta-data/",
        "http://2130706433/", "http://0x7f.1/", "http://0x7f000001/", "http://017700000001/", "http://0177.0.0.1/",
        "http://127.1/", "http://127.0.1/", "http://0/", "http://0.0.0.0/", "http://[::1]/", "http://[::]/",
        "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[0:0:0:0:0:ffff:169.254.169.254]/",
        "http://[::127.0.0.1]/", "http://[64:ff9b::7f00:1]/", "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:7f00:1::]/",
        "http://[2002:a9fe:a9fe::1]/", "http://[fc00::1]/", "http://[fd12:3456::1]/", "http://[fe80::1]/", "http://[ff02::1]/",
        "http://10.0.0.5:6379/", "http://172.16.0.1/", "http://172.31.255.255/", "http://192.168.1.1/", "http://100.64.0.1/",
        "http://100.127.255.254/", "http://198.18.0.1/", "http://198.19.255.255/", "http://192.0.2.1/", "http://198.51.100.7/",
        "http://203.0.113.9/", "http://224.0.0.1/", "http://239.255.255.250/", "http://240.0.0.1/", "http://255.255.255.255/",
        "http://192.0.0.8/", "http://localhost:8080/", "http://LOCALHOST/", "http://api.localhost/", "http://a.b.localhost:9/",
        "http://0xa9.0xfe.0xa9.0xfe/", "http://0xA9FEA9FE/", "http://2852039166/", "http://0251.0376.0251.0376/",
        "http://[2001:db8::1]/", "http://[2001::1]/", "http://[100::1]/", "http://[fec0::1]/",
        "http://shop.example/_sandbox/reset", "http://shop.example/_SANDBOX/reset", "http://shop.example/%5fsandbox/reset",
    ]

    @Test("every attack URL is refused outside sandbox mode and in sandbox mode without an allow-list entry", arguments: attacks)
    func attacksAreRefused(url: String) {
        for policy in [Self.production, Self.sandbox, Self.sandbox.allowing("127.0.0.1:9000"), Self.httpsOnlyAllowing9000] {
            #expect(throws: WebhookURLPolicy.Refusal.self, "\(url)") { try policy.check(url: url) }
        }
        // The https variant fails too: the scheme is not what stops it.
        let https = url.replacingFirst("http://", with: "https://")
        #expect(throws: WebhookURLPolicy.Refusal.self, "\(https)") { try Self.production.check(url: https) }
    }

    static let httpsOnlyAllowing9000 = WebhookURLPolicy(allowed: [SocketEndpoint("127.0.0.1:9000")].compactMap { $0 }.asSet)

    @Test("refusals say which rule, with url_not_allowed for destinations and url_invalid for unreadable URLs")
    func refusalKinds() throws {
        #expect(Self.refusal("http://0x7f.1/")?.kind == .notAllowed)
        #expect(Self.refusal("http://0x7f.1/")?.reason.contains("loopback") == true)
        #expect(Self.refusal("http://169.254.169.254/")?.reason.contains("link-local") == true)
        #expect(Self.refusal("http://[::ffff:127.0.0.1]/")?.kind == .notAllowed)
        #expect(Self.refusal("http://127.0.0.1:8081/_sandbox/reset")?.kind == .notAllowed)
        #expect(Self.refusal("http://shop.example/hooks", Self.production)?.reason.contains("https") == true)
        for invalid in [
            "ftp://shop.example/", "shop.example/hooks", "https://", "https://user:pw@shop.example/", "https://shop.example/#x",
            "https://shop.example/a b", "https://shop.example\\@evil.example/", "https://shop.example:0/",
            "https://shop.example:65536/", "https://shop.example:/", "https://shop.example:+443/", "https://[::1%25eth0]/",
            "https://shop.example./", "https://sh_op.example/", "https://-shop.example/", "https://shöp.example/",
            "https://shop.example/%zz", "https://shop.example/a/../b", "https://shop.example/%2e%2e/b", "https://1.2.3.4.5/",
            "https://256.1.1.1/", "https://1.2.3.0x/", "https://8.8.8.010/", "https://0x08080808/", "https://134744072/",
            "https://[1.2.3.4]/", "https://[::1]x/", "https://" + String(repeating: "a", count: 2048) + ".example/",
        ] {
            #expect(Self.refusal(invalid, Self.sandbox) != nil, "\(invalid)")
        }
        // A public address written oddly is not guessed at: only the stored form is accepted.
        #expect(Self.refusal("https://0x08080808/")?.kind == .invalid)
    }

    @Test("public names and addresses pass, stored with a lowercase scheme and host")
    func publicDestinations() throws {
        let cases: [(String, String)] = [
            ("https://shop.example/hooks?x=1", "https://shop.example/hooks?x=1"),
            ("HTTPS://Shop.Example:8443/Hooks", "https://shop.example:8443/Hooks"),
            ("https://93.184.216.34/x", "https://93.184.216.34/x"),
            ("https://[2606:2800:220:1:248:1893:25c8:1946]/", "https://[2606:2800:220:1:248:1893:25c8:1946]/"),
            ("https://[64:ff9b::5db8:d822]/", "https://[64:ff9b::5db8:d822]/"),
            ("https://xn--shp-sna.example/", "https://xn--shp-sna.example/"),
            ("https://1.example/", "https://1.example/"),
        ]
        for (url, stored) in cases {
            #expect(try Self.production.check(url: url).url == stored)
        }
        #expect(try Self.sandbox.check(url: "http://shop.example/hooks").port == 80)
    }

    @Test("an allow-listed loopback address:port passes in sandbox mode; its neighbours, the admin paths and the daemon do not")
    func allowList() throws {
        let own = try #require(SocketEndpoint("127.0.0.1:8080"))
        var policy = Self.sandbox.allowing("127.0.0.1:9000", "[::1]:9000")
        policy.own = [own]
        #expect(try policy.check(url: "http://127.0.0.1:9000/hooks").url == "http://127.0.0.1:9000/hooks")
        #expect(try policy.check(url: "http://127.1:9000/hooks").url == "http://127.0.0.1:9000/hooks")
        #expect(try policy.check(url: "http://[::1]:9000/hooks").url == "http://[::1]:9000/hooks")
        #expect(throws: WebhookURLPolicy.Refusal.self) { try policy.check(url: "http://127.0.0.1:9001/hooks") }
        #expect(throws: WebhookURLPolicy.Refusal.self) { try policy.check(url: "http://127.0.0.2:9000/hooks") }
        #expect(throws: WebhookURLPolicy.Refusal.self) { try policy.check(url: "http://127.0.0.1:9000/_sandbox/reset") }
        #expect(throws: WebhookURLPolicy.Refusal.self) { try policy.check(url: "http://localhost:9000/hooks") }
        // The operator listing the daemon's own address does not open the API to merchants.
        policy.allowed.insert(own)
        #expect(throws: WebhookURLPolicy.Refusal.self) { try policy.check(url: "http://127.0.0.1:8080/v1/payments") }
        // A daemon on 0.0.0.0 answers on every local address at its port.
        let wildcard = WebhookURLPolicy(
            allowsPlainHTTP: true, allowed: [SocketEndpoint("10.0.0.7:8080")].compactMap { $0 }.asSet,
            own: [SocketEndpoint("0.0.0.0:8080")].compactMap { $0 }.asSet)
        #expect(wildcard.check(.v4(0x0A00_0007), port: 8080) != nil)
        #expect(wildcard.check(.v4(0x5DB8_D822), port: 8080) == nil)
    }

    @Test("IPv4 literals are read the way inet_aton reads them")
    func inetAton() {
        let cases: [(String, UInt32?)] = [
            ("127.0.0.1", 0x7F00_0001), ("127.1", 0x7F00_0001), ("127.0.1", 0x7F00_0001), ("0x7f.1", 0x7F00_0001),
            ("0x7f000001", 0x7F00_0001), ("017700000001", 0x7F00_0001), ("2130706433", 0x7F00_0001),
            ("0177.0.0.01", 0x7F00_0001), ("0", 0), ("0x", nil), ("0x0", 0), ("0x.1", nil), ("0xffffffff", 0xFFFF_FFFF), ("4294967296", nil),
            ("256.0.0.1", nil), ("1.2.3.4.5", nil), ("1..2", nil), ("08", nil), ("0x1g", nil), ("1.2.65536", nil),
            ("1.2.65535", 0x0102_FFFF), ("", nil),
            (String(repeating: "0", count: 58), 0), ("0x" + String(repeating: "0", count: 40) + "7f000001", 0x7F00_0001),
            ("1." + String(repeating: "0", count: 40) + "1", 0x0100_0001), (String(repeating: "0", count: 40) + "8", nil),
        ]
        for (text, value) in cases {
            #expect(WebhookURLPolicy.inetAton(text) == value, "\(text)")
        }
    }

    @Test("address classes: public unicast only")
    func classes() throws {
        let refused = ["0.1.2.3", "10.1.1.1", "100.64.0.0", "127.255.255.255", "169.254.0.1", "172.20.0.1", "192.168.0.1",
                       "198.18.5.5", "224.1.1.1", "255.255.255.255", "::", "::1", "fe80::1", "fc00::", "ff00::", "::ffff:8.8.8.8",
                       "2001:db8::", "3fff::1", "64:ff9b:1::1"]
        for text in refused {
            let address = try #require(IPAddress(numeric: text), "\(text)")
            #expect(WebhookURLPolicy.refusedRange(address) != nil, "\(text)")
        }
        let allowed = ["8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.0", "172.32.0.1", "198.20.0.1", "223.255.255.255",
                       "2606:4700::1111", "2a00:1450:4001::1", "64:ff9b::808:808", "2002:808:808::1"]
        for text in allowed {
            let address = try #require(IPAddress(numeric: text), "\(text)")
            #expect(WebhookURLPolicy.refusedRange(address) == nil, "\(text)")
        }
    }

    @Test("allow-list entries are an address literal and a port")
    func endpoints() {
        #expect(SocketEndpoint("127.0.0.1:9000")?.description == "127.0.0.1:9000")
        #expect(SocketEndpoint("[::1]:9000")?.description == "[::1]:9000")
        for bad in ["localhost:9000", "127.0.0.1", "127.1:9000", "::1:9000", "[::1]", "127.0.0.1:0", "127.0.0.1:65536", "1.2.3.4:x"] {
            #expect(SocketEndpoint(bad) == nil, "\(bad)")
        }
    }

    static func refusal(_ url: String, _ policy: WebhookURLPolicy = sandbox) -> WebhookURLPolicy.Refusal? {
        do {
            _ = try policy.check(url: url)
            return nil
        } catch {
            return error
        }
    }
}

extension WebhookURLPolicy {
    func allowing(_ entries: String...) -> WebhookURLPolicy {
        var copy = self
        copy.allowed.formUnion(entries.compactMap(SocketEndpoint.init))
        return copy
    }
}

extension Array where Element: Hashable {
    var asSet: Set<Element> { Set(self) }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
