import Foundation
import Testing
@testable import TillMail

@Suite("Addresses, configuration and the mailbox")
struct AddressAndConfigurationTests {
    @Test("addresses parse with and without display names")
    func parsing() throws {
        let named = try EmailAddress("Till Billing <billing@till.example>")
        #expect(named.addrSpec == "billing@till.example")
        #expect(named.displayName == "Till Billing")
        let bare = try EmailAddress("  billing@till.example ")
        #expect(bare.addrSpec == "billing@till.example" && bare.displayName == nil)
        let bracketed = try EmailAddress("<a.b+tag@sub.till.example>")
        #expect(bracketed.addrSpec == "a.b+tag@sub.till.example" && bracketed.displayName == nil)
        let quoted = try EmailAddress("\"Acme, \\\"Inc.\\\"\" <ap@acme.example>")
        #expect(quoted.displayName == "Acme, \"Inc.\"")
        let japanese = try EmailAddress("山田 太郎 <taro@customer.example>")
        #expect(japanese.displayName == "山田 太郎")
        #expect(try EmailAddress("root@localhost").addrSpec == "root@localhost")
        #expect(try EmailAddress("x@[127.0.0.1]").addrSpec == "x@[127.0.0.1]")
    }

    @Test("invalid addresses are refused", arguments: [
        "", "no-at-sign", "@till.example", "a@", "a b@till.example", "a@till .example", "a..b@till.example",
        ".a@till.example", "a.@till.example", "山田@till.example", "a@例え.jp", "a@-till.example",
        "a<b@till.example", "Name <a@b.example", "\"a\"@till.example", "a@till.example>", "a,b@till.example",
    ])
    func invalid(_ text: String) {
        #expect(mailError { _ = try EmailAddress(text) }?.code == .invalidAddress, "\(text)")
    }

    @Test("addresses are at most 254 bytes, local parts 64")
    func lengths() throws {
        let label = String(repeating: "d", count: 63)
        let domain = [label, label, label].joined(separator: ".") + ".example"  // 199 bytes
        let local = String(repeating: "l", count: 54)
        #expect(try EmailAddress(addrSpec: "\(local)@\(domain)").addrSpec.utf8.count == 254)
        #expect(mailError { _ = try EmailAddress(addrSpec: "\(local)x@\(domain)") }?.code == .invalidAddress)
        #expect(mailError { _ = try EmailAddress(addrSpec: String(repeating: "l", count: 65) + "@till.example") }?.code == .invalidAddress)
    }

    @Test("SMTP URLs are validated with errors that name the field")
    func urls() throws {
        let good = try SMTPConfiguration(url: "smtp://mail.till.example:2525", heloName: "till.example")
        #expect(good.host == "mail.till.example" && good.port == 2525 && !good.implicitTLS)
        #expect(good.curlURL == "smtp://mail.till.example:2525/till.example")
        let tls = try SMTPConfiguration(url: "smtps://[::1]")
        #expect(tls.implicitTLS && tls.port == 465 && tls.curlURL == "smtps://[::1]:465/")
        #expect(try SMTPConfiguration(url: "smtp://127.0.0.1/").port == 587)
        for url in ["http://mail.till.example", "smtp://", "smtp://user:secret@mail.till.example", "smtp://mail.till.example:0",
                    "smtp://mail.till.example:99999", "smtp://mail.till.example/path", "smtp://mail.till.example?x=1",
                    "smtp://mail till.example", "smtp://[::1", "mail.till.example:25"] {
            let error = mailError { _ = try SMTPConfiguration(url: url) }
            #expect(error?.code == .invalidConfiguration, "\(url)")
            #expect(error?.message.hasPrefix("SMTPConfiguration.url") == true)
            #expect(error?.message.contains("secret") == false)
        }
        #expect(mailError { _ = try SMTPConfiguration(url: "smtp://a.example", password: "pw") }?.message.contains("password") == true)
        #expect(mailError { _ = try SMTPConfiguration(url: "smtp://a.example", heloName: "bad name") }?.code == .invalidConfiguration)
        #expect(mailError { _ = try SMTPConfiguration(url: "smtp://a.example", connectTimeout: .seconds(10), totalTimeout: .seconds(5)) }?.code == .invalidConfiguration)
    }

    @Test("a configuration's description never shows the password")
    func redaction() throws {
        let configuration = try SMTPConfiguration(url: "smtp://mail.till.example:587", username: "till", password: "hunter2-secret")
        #expect(!configuration.description.contains("hunter2"))
        #expect(!"\(configuration)".contains("hunter2"))
        #expect(configuration.description.contains("till"))
    }

    @Test("STARTTLS modes map to CURLOPT_USE_SSL; smtps is always TLS")
    func startTLS() throws {
        // CURLUSESSL_NONE, _TRY, _ALL are 0, 1, 3.
        #expect(try SMTPConfiguration(url: "smtp://a.example", startTLS: .never).curlUseSSL == 0)
        #expect(try SMTPConfiguration(url: "smtp://a.example", startTLS: .ifAvailable).curlUseSSL == 1)
        #expect(try SMTPConfiguration(url: "smtp://a.example").curlUseSSL == 3)
        #expect(try SMTPConfiguration(url: "smtps://a.example", startTLS: .never).curlUseSSL == 3)
    }

    @Test("the mailbox keeps the last N messages and refuses oversized ones")
    func mailbox() async throws {
        let mailbox = MailboxTransport(capacity: 3, maxMessageSize: 100)
        let from = try EmailAddress("billing@till.example")
        for index in 1...5 {
            let envelope = try MailEnvelope(from: from, recipients: [EmailAddress("c\(index)@customer.example")])
            try await mailbox.send(envelope, message: Data("message \(index)\r\n".utf8))
        }
        let kept = await mailbox.messages
        #expect(kept.map(\.id) == [3, 4, 5])
        #expect(kept.map { String(decoding: $0.message, as: UTF8.self) } == ["message 3\r\n", "message 4\r\n", "message 5\r\n"])
        #expect(await mailbox.message(id: 4)?.envelope.recipients.first?.addrSpec == "c4@customer.example")
        #expect(await mailbox.message(id: 1) == nil)
        #expect(await mailbox.messages(to: "C5@customer.example").map(\.id) == [5])
        let envelope = try MailEnvelope(from: from, recipients: [from])
        await #expect(throws: MailError.self) { try await mailbox.send(envelope, message: Data(count: 101)) }
        await mailbox.removeAll()
        #expect(await mailbox.messages.isEmpty)
    }

    @Test("the mailbox takes an encoded message through the MailTransport extension")
    func mailboxEncodes() async throws {
        let mailbox = MailboxTransport()
        let message = try MIMEEncoderTests.invoice()
        let sent = try await mailbox.send(message, messageID: "mb@till.example", date: MIMEEncoderTests.date)
        let delivered = try #require(await mailbox.messages.first)
        #expect(delivered.message == sent)
        #expect(delivered.envelope.from.addrSpec == "billing@till.example")
        #expect(delivered.envelope.recipients.map(\.addrSpec) == ["taro@customer.example"])
    }
}
