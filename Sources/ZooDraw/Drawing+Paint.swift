import CCairo
import Foundation
import ZooImage

// Every call checks its numbers first: cairo's errors are sticky, so one invalid matrix (a zero
// scale, a NaN rotation) or dash pattern would silently end all drawing on the context.
extension Drawing {
    func setColor(_ color: Color) {
        cairo_set_source_rgba(context, color.red, color.green, color.blue, color.alpha)
    }

    /// Fills the rectangle with `color` (blended by its alpha).
    public func fillRectangle(x: Double, y: Double, width: Double, height: Double, color: Color) {
        guard [x, y, width, height].allSatisfy(\.isFinite) else { return }
        cairo_save(context)
        defer { cairo_restore(context) }
        setColor(color)
        cairo_rectangle(context, x, y, width, height)
        cairo_fill(context)
    }

    /// Outlines the rectangle, the line centred on its edges (x + 0.5 for a crisp 1-pixel line).
    public func strokeRectangle(x: Double, y: Double, width: Double, height: Double, color: Color, lineWidth: Double = 1) {
        guard [x, y, width, height].allSatisfy(\.isFinite), lineWidth.isFinite, lineWidth > 0 else { return }
        cairo_save(context)
        defer { cairo_restore(context) }
        setColor(color)
        cairo_set_line_width(context, lineWidth)
        cairo_rectangle(context, x, y, width, height)
        cairo_stroke(context)
    }

    /// A polyline through `points`, broken where a point is not finite (a NaN loss leaves a
    /// gap); `dash` alternates on and off lengths.
    public func line(_ points: [(x: Double, y: Double)], color: Color, width: Double, dash: [Double]? = nil) {
        guard width.isFinite, width > 0 else { return }
        cairo_save(context)
        defer { cairo_restore(context) }
        var started = false
        for point in points {
            guard point.x.isFinite, point.y.isFinite else { started = false; continue }
            if started { cairo_line_to(context, point.x, point.y) } else { cairo_move_to(context, point.x, point.y) }
            started = true
        }
        if let dash, dash.allSatisfy({ $0.isFinite && $0 >= 0 }), dash.reduce(0, +) > 0 {
            cairo_set_dash(context, dash, Int32(clamping: dash.count), 0)
        }
        setColor(color)
        cairo_set_line_width(context, width)
        cairo_set_line_join(context, CAIRO_LINE_JOIN_ROUND)
        cairo_stroke(context)
    }

    /// Draws `image` (gray or RGB) scaled into the rectangle; `smooth` false = nearest neighbour
    /// (for small filters), true = bilinear when enlarging and averaged when shrinking (cairo's
    /// "good" filter).
    public func image(_ image: Image, x: Double, y: Double, width: Double, height: Double, smooth: Bool = true, alpha: Double = 1) {
        let channels = image.channels, pixels = image.pixels
        guard let source = Drawing.opaqueSurface(columns: image.width, rows: image.height, pixel: { i in
            channels == 1 ? UInt32(pixels[i]) * 0x010101
                          : UInt32(pixels[3 * i]) << 16 | UInt32(pixels[3 * i + 1]) << 8 | UInt32(pixels[3 * i + 2])
        }) else { return }
        defer { cairo_surface_destroy(source) }
        paint(source, columns: image.width, rows: image.height, x: x, y: y, width: width, height: height, smooth: smooth, alpha: alpha)
    }

    /// A h×w grid of values (row-major) through `map`, each value first mapped
    /// (v - low)/(high - low); scaled into the rectangle, blended with `alpha`. high < low
    /// reverses the map; NaN (and every value when high == low) takes the map's low end.
    /// `values.count` must be `columns * rows`.
    public func heatmap(_ values: [Float], columns: Int, rows: Int, low: Float, high: Float, map: ColorMap,
                        x: Double, y: Double, width: Double, height: Double, alpha: Double = 1, smooth: Bool = true) {
        guard columns > 0, rows > 0 else { return }
        precondition(values.count == columns * rows, "a \(rows)×\(columns) heatmap of \(values.count) values")
        let range = Double(high) - Double(low)
        guard let source = Drawing.opaqueSurface(columns: columns, rows: rows, pixel: { i in
            let color = map.color(range != 0 && range.isFinite ? (Double(values[i]) - Double(low)) / range : 0)
            func byte(_ c: Double) -> UInt32 { UInt32((c * 255).rounded()) }
            return byte(color.red) << 16 | byte(color.green) << 8 | byte(color.blue)
        }) else { return }
        defer { cairo_surface_destroy(source) }
        paint(source, columns: columns, rows: rows, x: x, y: y, width: width, height: height, smooth: smooth, alpha: alpha)
    }

