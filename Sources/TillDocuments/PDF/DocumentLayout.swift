import Foundation

/// Where everything on a document's pages goes, in points on A4, before anything is drawn.
/// The PDF and the PNG pages are drawn from one layout, and the tests keep a golden layout
/// per language, so a change in spacing, wrapping or page breaks shows up as a diff.
public struct DocumentLayout: Sendable, Equatable, Codable {
    public enum Style: String, Sendable, Codable {
        case title, name, heading, body, bodyBold, small, total
    }

    public enum Alignment: String, Sendable, Codable { case left, right, center }

    public struct Item: Sendable, Equatable, Codable {
        public enum Kind: String, Sendable, Codable { case text, rule, logo }
        public var kind: Kind
        public var page: Int
        public var x: Double
        public var y: Double
        public var width: Double
        public var height: Double
        public var text: String?
        public var style: Style?
        public var alignment: Alignment?
        /// `#RRGGBB`.
        public var color: String?
    }

    public var pageWidth: Double
    public var pageHeight: Double
    public var pageCount: Int
    public var items: [Item]

    /// The text on `page`, top to bottom and left to right: what a reader of the page sees.
    public func text(onPage page: Int) -> [String] {
        items.filter { $0.page == page && $0.kind == .text }
            .sorted { ($0.y, $0.x) < ($1.y, $1.x) }
            .compactMap(\.text)
    }
}

/// Measures text the way it will be drawn.
protocol TextMeasuring {
    /// Width and height in points of `text` in `style`, wrapped at `width` when given.
    func size(of text: String, style: DocumentLayout.Style, width: Double?) -> (width: Double, height: Double)
}

/// Lays a `DocumentModel` out on A4 pages: header with the merchant and the document's
/// facts, the customer, the lines (wrapping descriptions, repeating the column heads on
/// each new page), the totals, the notes, and a footer with page numbers.
struct DocumentLayoutEngine {
    static let pageWidth = 595.28
    static let pageHeight = 841.89
    static let margin = 48.0
    static let bottom = pageHeight - 72
    static let grey = "#555555"
    static let rule = "#CCCCCC"

    let model: DocumentModel
    let measure: any TextMeasuring
    let logoSize: (width: Double, height: Double)?

    private var items: [DocumentLayout.Item] = []
    private var page = 0
    private var y = margin

    init(model: DocumentModel, measure: any TextMeasuring, logoSize: (width: Double, height: Double)?) {
        self.model = model
        self.measure = measure
        self.logoSize = logoSize
    }

    // Columns of the lines table.
    private let description = (x: margin, width: 244.0)
    private let quantity = (x: 296.0, width: 52.0)
    private let unitPrice = (x: 352.0, width: 95.0)
    private let amount = (x: 452.0, width: pageWidth - margin - 452.0)

    mutating func layout() -> DocumentLayout {
        header()
        billTo()
        linesTable()
        totals()
        notes()
        footers()
        return DocumentLayout(pageWidth: Self.pageWidth, pageHeight: Self.pageHeight, pageCount: page + 1, items: items)
    }

    @discardableResult
    private mutating func text(
        _ value: String, x: Double, y top: Double, width: Double, style: DocumentLayout.Style,
        alignment: DocumentLayout.Alignment = .left, color: String? = nil
    ) -> Double {
        let size = measure.size(of: value, style: style, width: width)
        items.append(
            .init(
                kind: .text, page: page, x: x, y: top, width: width, height: size.height, text: value, style: style,
                alignment: alignment, color: color))
        return size.height
    }

    private mutating func line(y at: Double, from x: Double, to end: Double, color: String, weight: Double) {
        items.append(.init(kind: .rule, page: page, x: x, y: at, width: end - x, height: weight, text: nil, style: nil, alignment: nil, color: color))
    }

    private mutating func newPage() {
        page += 1
        y = Self.margin
    }

    private mutating func header() {
        let left = Self.margin
        var leftY = Self.margin
        if let logoSize {
            items.append(.init(kind: .logo, page: page, x: left, y: leftY, width: logoSize.width, height: logoSize.height, text: nil, style: nil, alignment: nil, color: nil))
            leftY += logoSize.height + 6
        }
        if logoSize == nil, let name = model.merchant.name {
            leftY += text(name, x: left, y: leftY, width: 260, style: .name) + 4
        }
        var details = model.merchant.lines
        if let taxID = model.merchantTaxID { details.append("\(model.labels.taxID): \(taxID)") }
        if let email = model.merchantEmail { details.append(email) }
        for detail in details { leftY += text(detail, x: left, y: leftY, width: 260, style: .small, color: Self.grey) + 1 }

        let right = 330.0, rightWidth = Self.pageWidth - Self.margin - right
        var rightY = Self.margin
        rightY += text(model.title, x: right, y: rightY, width: rightWidth, style: .title, alignment: .right, color: model.accentColor) + 8
        var facts = [(model.labels.number, model.number)]
        if let invoice = model.invoiceNumber { facts.append((model.labels.forInvoice, invoice)) }
        facts.append((model.labels.issueDate, model.issueDate))
        if let due = model.dueDate { facts.append((model.labels.dueDate, due)) }
        facts.append((model.labels.status, model.status))
        for (label, value) in facts {
            let labelHeight = text(label, x: right, y: rightY, width: 100, style: .small, color: Self.grey)
            let valueHeight = text(value, x: right + 100, y: rightY, width: rightWidth - 100, style: .body, alignment: .right)
            rightY += max(labelHeight, valueHeight) + 3
        }
        y = max(leftY, rightY) + 24
    }

