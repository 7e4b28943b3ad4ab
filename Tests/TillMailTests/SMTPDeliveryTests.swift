import Foundation
import Testing
import TillMail

/// Real SMTP over loopback: SMTPTransport (libcurl) against aiosmtpd, whose side parses what
/// arrived with Python's email package.
@Suite("SMTP delivery over loopback", .serialized)
struct SMTPDeliveryTests {
    @Test("an invoice with a Japanese subject and a PDF arrives intact")
    func deliversInvoice() async throws {
        let message = try MIMEEncoderTests.invoice()
        let pdf = pdfLikeBytes()
        try await withSMTPSink { sink in
            let transport = try SMTPTransport(configuration: sink.configuration())
            let sent = try await transport.send(message, messageID: "<inv_123.1@till.example>", date: MIMEEncoderTests.date)

            let received = try sink.received()
            try #require(received.count == 1)
            let delivery = received[0]
            #expect(delivery.json["parse_error"] == nil)
            #expect(delivery.mailFrom == "billing@till.example")
            #expect(delivery.rcptTos == ["taro@customer.example"])
            // The bytes the server got are the bytes encoded (dot-stuffing undone by the server).
            #expect(delivery.raw == sent || delivery.raw + Data("\r\n".utf8) == sent)

            let parsed = delivery.parsed
            #expect(parsed["subject"] as? String == "請求書 12月")
            #expect(parsed["from"] as? [[String]] == [["Till 請求", "billing@till.example"]])
            #expect(parsed["to"] as? [[String]] == [["山田 太郎", "taro@customer.example"]])
            #expect(parsed["reply_to"] as? [[String]] == [["", "support@till.example"]])
            #expect(parsed["message_id"] as? String == "<inv_123.1@till.example>")
            #expect(parsed["date"] as? String == "Thu, 03 Dec 2026 20:42:06 +0000")
            #expect(parsed["content_type"] as? String == "multipart/mixed")
            #expect(parsed["part_types"] as? [String] == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/pdf"])
            #expect(parsed["headers"] as? [String: String] == ["X-Till-Invoice": "inv_123"])
            #expect(parsed["defects"] as? [String] == [])
            // The encoder sends CRLF line ends, which Python's email keeps in the content.
            #expect((parsed["text"] as? String)?.replacingOccurrences(of: "\r\n", with: "\n") == message.textBody)
            #expect(parsed["html"] as? String == "<p>ご請求書を添付します。</p>\n" || parsed["html"] as? String == "<p>ご請求書を添付します。</p>")

            let attachments = try #require(parsed["attachments"] as? [[String: Any]])
            try #require(attachments.count == 1)
            #expect(attachments[0]["filename"] as? String == "請求書-2026-12.pdf")
            #expect(attachments[0]["content_type"] as? String == "application/pdf")
            let bytes = (attachments[0]["data_base64"] as? String).flatMap { Data(base64Encoded: $0) }
            #expect(bytes == pdf)

            let lines = String(decoding: delivery.raw, as: UTF8.self).components(separatedBy: "\r\n")
            #expect(lines.allSatisfy { $0.utf8.count <= 998 })
        }
    }

    @Test("a recipient refused with 550 is permanent, and nothing is delivered to the others")
    func rejected550() async throws {
        try await withSMTPSink { sink in
            let transport = try SMTPTransport(configuration: sink.configuration())
            let envelope = try MailEnvelope(
                from: EmailAddress("billing@till.example"),
                recipients: [EmailAddress("ok@customer.example"), EmailAddress("reject-me@customer.example")])
            let error = await sendError(transport, envelope)
            #expect(error?.kind == .permanent)
            #expect(error?.code == .recipientRejected)
            #expect(error?.smtpReplyCode == 550)
            #expect(try sink.received().isEmpty)
        }
    }

    @Test("a recipient deferred with 451 is transient")
    func deferred451() async throws {
        try await withSMTPSink { sink in
            let transport = try SMTPTransport(configuration: sink.configuration())
            let envelope = try MailEnvelope(from: EmailAddress("billing@till.example"), recipients: [EmailAddress("defer@customer.example")])
            let error = await sendError(transport, envelope)
            #expect(error?.kind == .transient)
            #expect(error?.code == .recipientRejected)
            #expect(error?.smtpReplyCode == 451)
            #expect(try sink.received().isEmpty)
        }
    }

    @Test("no server listening is transient")
    func notListening() async throws {
        let port = try closedLoopbackPort()
        let transport = try SMTPTransport(configuration: SMTPConfiguration(url: "smtp://127.0.0.1:\(port)", startTLS: .never))
        let envelope = try MailEnvelope(from: EmailAddress("billing@till.example"), recipients: [EmailAddress("a@customer.example")])
        let error = await sendError(transport, envelope)
        #expect(error?.kind == .transient)
        #expect(error?.code == .connectionFailed)
        #expect(error?.smtpReplyCode == nil)
    }

    @Test("AUTH: the right password delivers; a wrong one fails without the password in the error")
    func authentication() async throws {
        try await withSMTPSink(user: "till", password: "right-horse-battery") { sink in
            let envelope = try MailEnvelope(from: EmailAddress("billing@till.example"), recipients: [EmailAddress("a@customer.example")])
            let good = try SMTPTransport(configuration: sink.configuration(username: "till", password: "right-horse-battery"))
            try await good.send(envelope, message: Data("Subject: hi\r\n\r\nhello\r\n".utf8))
            #expect(try sink.received().count == 1)

            let bad = try SMTPTransport(configuration: sink.configuration(username: "till", password: "wrong-staple-secret"))
            let error = await sendError(bad, envelope)
            #expect(error?.code == .authenticationFailed)
            #expect(error?.smtpReplyCode == 535)
            #expect(error.map { "\($0)".contains("wrong-staple-secret") } == false)
            #expect(try sink.received().count == 1)
        }
    }

    @Test("a message over the configured limit is refused before connecting")
    func tooLarge() async throws {
        let port = try closedLoopbackPort()
        let transport = try SMTPTransport(configuration: SMTPConfiguration(url: "smtp://127.0.0.1:\(port)", startTLS: .never, maxMessageSize: 1000))
        let envelope = try MailEnvelope(from: EmailAddress("billing@till.example"), recipients: [EmailAddress("a@customer.example")])
        let error = await sendError(transport, envelope, message: Data(count: 1001))
        #expect(error?.code == .messageTooLarge)
        #expect(error?.kind == .permanent)
    }

    private func sendError(_ transport: SMTPTransport, _ envelope: MailEnvelope,
                           message: Data = Data("Subject: test\r\n\r\nbody\r\n".utf8)) async -> MailError? {
        do {
            try await transport.send(envelope, message: message)
            Issue.record("the send succeeded")
            return nil
        } catch let error as MailError {
            return error
        } catch {
            Issue.record("not a MailError: \(error)")
            return nil
        }
    }
}
