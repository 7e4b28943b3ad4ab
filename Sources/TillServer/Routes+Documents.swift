import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TillBilling
import TillBillingEngine
import TillDocuments
import TillStore

// Invoices and credit notes as the customer reads them: PDF, and HTML from the default
// template, in the customer's language unless `?locale=` asks for another of the five.
extension TillServer {
    func addDocumentRoutes(to v1: RouterGroup<TillRequestContext>) {
        v1.get("invoices/:id/pdf") { request, context in
            let model = try await self.invoiceDocument(request, context)
            return try Self.document(try Self.rendered { () throws(DocumentError) in try DocumentRenderer.pdf(model) }, "application/pdf", model)
        }
        v1.get("invoices/:id/html") { request, context in
            let model = try await self.invoiceDocument(request, context)
            let html = try Self.rendered { () throws(DocumentError) in Data(try DocumentRenderer.html(model).utf8) }
            return try Self.document(html, "text/html; charset=utf-8", model)
        }
        v1.get("credit_notes/:id/pdf") { request, context in
            let caller = try context.requireSecretKey()
            let note = try await self.billing.creditNote(id: try context.parameters.require("id"), merchantID: caller.merchantID)
            let invoice = try await self.billing.invoice(id: note.invoiceID, merchantID: caller.merchantID)
            let customer = try await self.billing.customer(id: note.customerID, merchantID: caller.merchantID)
            let locale = try Self.documentLocale(request)
            let branding = try await self.branding(merchantID: caller.merchantID)
            let model = try Self.rendered { () throws(DocumentError) in
                try DocumentModel.creditNote(note, invoice: invoice, customer: customer, branding: branding, locale: locale)
            }
            return try Self.document(try Self.rendered { () throws(DocumentError) in try DocumentRenderer.pdf(model) }, "application/pdf", model)
        }
    }

    private func invoiceDocument(_ request: Request, _ context: TillRequestContext) async throws -> DocumentModel {
        let caller = try context.requireSecretKey()
        let invoice = try await billing.invoice(id: try context.parameters.require("id"), merchantID: caller.merchantID)
        let customer = try await billing.customer(id: invoice.customerID, merchantID: caller.merchantID)
        let locale = try Self.documentLocale(request)
        let branding = try await branding(merchantID: caller.merchantID)
        return try Self.rendered { () throws(DocumentError) in
            try DocumentModel.invoice(invoice, customer: customer, branding: branding, locale: locale)
        }
    }

    private func branding(merchantID: String) async throws -> DocumentBranding {
        let name = try await store.merchant(id: merchantID)?.name ?? "Till"
        return try Self.rendered { () throws(DocumentError) in try DocumentBranding(displayName: name, email: nil) }
    }

    /// `?locale=de`; absent means the customer's own.
    private static func documentLocale(_ request: Request) throws -> DocumentLocale? {
        guard let tag = request.uri.queryParameters.get("locale") else { return nil }
        guard let locale = DocumentLocale(rawValue: tag.lowercased()) else {
            throw APIError.invalid("locale is one of en, de, fr, es, ja", param: "locale")
        }
        return locale
    }

    private static func rendered<T>(_ work: () throws(DocumentError) -> T) throws -> T {
        do {
            return try work()
        } catch {
            switch error {
            case .invalid(let field, let reason): throw APIError.invalid("\(field): \(reason)", param: field)
            case .rendering(let reason):
                throw APIError(.internalServerError, .api, code: "document_rendering_failed", "the document could not be rendered: \(reason)")
            }
        }
    }

    private static func document(_ bytes: Data, _ type: String, _ model: DocumentModel) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        // A document is private to the merchant and its customer: never cached by a proxy,
        // and its HTML may not load anything or run scripts.
        headers[.cacheControl] = "private, no-store"
        headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
        let extensionName = type == "application/pdf" ? "pdf" : "html"
        let filename = model.number.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        headers[.contentDisposition] = "inline; filename=\"\(filename.isEmpty ? "document" : filename).\(extensionName)\""
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
