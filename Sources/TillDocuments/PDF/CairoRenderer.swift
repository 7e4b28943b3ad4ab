import CTillCairo
import Foundation
import Synchronization

/// Pango's font map and fontconfig are shared process state; one render at a time keeps
/// them consistent (documents are small: a page takes milliseconds).
private let renderLock = Mutex(())

/// Draws layouts with Cairo and shapes their text with Pango. Text is set as plain text,
/// never Pango markup, so nothing a merchant or customer typed can change the formatting.
/// Metrics are unhinted at 72 dpi, so one point is one unit on every surface and the PDF
/// and the PNG pages break lines identically.
struct CairoRenderer {
    static let fontFamily = "DejaVu Sans,IPAPGothic"

    static func fontDescription(_ style: DocumentLayout.Style) -> String {
        switch style {
        case .title: "\(fontFamily) Bold 22"
        case .name: "\(fontFamily) Bold 15"
        case .heading: "\(fontFamily) Bold 8.5"
        case .body: "\(fontFamily) 9"
        case .bodyBold: "\(fontFamily) Bold 9.5"
        case .small: "\(fontFamily) 8"
        case .total: "\(fontFamily) Bold 11"
        }
    }

    /// A layout for `model`, measured with the fonts it will be drawn in.
    static func layout(_ model: DocumentModel) throws(DocumentError) -> DocumentLayout {
        let logo = try model.logoPNG.map(Self.logoSize)
        return try renderLock.withLock { _ throws(DocumentError) in
            let measurer = try PangoMeasurer()
            var engine = DocumentLayoutEngine(model: model, measure: measurer, logoSize: logo)
            return engine.layout()
        }
    }

