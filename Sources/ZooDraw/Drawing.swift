import CCairo
import Foundation
import ZooImage
import ZooTensor

/// Where a text's x falls along it.
public enum TextAnchor: Sendable { case start, middle, end }

/// A raster (cairo image surface, ARGB32) or vector (SVG) surface to draw on.
///
/// Coordinates are in pixels from the top-left corner, y downwards. A raster drawing paints into
/// memory at once; a vector one records what is drawn and plays it back into SVG (or into a
/// raster, for `rgbImage` and `pngData`). A drawing whose surface cannot be made (a side past
/// cairo's 32767, no memory) draws nothing and throws from `pngData`, `svgData` and `write`.
public final class Drawing {
    public let width: Int, height: Int
    /// The image surface of a raster drawing, the recording surface of a vector one. cairo
    /// never returns NULL: a failed surface or context is an object in an error state.
    let surface: OpaquePointer
    let context: OpaquePointer
    let isVector: Bool

    public convenience init(width: Int, height: Int, background: Color? = .white) {
        self.init(width: width, height: height, background: background, vector: false)
    }

    /// A vector drawing, recorded in memory and written as SVG.
    public static func svg(width: Int, height: Int, background: Color? = .white) -> Drawing {
        Drawing(width: width, height: height, background: background, vector: true)
    }

