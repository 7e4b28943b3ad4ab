import Foundation
import Testing
@testable import TillMail

@Suite("MIME encoding")
struct MIMEEncoderTests {
    static let date = Date(timeIntervalSince1970: 1_796_330_526)  // Thu, 03 Dec 2026 20:42:06 UTC

    static func invoice(
        subject: String = "請求書 12月",
        html: String? = "<p>ご請求書を添付します。</p>",
        attachments: [EmailAttachment]? = nil,
        to: [EmailAddress]? = nil
    ) throws -> EmailMessage {
        try EmailMessage(
            from: EmailAddress("Till 請求 <billing@till.example>"),
            to: to ?? [EmailAddress("山田 太郎 <taro@customer.example>")],
            replyTo: EmailAddress("support@till.example"),
            subject: subject,
            textBody: "山田様\n\nご請求書 inv_123 を添付します。\nTotal: 12,000 JPY = ¥12,000  \n",
            htmlBody: html,
            attachments: attachments ?? [EmailAttachment(filename: "請求書-2026-12.pdf", contentType: "application/pdf", data: pdfLikeBytes())],
            headers: [EmailHeader(name: "X-Till-Invoice", value: "inv_123")])
    }

    @Test("a Japanese subject becomes one UTF-8 B encoded-word")
    func japaneseSubject() throws {
        let data = try MIMEEncoder.encode(Self.invoice(), messageID: "<m1@till.example>", date: Self.date)
        let message = RawMessage(data)
        #expect(message.lines.contains("Subject: =?UTF-8?B?6KuL5rGC5pu4IDEy5pyI?="))
        #expect(decodeEncodedWords(try #require(message.header("Subject"))) == "請求書 12月")
        #expect(message.header("Date") == "Thu, 03 Dec 2026 20:42:06 +0000")
        #expect(message.header("Message-ID") == "<m1@till.example>")
        #expect(message.header("MIME-Version") == "1.0")
        #expect(message.header("X-Till-Invoice") == "inv_123")
        #expect(message.header("Reply-To") == "support@till.example")
        let to = try #require(message.header("To"))
        #expect(to.hasSuffix("<taro@customer.example>"))
        #expect(decodeEncodedWords(String(to.dropLast("<taro@customer.example>".count + 1))) == "山田 太郎")
    }

    @Test("long subjects fold into encoded-words of at most 75 characters and decode whole")
    func longSubject() throws {
        let subject = String(repeating: "ご請求書のお知らせ 🧾 ", count: 12)
        let data = try MIMEEncoder.encode(Self.invoice(subject: subject), messageID: "m@till.example", date: Self.date)
        let value = try #require(RawMessage(data).header("Subject"))
        let words = value.split(separator: " ")
        #expect(words.count > 1)
        #expect(words.allSatisfy { $0.count <= 75 && $0.hasPrefix("=?UTF-8?B?") })
        #expect(decodeEncodedWords(value).replacingOccurrences(of: " ", with: "") == subject.replacingOccurrences(of: " ", with: ""))
    }

    @Test("CR, LF and NUL are refused wherever they could inject a header")
    func headerInjection() throws {
        let from = try EmailAddress("billing@till.example")
        for subject in ["Invoice\r\nBcc: victim@evil.example", "Invoice\nBcc: x@evil.example", "Invoice\rX", "a\0b"] {
            let error = mailError { _ = try EmailMessage(from: from, to: [from], subject: subject, textBody: "") }
            #expect(error?.code == .headerInjection)
            #expect(error?.kind == .permanent)
        }
        #expect(mailError { _ = try EmailAddress("a@b.example\r\nBcc: c@d.example") }?.code == .headerInjection)
        #expect(mailError { _ = try EmailAddress(addrSpec: "a@b.example", displayName: "Eve\r\nBcc: x@y.example") }?.code == .headerInjection)
        #expect(mailError { _ = try EmailHeader(name: "X-Till-Note", value: "ok\r\nBcc: x@y.example") }?.code == .headerInjection)
        #expect(mailError { _ = try EmailHeader(name: "X-Till-A\r\nBcc", value: "x") }?.code == .headerInjection)
        #expect(mailError { _ = try EmailAttachment(filename: "a\r\n.pdf", contentType: "application/pdf", data: Data()) }?.code == .headerInjection)
        #expect(mailError { _ = try EmailAttachment(filename: "a.pdf", contentType: "application/pdf\r\nX: y", data: Data()) }?.code == .headerInjection)
        #expect(mailError { _ = try MIMEEncoder.encode(Self.invoice(), messageID: "<a@b>\r\nBcc: x@y", date: Self.date) }?.code == .headerInjection)
    }