    static func pdf(_ model: DocumentModel, layout: DocumentLayout, title: String, author: String, created: Date) throws(DocumentError) -> Data {
        try renderLock.withLock { _ throws(DocumentError) in
            let sink = ByteSink()
            let box = Unmanaged.passRetained(sink)
            defer { box.release() }
            guard let surface = cairo_pdf_surface_create_for_stream(writeToSink, box.toOpaque(), layout.pageWidth, layout.pageHeight)
            else { throw .rendering("no PDF surface") }
            defer { cairo_surface_destroy(surface) }
            // A fixed creation date (the document's own) keeps the bytes of a re-render stable.
            let stamp = ISO8601DateFormatter().string(from: created)
            cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title)
            cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_AUTHOR, author)
            cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "Till")
            cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, stamp)
            cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_MOD_DATE, stamp)
            guard let cr = cairo_create(surface) else { throw .rendering("no drawing context") }
            defer { cairo_destroy(cr) }
            let logo = try model.logoPNG.map(Self.logoSurface)
            defer { if let logo { cairo_surface_destroy(logo) } }
            for page in 0..<layout.pageCount {
                try draw(layout, page: page, on: cr, logo: logo)
                cairo_show_page(cr)
            }
            cairo_surface_finish(surface)
            try check(cairo_surface_status(surface))
            return sink.bytes
        }
    }

    static func png(_ model: DocumentModel, layout: DocumentLayout, page: Int, scale: Double) throws(DocumentError) -> Data {
        guard (0..<layout.pageCount).contains(page) else { throw .invalid("page", "the document has \(layout.pageCount) pages") }
        guard scale > 0, scale <= 6 else { throw .invalid("scale", "a scale is above 0 and at most 6") }
        return try renderLock.withLock { _ throws(DocumentError) in
            let width = Int32((layout.pageWidth * scale).rounded(.up)), height = Int32((layout.pageHeight * scale).rounded(.up))
            guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height) else { throw .rendering("no image surface") }
            defer { cairo_surface_destroy(surface) }
            guard let cr = cairo_create(surface) else { throw .rendering("no drawing context") }
            defer { cairo_destroy(cr) }
            cairo_set_source_rgb(cr, 1, 1, 1)
            cairo_paint(cr)
            cairo_scale(cr, scale, scale)
            let logo = try model.logoPNG.map(Self.logoSurface)
            defer { if let logo { cairo_surface_destroy(logo) } }
            try draw(layout, page: page, on: cr, logo: logo)
            cairo_surface_flush(surface)
            let sink = ByteSink()
            let box = Unmanaged.passRetained(sink)
            defer { box.release() }
            try check(cairo_surface_write_to_png_stream(surface, writeToSink, box.toOpaque()))
            return sink.bytes
        }
    }

    private static func draw(_ layout: DocumentLayout, page: Int, on cr: OpaquePointer, logo: OpaquePointer?) throws(DocumentError) {
        let context = try PangoMeasurer.context(for: cr)
        defer { g_object_unref(UnsafeMutableRawPointer(context)) }
        for item in layout.items where item.page == page {
            let (r, g, b) = DocumentBranding.rgb(item.color ?? "#1A1A1A") ?? (0.1, 0.1, 0.1)
            cairo_set_source_rgb(cr, r, g, b)
            switch item.kind {
            case .rule:
                cairo_set_line_width(cr, item.height)
                cairo_move_to(cr, item.x, item.y)
                cairo_line_to(cr, item.x + item.width, item.y)
                cairo_stroke(cr)
            case .text:
                guard let value = item.text, let style = item.style else { continue }
                let pango = try PangoMeasurer.layout(context, value, style: style, width: item.width, alignment: item.alignment ?? .left)
                defer { g_object_unref(UnsafeMutableRawPointer(pango)) }
                cairo_move_to(cr, item.x, item.y)
                pango_cairo_show_layout(cr, pango)
            case .logo:
                guard let logo else { continue }
                let w = Double(cairo_image_surface_get_width(logo)), h = Double(cairo_image_surface_get_height(logo))
                cairo_save(cr)
                cairo_translate(cr, item.x, item.y)
                cairo_scale(cr, item.width / w, item.height / h)
                cairo_set_source_surface(cr, logo, 0, 0)
                cairo_paint(cr)
                cairo_restore(cr)
            }
        }
        try check(cairo_status(cr))
    }

    /// The logo's size on the page: at most 160 × 56 points, aspect kept.
    static func logoSize(_ png: Data) throws(DocumentError) -> (width: Double, height: Double) {
        let surface = try logoSurface(png)
        defer { cairo_surface_destroy(surface) }
        let w = Double(cairo_image_surface_get_width(surface)), h = Double(cairo_image_surface_get_height(surface))
        let factor = min(160 / w, 56 / h, 1)
        return (w * factor, h * factor)
    }

    /// Decodes a PNG with Cairo's own reader, refusing anything it cannot read or that is
    /// larger than 2,000 pixels a side.
    static func logoSurface(_ png: Data) throws(DocumentError) -> OpaquePointer {
        let source = ByteSource(png)
        let box = Unmanaged.passRetained(source)
        defer { box.release() }
        guard let surface = cairo_image_surface_create_from_png_stream(readFromSource, box.toOpaque()) else {
            throw .invalid("logo", "the logo could not be read")
        }
        guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else {
            cairo_surface_destroy(surface)
            throw .invalid("logo", "the logo is not a readable PNG")
        }
        let w = cairo_image_surface_get_width(surface), h = cairo_image_surface_get_height(surface)
        guard w > 0, h > 0, w <= 2000, h <= 2000 else {
            cairo_surface_destroy(surface)
            throw .invalid("logo", "a logo is at most 2,000 pixels a side")
        }
        return surface
    }

    static func check(_ status: cairo_status_t) throws(DocumentError) {
        guard status == CAIRO_STATUS_SUCCESS else { throw .rendering(String(cString: cairo_status_to_string(status))) }
    }
}

/// Measures with Pango on a scratch surface set up exactly like the drawing surfaces.
final class PangoMeasurer: TextMeasuring {
    private let surface: OpaquePointer
    private let cr: OpaquePointer
    private let context: OpaquePointer

