import Foundation
import TillBilling
import Testing
@testable import TillDocuments

/// Renders every language to PDF and PNG and reads the text back with the tools a reader
/// would trust: poppler's pdftotext for the PDF's exact text, tesseract OCR for the pixels.
@Suite("Invoice documents rendered in five languages")
struct DocumentRenderingTests {
    /// What each language's invoice must say, exactly as formatted.
    static func expectations(_ c: DocumentFixtures.Case) -> (title: String, total: String, due: String, words: [String]) {
        switch c.locale {
        case .en: ("Invoice", "$4,355.00", "February 14, 2024", ["Amount due", "Sales tax", "Ada Lovelace", "Tax rounded per line, half to even"])
        case .de: ("Rechnung", "4.760,00\u{A0}€", "14. Februar 2024", ["Fälliger Betrag", "MwSt.", "Jürgen Weiß", "anteilig"])
        case .fr: ("Facture", "4\u{202F}800,00\u{A0}€", "14 février 2024", ["Montant dû", "TVA", "Hélène Dupré", "au prorata"])
        case .es: ("Factura", "4840,00\u{A0}€", "14 de febrero de 2024", ["Importe adeudado", "IVA", "Íñigo Muñoz", "prorrateado"])
        case .ja: ("請求書", "¥44,000", "2024年2月15日", ["ご請求金額", "消費税", "佐藤 花子", "日割り"])
        }
    }

    @Test("the model carries the formatted totals and due date in the customer's timezone", arguments: DocumentFixtures.cases)
    func model(_ c: DocumentFixtures.Case) throws {
        let model = try DocumentFixtures.model(c)
        let expected = Self.expectations(c)
        #expect(model.title == expected.title)
        #expect(model.amountDue == expected.total)
        #expect(model.dueDate == expected.due)
        #expect(model.totals.last?.emphasized == true)
        #expect(model.number == "NW-0042")
    }

    @Test("the PDF's text (pdftotext) has the labels, names and amounts exactly", arguments: DocumentFixtures.cases)
    func pdfText(_ c: DocumentFixtures.Case) throws {
        let pdf = try DocumentRenderer.pdf(try DocumentFixtures.model(c))
        #expect(pdf.starts(with: Array("%PDF-".utf8)))
        // pdftotext writes no-break spaces as plain ones, and guesses spaces where a line
        // switches between the Latin and the Japanese font; the formatter's exact spaces are
        // checked in DocumentFormatterTests, so here only the characters are compared.
        let extracted = try Tools.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input: pdf)
        let text = Tools.squeezed(extracted)
        let expected = Self.expectations(c)
        for word in [expected.title, expected.total, expected.due, "NW-0042", "Northwind Tools GmbH", "DE123456789"] + expected.words {
            #expect(text.contains(Tools.squeezed(word)), "\(c.locale): “\(word)” not in the PDF's text:\n\(extracted)")
        }
    }

    @Test("the same document re-renders to the same PDF bytes")
    func deterministic() throws {
        let model = try DocumentFixtures.model(DocumentFixtures.cases[1])
        #expect(try DocumentRenderer.pdf(model) == DocumentRenderer.pdf(model))
    }

    @Test("the PNG page, read by OCR, shows the title, the number and the amount due", arguments: DocumentFixtures.cases)
    func pngText(_ c: DocumentFixtures.Case) throws {
        let png = try DocumentRenderer.png(try DocumentFixtures.model(c), scale: 3)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        let artifacts = Tools.artifacts.appendingPathComponent("invoice-\(c.locale.rawValue).png")
        try? png.write(to: artifacts)
        let language = ["en": "eng", "de": "deu", "fr": "fra", "es": "spa", "ja": "jpn+eng"][c.locale.rawValue] ?? "eng"
        let seen = Tools.squeezed(try Tools.run(["tesseract", "stdin", "stdout", "-l", language, "--psm", "4"], input: png))
        let expected = Self.expectations(c)
        // OCR reads glyphs, not spacing: compare without any whitespace.
        for word in [expected.title, "NW-0042", expected.total, expected.words[0]] {
            #expect(seen.contains(Tools.squeezed(word)), "\(c.locale): OCR did not read “\(word)”:\n\(seen)")
        }
    }

    @Test("each language's layout matches its golden (TILL_UPDATE_GOLDENS=1 rewrites them)", arguments: DocumentFixtures.cases)
    func golden(_ c: DocumentFixtures.Case) throws {
        let layout = try DocumentRenderer.layout(try DocumentFixtures.model(c))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let rounded = Tools.rounded(layout)
        let bytes = try encoder.encode(rounded) + Data("\n".utf8)
        let url = Tools.goldens.appendingPathComponent("invoice-\(c.locale.rawValue).json")
        if ProcessInfo.processInfo.environment["TILL_UPDATE_GOLDENS"] == "1" {
            try bytes.write(to: url)
            return
        }
        let golden = try #require(try? Data(contentsOf: url), "no golden at \(url.path); run with TILL_UPDATE_GOLDENS=1")
        let stored = try JSONDecoder().decode(DocumentLayout.self, from: golden)
        #expect(stored.pageCount == rounded.pageCount)
        #expect(stored.items.count == rounded.items.count)
        for (old, new) in zip(stored.items, rounded.items) where old != new {
            Issue.record("\(c.locale): layout moved: \(old) → \(new)")
            break
        }
    }

    @Test("a long invoice breaks onto a second page, repeats the column heads and numbers the pages")
    func pages() throws {
        let c = DocumentFixtures.cases[0]
        let model = try DocumentFixtures.model(c, extraLines: 60)
        let layout = try DocumentRenderer.layout(model)
        #expect(layout.pageCount >= 2)
        for page in 0..<layout.pageCount {
            let text = layout.text(onPage: page)
            #expect(text.contains("Description"))
            #expect(text.contains("Page \(page + 1) of \(layout.pageCount)"))
        }
        #expect(layout.items.allSatisfy { $0.y + $0.height <= layout.pageHeight })
        let pdf = try DocumentRenderer.pdf(model)
        let info = try Tools.run(["pdfinfo", "-"], input: pdf)
        let fields = Dictionary(
            info.split(separator: "\n").compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }, uniquingKeysWith: { first, _ in first })
        #expect(fields["Pages"] == "\(layout.pageCount)")
        #expect(fields["Title"] == "Invoice NW-0042")
        #expect(fields["Author"] == "Northwind Tools")
        let last = layout.text(onPage: layout.pageCount - 1)
        #expect(last.contains("Amount due"))
    }

    @Test("a logo is drawn from the merchant's PNG; a file that is not a PNG is refused")
    func logo() throws {
        let png = try DocumentRenderer.png(try DocumentFixtures.model(DocumentFixtures.cases[0]), scale: 0.25)
        let branding = try DocumentBranding(displayName: "Northwind Tools", email: nil, logoPNG: png, accentColor: "#aa3300")
        let (invoice, customer) = try DocumentFixtures.invoice(DocumentFixtures.cases[0])
        let model = try DocumentModel.invoice(invoice, customer: customer, branding: branding)
        let layout = try DocumentRenderer.layout(model)
        let logo = try #require(layout.items.first { $0.kind == .logo })
        #expect(logo.width <= 160.001 && logo.height <= 56.001)
        #expect(try DocumentRenderer.pdf(model).count > 1000)
        #expect(throws: DocumentError.self) {
            try DocumentBranding(displayName: "X", email: nil, logoPNG: Data("GIF89a".utf8))
        }
        let truncated = png.prefix(60)
        let broken = try DocumentBranding(displayName: "X", email: nil, logoPNG: truncated)
        #expect(throws: DocumentError.self) {
            try DocumentRenderer.pdf(try DocumentModel.invoice(invoice, customer: customer, branding: broken))
        }
        #expect(throws: DocumentError.self) { try DocumentBranding(displayName: "X", email: nil, accentColor: "red") }
    }
}