    init(width: Int, height: Int, background: Color?, vector: Bool) {
        (self.width, self.height, isVector) = (width, height, vector)
        if vector {
            var extents = cairo_rectangle_t(x: 0, y: 0, width: Double(max(width, 0)), height: Double(max(height, 0)))
            surface = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &extents)
        } else {
            surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(clamping: width), Int32(clamping: height))
        }
        context = cairo_create(surface)
        // Unhinted metrics: a text is as wide in a raster as in its SVG.
        let options = cairo_font_options_create()
        cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF)
        cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY)
        cairo_set_font_options(context, options)
        cairo_font_options_destroy(options)
        if let background {
            cairo_set_source_rgba(context, background.red, background.green, background.blue, background.alpha)
            cairo_paint(context)
        }
    }

    deinit {
        cairo_destroy(context)
        cairo_surface_destroy(surface)
    }

    /// Throws if the surface or the context has failed (cairo's errors are sticky).
    func check() throws {
        guard width >= 0, height >= 0 else { throw ZooError("cannot draw a \(width)×\(height) picture: a side is negative") }
        try Drawing.check(cairo_surface_status(surface), "cannot draw a \(width)×\(height) picture")
        try Drawing.check(cairo_status(context), "cannot draw a \(width)×\(height) picture")
    }

    static func check(_ status: cairo_status_t, _ what: String) throws {
        guard status == CAIRO_STATUS_SUCCESS else { throw ZooError("\(what): \(String(cString: cairo_status_to_string(status))) (cairo)") }
    }

    /// The drawing as an ARGB32 image surface (a new reference; the caller destroys it): the
    /// surface itself when raster, the recording played back when vector.
    func rasterSurface() throws -> OpaquePointer {
        try check()
        if !isVector {
            cairo_surface_flush(surface)
            return cairo_surface_reference(surface)
        }
        let raster: OpaquePointer = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(clamping: width), Int32(clamping: height))
        let replay: OpaquePointer = cairo_create(raster)
        cairo_set_source_surface(replay, surface, 0, 0)
        cairo_paint(replay)
        let status = cairo_status(replay)
        cairo_destroy(replay)
        cairo_surface_flush(raster)
        do {
            try Drawing.check(status, "cannot rasterise a \(width)×\(height) picture")
            try Drawing.check(cairo_surface_status(raster), "cannot rasterise a \(width)×\(height) picture")
        } catch {
            cairo_surface_destroy(raster)
            throw error
        }
        return raster
    }

    /// The raster as an RGB Image (for raster drawings; a vector drawing is rasterised).
    /// Colours are un-premultiplied as cairo's PNG writer does, alpha dropped; a drawing
    /// that failed gives a 0×0 image.
    public func rgbImage() -> Image {
        let empty = Image(width: 0, height: 0, channels: 3, pixels: [])
        guard let raster = try? rasterSurface() else { return empty }
        defer { cairo_surface_destroy(raster) }
        guard let data = cairo_image_surface_get_data(raster) else { return empty }
        let stride = Int(cairo_image_surface_get_stride(raster))
        let base = UnsafeRawPointer(data)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let argb = base.load(fromByteOffset: y * stride + 4 * x, as: UInt32.self)
                let alpha = argb >> 24, i = (y * width + x) * 3
                guard alpha > 0 else { continue }
                func straight(_ premultiplied: UInt32) -> UInt8 { UInt8(min((premultiplied * 255 + alpha / 2) / alpha, 255)) }
                pixels[i] = straight((argb >> 16) & 0xFF)
                pixels[i + 1] = straight((argb >> 8) & 0xFF)
                pixels[i + 2] = straight(argb & 0xFF)
            }
        }
        return Image(width: width, height: height, channels: 3, pixels: pixels)
    }

    /// PNG bytes (raster drawings; a vector drawing is rasterised). RGB when opaque, RGBA when
    /// any pixel is transparent.
    public func pngData() throws -> Data {
        let raster = try rasterSurface()
        defer { cairo_surface_destroy(raster) }
        let sink = ByteSink()
        let status = withExtendedLifetime(sink) {
            cairo_surface_write_to_png_stream(raster, appendToSink, Unmanaged.passUnretained(sink).toOpaque())
        }
        try Drawing.check(status, "cannot encode a \(width)×\(height) picture as PNG")
        return sink.data
    }

    /// SVG text bytes (svg drawings; a raster drawing becomes an SVG holding its bitmap).
    public func svgData() throws -> Data {
        try check()
        let sink = ByteSink()
        return try withExtendedLifetime(sink) {
            let svg: OpaquePointer = cairo_svg_surface_create_for_stream(appendToSink, Unmanaged.passUnretained(sink).toOpaque(),
                                                                         Double(width), Double(height))
            defer { cairo_surface_destroy(svg) }
            cairo_svg_surface_set_document_unit(svg, CAIRO_SVG_UNIT_PX)
            let replay: OpaquePointer = cairo_create(svg)
            cairo_set_source_surface(replay, surface, 0, 0)
            cairo_paint(replay)
            let status = cairo_status(replay)
            cairo_destroy(replay)
            try Drawing.check(status, "cannot write a \(width)×\(height) picture as SVG")
            cairo_surface_finish(svg)
            try Drawing.check(cairo_surface_status(svg), "cannot write a \(width)×\(height) picture as SVG")
            return sink.data
        }
    }

    /// Writes PNG or SVG by the path's extension (.png/.svg), atomically: never a partial file.
    public func write(to path: String) throws {
        let data: Data
        do {
            switch (path as NSString).pathExtension.lowercased() {
            case "png": data = try pngData()
            case "svg": data = try svgData()
            default: throw ZooError("the name must end in .png or .svg")
            }
        } catch {
            throw ZooError("cannot write '\(path)': \(error)")
        }
        try AtomicFile.write(data, to: path)
    }
}

/// The bytes a cairo stream writer produced.
final class ByteSink {
    var data = Data()
}

/// cairo's write callback: appends to the `ByteSink` passed as its closure.
private func appendToSink(_ closure: UnsafeMutableRawPointer?, _ bytes: UnsafePointer<UInt8>?, _ length: UInt32) -> cairo_status_t {
    guard length > 0 else { return CAIRO_STATUS_SUCCESS }
    guard let closure, let bytes else { return CAIRO_STATUS_WRITE_ERROR }
    Unmanaged<ByteSink>.fromOpaque(closure).takeUnretainedValue().data.append(bytes, count: Int(length))
    return CAIRO_STATUS_SUCCESS
}
