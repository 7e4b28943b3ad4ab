import Foundation

/// A document in each form Till serves: HTML (default or the merchant's template), PDF,
/// and PNG pages (what the tests read back, and a preview).
public enum DocumentRenderer {
    public static func html(_ model: DocumentModel, template: String? = nil) throws(DocumentError) -> String {
        try DocumentHTML.render(model, template: template)
    }

    public static func layout(_ model: DocumentModel) throws(DocumentError) -> DocumentLayout {
        try CairoRenderer.layout(model)
    }

    public static func pdf(_ model: DocumentModel) throws(DocumentError) -> Data {
        let layout = try CairoRenderer.layout(model)
        let author = model.merchant.name ?? "Till"
        return try CairoRenderer.pdf(model, layout: layout, title: "\(model.title) \(model.number)", author: author, created: model.issuedAt)
    }

    /// Page `page` (from 0) as a PNG at `scale` × 72 dpi.
    public static func png(_ model: DocumentModel, page: Int = 0, scale: Double = 2) throws(DocumentError) -> Data {
        let layout = try CairoRenderer.layout(model)
        return try CairoRenderer.png(model, layout: layout, page: page, scale: scale)
    }
}