@Suite("Invoice documents as HTML")
struct DocumentHTMLTests {
    @Test("the default template escapes what customers and merchants typed")
    func escaping() throws {
        let c = DocumentFixtures.cases[0]
        var (invoice, customer) = try DocumentFixtures.invoice(c)
        customer.name = "<script>alert(1)</script>"
        invoice.memo = "\"quoted\" & <b>bold</b>"
        let html = try DocumentRenderer.html(try DocumentModel.invoice(invoice, customer: customer, branding: try DocumentFixtures.branding()))
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("&lt;b&gt;bold&lt;/b&gt;"))
        #expect(html.contains("<html lang=\"en\">"))
        #expect(html.contains("$4,355.00"))
    }

    @Test("every language's HTML has its title, amount due and due date", arguments: DocumentFixtures.cases)
    func languages(_ c: DocumentFixtures.Case) throws {
        let html = try DocumentRenderer.html(try DocumentFixtures.model(c))
        let expected = DocumentRenderingTests.expectations(c)
        for word in [expected.title, expected.total, expected.due] {
            #expect(html.contains(word), "\(c.locale): \(word)")
        }
    }

    @Test("a merchant's template replaces the default and sees the same values; a broken one is refused")
    func merchantTemplate() throws {
        let template = "<p>{{title}} {{number}} · {{#totals}}{{label}}={{amount}};{{/totals}} {{labels.due_date}} {{due_date}}</p>"
        try DocumentHTML.validate(template)
        let html = try DocumentRenderer.html(try DocumentFixtures.model(DocumentFixtures.cases[1]), template: template)
        #expect(html.hasPrefix("<p>Rechnung NW-0042 · Zwischensumme=4.000,00\u{A0}€;"))
        #expect(html.contains("Fälligkeitsdatum 14. Februar 2024"))
        #expect(throws: DocumentError.self) { try DocumentHTML.validate("{{#lines}}unclosed") }
        #expect(throws: DocumentError.self) { try DocumentHTML.validate(String(repeating: "x", count: DocumentHTML.maxTemplateBytes + 1)) }
    }
}

enum Tools {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let goldens = here.appendingPathComponent("Goldens")

    /// Rendered pages, kept for a person to look at after the run (not committed).
    static let artifacts: URL = {
        let url = here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/test-artifacts/documents")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    struct Failure: Error, CustomStringConvertible { var description: String }

    static func run(_ arguments: [String], input: Data) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Feed stdin from another thread: a large input would otherwise block on a full pipe
        // while the tool blocks writing its output.
        let writer = Thread {
            stdin.fileHandleForWriting.write(input)
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(arguments[0]) exited \(process.terminationStatus): \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: output, as: UTF8.self)
    }

    static func squeezed(_ text: String) -> String {
        String(text.unicodeScalars.filter { !$0.properties.isWhitespace }.map(Character.init))
    }

    /// Positions to a hundredth of a point: enough to see any real move, and stable.
    static func rounded(_ layout: DocumentLayout) -> DocumentLayout {
        func r(_ value: Double) -> Double { (value * 100).rounded() / 100 }
        var copy = layout
        copy.items = layout.items.map { item in
            var item = item
            item.x = r(item.x)
            item.y = r(item.y)
            item.width = r(item.width)
            item.height = r(item.height)
            return item
        }
        return copy
    }
}