    private mutating func billTo() {
        y += text(model.labels.billTo, x: Self.margin, y: y, width: 260, style: .heading, color: Self.grey) + 3
        if let name = model.customer.name { y += text(name, x: Self.margin, y: y, width: 260, style: .bodyBold) + 1 }
        for detail in model.customer.lines { y += text(detail, x: Self.margin, y: y, width: 260, style: .body) + 1 }
        if let period = model.period { y += 4 + text(period, x: Self.margin, y: y + 4, width: 400, style: .small, color: Self.grey) }
        y += 20
    }

    private mutating func tableHead() {
        let labels = model.labels
        let heights = [
            text(labels.description, x: description.x, y: y, width: description.width, style: .heading),
            text(labels.quantity, x: quantity.x, y: y, width: quantity.width, style: .heading, alignment: .right),
            text(labels.unitPrice, x: unitPrice.x, y: y, width: unitPrice.width, style: .heading, alignment: .right),
            text(labels.amount, x: amount.x, y: y, width: amount.width, style: .heading, alignment: .right),
        ]
        y += (heights.max() ?? 0) + 4
        line(y: y, from: Self.margin, to: Self.pageWidth - Self.margin, color: model.accentColor, weight: 1.2)
        y += 6
    }

    private mutating func linesTable() {
        tableHead()
        for row in model.lines {
            let described = row.proration ? "\(row.description) (\(model.labels.proration))" : row.description
            var height = measure.size(of: described, style: .body, width: description.width).height
            if let period = row.period { height += 2 + measure.size(of: period, style: .small, width: description.width).height }
            if y + height + 6 > Self.bottom {
                newPage()
                tableHead()
            }
            let top = y
            var descriptionHeight = text(described, x: description.x, y: top, width: description.width, style: .body)
            if let period = row.period {
                descriptionHeight += 2 + text(period, x: description.x, y: top + descriptionHeight + 2, width: description.width, style: .small, color: Self.grey)
            }
            var heights = [descriptionHeight]
            heights.append(text(row.quantity, x: quantity.x, y: top, width: quantity.width, style: .body, alignment: .right))
            if let price = row.unitPrice {
                heights.append(text(price, x: unitPrice.x, y: top, width: unitPrice.width, style: .body, alignment: .right))
            }
            heights.append(text(row.amount, x: amount.x, y: top, width: amount.width, style: .body, alignment: .right))
            y = top + (heights.max() ?? 0) + 5
            line(y: y, from: Self.margin, to: Self.pageWidth - Self.margin, color: Self.rule, weight: 0.5)
            y += 5
        }
        y += 8
    }

    private mutating func totals() {
        let labelX = 296.0, labelWidth = 150.0
        for row in model.totals {
            let style: DocumentLayout.Style = row.emphasized ? .total : .body
            let height = max(
                measure.size(of: row.label, style: style, width: labelWidth).height,
                measure.size(of: row.amount, style: style, width: amount.width).height)
            if y + height + 8 > Self.bottom { newPage() }
            if row.emphasized {
                line(y: y, from: labelX, to: Self.pageWidth - Self.margin, color: model.accentColor, weight: 1.2)
                y += 5
            }
            text(row.label, x: labelX, y: y, width: labelWidth, style: style)
            text(row.amount, x: amount.x, y: y, width: amount.width, style: style, alignment: .right)
            y += height + 4
        }
        y += 14
    }

    private mutating func notes() {
        let width = Self.pageWidth - 2 * Self.margin
        var paragraphs: [(String, DocumentLayout.Style, String?)] = []
        if let outcome = model.outcome { paragraphs.append(("\(model.labels.outcome): \(outcome)", .body, nil)) }
        if let reason = model.reason { paragraphs.append(("\(model.labels.reason): \(reason)", .body, nil)) }
        if let memo = model.memo { paragraphs.append(("\(model.labels.memo): \(memo)", .body, nil)) }
        paragraphs.append((model.rounding, .small, Self.grey))
        for (value, style, color) in paragraphs {
            let height = measure.size(of: value, style: style, width: width).height
            if y + height > Self.bottom { newPage() }
            y += text(value, x: Self.margin, y: y, width: width, style: style, color: color) + 6
        }
    }

    private mutating func footers() {
        let pages = page + 1
        let width = Self.pageWidth - 2 * Self.margin
        let footerY = Self.pageHeight - 44
        let current = page
        for index in 0..<pages {
            page = index
            line(y: footerY - 6, from: Self.margin, to: Self.pageWidth - Self.margin, color: Self.rule, weight: 0.5)
            let who = [model.merchant.name, "\(model.title) \(model.number)"].compactMap { $0 }.joined(separator: " · ")
            text(who, x: Self.margin, y: footerY, width: width * 0.7, style: .small, color: Self.grey)
            let numbering = model.locale == .ja
                ? "\(index + 1) \(model.labels.of) \(pages) \(model.labels.page)"
                : "\(model.labels.page) \(index + 1) \(model.labels.of) \(pages)"
            text(numbering, x: Self.margin + width * 0.7, y: footerY, width: width * 0.3, style: .small, alignment: .right, color: Self.grey)
        }
        page = current
    }
}