    init() throws(DocumentError) {
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1) else { throw .rendering("no scratch surface") }
        guard let cr = cairo_create(surface) else {
            cairo_surface_destroy(surface)
            throw .rendering("no scratch context")
        }
        self.surface = surface
        self.cr = cr
        do {
            self.context = try Self.context(for: cr)
        } catch {
            cairo_destroy(cr)
            cairo_surface_destroy(surface)
            throw error
        }
    }

    deinit {
        g_object_unref(UnsafeMutableRawPointer(context))
        cairo_destroy(cr)
        cairo_surface_destroy(surface)
    }

    func size(of text: String, style: DocumentLayout.Style, width: Double?) -> (width: Double, height: Double) {
        // Allocation failure is the only way to get no layout; a zero size then lays out
        // the rest, and drawing the same text reports the failure.
        guard let layout = try? Self.layout(context, text, style: style, width: width, alignment: .left) else { return (0, 0) }
        defer { g_object_unref(UnsafeMutableRawPointer(layout)) }
        var w: Int32 = 0, h: Int32 = 0
        pango_layout_get_size(layout, &w, &h)
        return (Double(w) / Double(PANGO_SCALE), Double(h) / Double(PANGO_SCALE))
    }

    /// A Pango context at 72 dpi with hinting off: identical metrics on PDF and image surfaces.
    static func context(for cr: OpaquePointer) throws(DocumentError) -> OpaquePointer {
        guard let context = pango_cairo_create_context(cr) else { throw .rendering("no Pango context") }
        pango_cairo_context_set_resolution(context, 72)
        if let options = cairo_font_options_create() {
            cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE)
            cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF)
            cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY)
            pango_cairo_context_set_font_options(context, options)
            cairo_font_options_destroy(options)
        }
        return context
    }

    static func layout(
        _ context: OpaquePointer, _ text: String, style: DocumentLayout.Style, width: Double?, alignment: DocumentLayout.Alignment
    ) throws(DocumentError) -> OpaquePointer {
        guard let layout = pango_layout_new(context) else { throw .rendering("no Pango layout") }
        let description = pango_font_description_from_string(CairoRenderer.fontDescription(style))
        pango_layout_set_font_description(layout, description)
        pango_font_description_free(description)
        if let width {
            pango_layout_set_width(layout, Int32(width * Double(PANGO_SCALE)))
            pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR)
        }
        switch alignment {
        case .left: pango_layout_set_alignment(layout, PANGO_ALIGN_LEFT)
        case .right: pango_layout_set_alignment(layout, PANGO_ALIGN_RIGHT)
        case .center: pango_layout_set_alignment(layout, PANGO_ALIGN_CENTER)
        }
        pango_layout_set_text(layout, text, -1)
        return layout
    }
}

private final class ByteSink {
    var bytes = Data()
}

private final class ByteSource {
    let bytes: Data
    var offset = 0
    init(_ bytes: Data) { self.bytes = bytes }
}

private let writeToSink: cairo_write_func_t = { closure, data, length in
    guard let closure, let data else { return CAIRO_STATUS_WRITE_ERROR }
    Unmanaged<ByteSink>.fromOpaque(closure).takeUnretainedValue().bytes.append(data, count: Int(length))
    return CAIRO_STATUS_SUCCESS
}

private let readFromSource: cairo_read_func_t = { closure, data, length in
    guard let closure, let data else { return CAIRO_STATUS_READ_ERROR }
    let source = Unmanaged<ByteSource>.fromOpaque(closure).takeUnretainedValue()
    let wanted = Int(length)
    guard source.offset + wanted <= source.bytes.count else { return CAIRO_STATUS_READ_ERROR }
    source.bytes.copyBytes(to: data, from: source.offset..<(source.offset + wanted))
    source.offset += wanted
    return CAIRO_STATUS_SUCCESS
}