    @Test("only allow-listed extra headers are accepted")
    func headerAllowList() throws {
        for name in ["Bcc", "From", "Content-Type", "MIME-Version", "X-Till-", "X-Other", "X Till Space"] {
            #expect(mailError { _ = try EmailHeader(name: name, value: "x") }?.code == .invalidMessage, "\(name)")
        }
        #expect(throws: Never.self) { _ = try EmailHeader(name: "X-Till-Dunning-Step", value: "2") }
        #expect(throws: Never.self) { _ = try EmailHeader(name: "Auto-Submitted", value: "auto-generated") }
        #expect(mailError { _ = try EmailHeader(name: "X-Till-Name", value: "請求") }?.code == .invalidMessage)
        let from = try EmailAddress("a@till.example")
        let twice = mailError {
            _ = try EmailMessage(from: from, to: [from], subject: "s", textBody: "",
                                 headers: [EmailHeader(name: "X-Till-A", value: "1"), EmailHeader(name: "x-till-a", value: "2")])
        }
        #expect(twice?.code == .invalidMessage)
    }

    @Test("a binary attachment's base64 round-trips, in lines of at most 76")
    func attachmentRoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        let random = Data((0..<5000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        for bytes in [pdfLikeBytes(), random, Data(), Data([0]), Data([0, 1]), Data([0xFF, 0xFE, 0xFD])] {
            let attachment = try EmailAttachment(filename: "invoice.pdf", contentType: "application/pdf", data: bytes)
            let data = try MIMEEncoder.encode(Self.invoice(attachments: [attachment]), messageID: "m@till.example", date: Self.date)
            let message = RawMessage(data)
            let contentType = try #require(message.header("Content-Type"))
            let boundary = try #require(RawMessage.boundary(in: contentType))
            let parts = RawMessage.parts(of: message.text, boundary: boundary)
            #expect(parts.count == 2)
            let part = try #require(parts.last)
            let headers = RawMessage.headers(of: part)
            #expect(headers["content-type"] == "application/pdf; name=\"invoice.pdf\"")
            #expect(headers["content-disposition"] == "attachment; filename=\"invoice.pdf\"")
            #expect(headers["content-transfer-encoding"] == "base64")
            let body = RawMessage.body(of: part)
            #expect(body.components(separatedBy: "\r\n").allSatisfy { $0.count <= 76 })
            #expect(Data(base64Encoded: body.replacingOccurrences(of: "\r\n", with: "")) == bytes)
            #expect(MIMEEncoder.base64(Array(bytes)) == bytes.base64EncodedString())
        }
    }

    @Test("a non-ASCII filename is an RFC 2231 parameter, continued when long")
    func rfc2231Filename() throws {
        let short = try EmailAttachment(filename: "請求書.pdf", contentType: "application/pdf", data: Data([1]))
        #expect(MIMEEncoder.parameterUnits("filename", short.filename) == ["filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8.pdf"])
        let long = String(repeating: "請求書", count: 10) + " 2026.pdf"
        let units = MIMEEncoder.parameterUnits("filename", long)
        #expect(units.count > 1)
        #expect(units.first?.hasPrefix("filename*0*=UTF-8''") == true)
        #expect(units.dropLast().allSatisfy { $0.hasSuffix(";") })
        let joined = units.enumerated().map { index, unit in
            String(unit.drop(while: { $0 != "=" }).dropFirst().replacingOccurrences(of: "UTF-8''", with: "").trimmingCharacters(in: CharacterSet(charactersIn: ";")))
        }.joined()
        #expect(joined.removingPercentEncoding == long)
        #expect(MIMEEncoder.parameterUnits("filename", "a \"b\".pdf") == ["filename=\"a \\\"b\\\".pdf\""])
    }

    @Test("every line ends in CRLF; header lines stay within 78, body lines within 76")
    func lineLengths() throws {
        let names = ["山田 太郎", "Ms. O'Brien, Accounts", "Jean-Éric Dupont", "plain", "=?not-a-word?="]
        let recipients = try (0..<50).map { index in
            try EmailAddress(addrSpec: "customer\(index)@example.com", displayName: names[index % names.count] + " \(index)")
        }
        let longLine = String(repeating: "Lorem ipsum dolor sit amet, 請求書 ", count: 40)
        let message = try EmailMessage(
            from: EmailAddress("Till <billing@till.example>"), to: recipients,
            subject: String(repeating: "Your invoice for December is ready ", count: 8),
            textBody: longLine + "\n" + String(repeating: "=", count: 300) + "\r\nend  \n",
            htmlBody: "<p>" + longLine + "</p>",
            attachments: [EmailAttachment(filename: String(repeating: "請求書", count: 20) + ".pdf", contentType: "application/pdf", data: pdfLikeBytes())])
        let data = try MIMEEncoder.encode(message, messageID: "lines@till.example", date: Self.date)
        #expect(!data.contains(where: { $0 >= 0x80 }), "the encoded message is 7-bit")
        let bytes = Array(data)
        for (index, byte) in bytes.enumerated() {
            if byte == 0x0A { #expect(index > 0 && bytes[index - 1] == 0x0D, "bare LF at \(index)") }
            if byte == 0x0D { #expect(index + 1 < bytes.count && bytes[index + 1] == 0x0A, "bare CR at \(index)") }
        }
        let text = RawMessage(data).text
        #expect(text.hasSuffix("\r\n"))
        let headerBlock = text.components(separatedBy: "\r\n\r\n")[0]
        for line in headerBlock.components(separatedBy: "\r\n") {
            #expect(line.utf8.count <= 78, "header line too long: \(line)")
        }
        for line in text.components(separatedBy: "\r\n") {
            #expect(line.utf8.count <= 998)
        }
        // Bodies: everything after the top-level header block is part headers (short) or
        // quoted-printable and base64 content.
        for line in text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n").components(separatedBy: "\r\n") {
            #expect(line.utf8.count <= 78, "body line too long: \(line)")
            if !line.contains(":"), !line.hasPrefix("--"), !line.hasPrefix(" ") {
                #expect(line.utf8.count <= 76, "content line too long: \(line)")
            }
        }
        let to = try #require(RawMessage(data).header("To"))
        #expect(to.components(separatedBy: ">,").count == 50)
    }

    @Test("quoted-printable round-trips text and encodes what it must")
    func quotedPrintable() {
        let text = "Total = ¥12,000  \nTab\t\n" + String(repeating: "長い行", count: 40) + "\r\nlast"
        let encoded = String(decoding: MIMEEncoder.quotedPrintable(text), as: UTF8.self)
        #expect(encoded.contains("Total =3D =C2=A512,000 =20\r\n"))
        #expect(encoded.contains("Tab=09\r\n"))
        #expect(encoded.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 76 })
        let expected = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        #expect(String(decoding: decodeQuotedPrintable(encoded), as: UTF8.self) == expected)
    }

    @Test("the output is a pure function of message, Message-ID and date")
    func deterministic() throws {
        let message = try Self.invoice()
        let first = try MIMEEncoder.encode(message, messageID: "<same@till.example>", date: Self.date)
        let second = try MIMEEncoder.encode(message, messageID: "same@till.example", date: Self.date)
        #expect(first == second)
        let other = try MIMEEncoder.encode(message, messageID: "other@till.example", date: Self.date)
        let boundary = RawMessage.boundary(in: RawMessage(first).header("Content-Type") ?? "")
        let otherBoundary = RawMessage.boundary(in: RawMessage(other).header("Content-Type") ?? "")
        #expect(boundary != nil && boundary != otherBoundary)
        #expect(boundary?.hasPrefix("=_") == true)
    }

    @Test("structure: text alone, text and HTML as alternatives, both inside mixed with attachments")
    func structure() throws {
        let textOnly = RawMessage(try MIMEEncoder.encode(Self.invoice(html: nil, attachments: []), messageID: "a@t.example", date: Self.date))
        #expect(textOnly.header("Content-Type") == "text/plain; charset=utf-8")
        #expect(textOnly.header("Content-Transfer-Encoding") == "quoted-printable")

        let alternative = RawMessage(try MIMEEncoder.encode(Self.invoice(attachments: []), messageID: "b@t.example", date: Self.date))
        let alternativeType = try #require(alternative.header("Content-Type"))
        #expect(alternativeType.hasPrefix("multipart/alternative;"))
        let alternatives = RawMessage.parts(of: alternative.text, boundary: try #require(RawMessage.boundary(in: alternativeType)))
        #expect(alternatives.map { RawMessage.headers(of: $0)["content-type"] } == ["text/plain; charset=utf-8", "text/html; charset=utf-8"])
        let html = String(decoding: decodeQuotedPrintable(RawMessage.body(of: alternatives[1])), as: UTF8.self)
        #expect(html == "<p>ご請求書を添付します。</p>")

        let mixed = RawMessage(try MIMEEncoder.encode(Self.invoice(), messageID: "c@t.example", date: Self.date))
        let mixedType = try #require(mixed.header("Content-Type"))
        #expect(mixedType.hasPrefix("multipart/mixed;"))
        let parts = RawMessage.parts(of: mixed.text, boundary: try #require(RawMessage.boundary(in: mixedType)))
        #expect(parts.count == 2)
        #expect(RawMessage.headers(of: parts[0])["content-type"]?.hasPrefix("multipart/alternative;") == true)
        #expect(RawMessage.headers(of: parts[1])["content-disposition"] == "attachment; filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8-2026-12.pdf")
    }

    @Test("limits: recipients, encoded subject length, total size")
    func limits() throws {
        let from = try EmailAddress("a@till.example")
        #expect(mailError { _ = try EmailMessage(from: from, to: [], subject: "s", textBody: "") }?.code == .invalidMessage)
        #expect(mailError { _ = try EmailMessage(from: from, to: Array(repeating: from, count: 51), subject: "s", textBody: "") }?.code == .invalidMessage)
        // 400 kanji are 1200 bytes of UTF-8, about 1700 once encoded.
        let long = try EmailMessage(from: from, to: [from], subject: String(repeating: "請", count: 400), textBody: "")
        #expect(mailError { _ = try MIMEEncoder.encode(long, messageID: "a@b.example", date: Self.date) }?.code == .invalidMessage)
        let ascii = try EmailMessage(from: from, to: [from], subject: String(repeating: "a", count: 999), textBody: "")
        #expect(mailError { _ = try MIMEEncoder.encode(ascii, messageID: "a@b.example", date: Self.date) }?.code == .invalidMessage)

        let big = try EmailAttachment(filename: "big.bin", contentType: "application/octet-stream", data: Data(count: 8 * 1024 * 1024))
        let early = mailError { _ = try EmailMessage(from: from, to: [from], subject: "s", textBody: "", attachments: [big]) }
        #expect(early?.code == .messageTooLarge)
        #expect(early?.kind == .permanent)
        let small = try EmailAttachment(filename: "a.bin", contentType: "application/octet-stream", data: Data(count: 3000))
        let near = try EmailMessage(from: from, to: [from], subject: "s", textBody: "", attachments: [small], maxSize: 4100)
        #expect(mailError { _ = try MIMEEncoder.encode(near, messageID: "a@b.example", date: Self.date) }?.code == .messageTooLarge)
    }

    @Test("dates are RFC 5322 in UTC, before and after 1970")
    func dates() {
        #expect(MIMEEncoder.rfc5322Date(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(MIMEEncoder.rfc5322Date(Date(timeIntervalSince1970: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 +0000")
        #expect(MIMEEncoder.rfc5322Date(Date(timeIntervalSince1970: -1)) == "Wed, 31 Dec 1969 23:59:59 +0000")
    }
}