    /// An RGB24 image surface of `columns`×`rows` pixels, `pixel(i)` giving 0x00RRGGBB for the
    /// i-th in row-major order; nil when cairo cannot make it.
    static func opaqueSurface(columns: Int, rows: Int, pixel: (Int) -> UInt32) -> OpaquePointer? {
        guard columns > 0, rows > 0 else { return nil }
        let surface: OpaquePointer = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(clamping: columns), Int32(clamping: rows))
        cairo_surface_flush(surface)
        guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, let data = cairo_image_surface_get_data(surface) else {
            cairo_surface_destroy(surface)
            return nil
        }
        let stride = Int(cairo_image_surface_get_stride(surface))
        let base = UnsafeMutableRawPointer(data)
        for row in 0..<rows {
            for column in 0..<columns {
                base.storeBytes(of: pixel(row * columns + column), toByteOffset: row * stride + 4 * column, as: UInt32.self)
            }
        }
        cairo_surface_mark_dirty(surface)
        return surface
    }

    /// Paints `source` stretched over the rectangle, its edge pixels extended (not faded into
    /// transparency) under bilinear filtering.
    func paint(_ source: OpaquePointer, columns: Int, rows: Int, x: Double, y: Double, width: Double, height: Double,
               smooth: Bool, alpha: Double) {
        guard [x, y, width, height, alpha].allSatisfy(\.isFinite), width != 0, height != 0 else { return }
        cairo_save(context)
        defer { cairo_restore(context) }
        cairo_rectangle(context, x, y, width, height)
        cairo_clip(context)
        cairo_translate(context, x, y)
        cairo_scale(context, width / Double(columns), height / Double(rows))
        cairo_set_source_surface(context, source, 0, 0)
        let pattern = cairo_get_source(context)
        cairo_pattern_set_filter(pattern, smooth ? CAIRO_FILTER_GOOD : CAIRO_FILTER_NEAREST)
        cairo_pattern_set_extend(pattern, CAIRO_EXTEND_PAD)
        cairo_paint_with_alpha(context, min(max(alpha, 0), 1))
    }

    // MARK: Text

    /// The font of every text: DejaVu Sans (fontconfig picks another sans-serif without it).
    func selectFont(size: Double, bold: Bool) {
        cairo_select_font_face(context, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(context, size)
    }

    static func usable(size: Double) -> Bool { size.isFinite && size > 0 }

    /// `y` is the baseline; `rotation` in radians, about (x, y) (−π/2 for a vertical axis label).
    public func text(_ string: String, x: Double, y: Double, size: Double, color: Color = .black, anchor: TextAnchor = .start,
                     bold: Bool = false, rotation: Double = 0) {
        guard !string.isEmpty, Drawing.usable(size: size), x.isFinite, y.isFinite, rotation.isFinite else { return }
        let advance = textWidth(string, size: size, bold: bold)
        cairo_save(context)
        defer { cairo_restore(context) }
        selectFont(size: size, bold: bold)
        cairo_translate(context, x, y)
        cairo_rotate(context, rotation)
        cairo_move_to(context, anchor == .start ? 0 : anchor == .middle ? -advance / 2 : -advance, 0)
        setColor(color)
        cairo_show_text(context, string)
        cairo_new_path(context)
    }

    /// How far the text advances (its width, side bearings included).
    public func textWidth(_ string: String, size: Double, bold: Bool = false) -> Double {
        guard !string.isEmpty, Drawing.usable(size: size) else { return 0 }
        cairo_save(context)
        defer { cairo_restore(context) }
        selectFont(size: size, bold: bold)
        var extents = cairo_text_extents_t()
        cairo_text_extents(context, string, &extents)
        return extents.x_advance
    }

    /// Text on a filled box (a label over a photo); (x, y) is the box's top-left corner, the box
    /// the text's width and the font's height, plus `padding` on every side.
    public func label(_ string: String, x: Double, y: Double, size: Double, color: Color = .white,
                      background: Color = Color(red: 0, green: 0, blue: 0, alpha: 0.6), padding: Double = 3) {
        guard Drawing.usable(size: size), padding.isFinite else { return }
        cairo_save(context)
        selectFont(size: size, bold: false)
        var font = cairo_font_extents_t()
        cairo_font_extents(context, &font)
        cairo_restore(context)
        fillRectangle(x: x, y: y, width: textWidth(string, size: size) + 2 * padding, height: font.ascent + font.descent + 2 * padding,
                      color: background)
        text(string, x: x + padding, y: y + padding + font.ascent, size: size, color: color)
    }
}
