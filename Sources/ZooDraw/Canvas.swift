import Foundation

/// An RGB raster with antialiased thick lines and bitmap text.
struct Canvas {
    let width: Int, height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int) {
        (self.width, self.height) = (width, height)
        pixels = [UInt8](repeating: 255, count: width * height * 3)
    }

    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: (UInt8, UInt8, UInt8)) {
        for yy in max(0, y)..<min(height, y + h) { for xx in max(0, x)..<min(width, x + w) { blend(xx, yy, color, 1) } }
    }

    /// Blends `color` into pixel (x, y) with coverage `alpha` in [0, 1].
    mutating func blend(_ x: Int, _ y: Int, _ color: (UInt8, UInt8, UInt8), _ alpha: Double) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        let a = min(alpha, 1), i = (y * width + x) * 3
        for (k, c) in [color.0, color.1, color.2].enumerated() {
            pixels[i + k] = UInt8((Double(pixels[i + k]) * (1 - a) + Double(c) * a).rounded())
        }
    }

    /// A line of `thickness` pixels: each pixel is covered by its distance to the segment.
    mutating func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, color: (UInt8, UInt8, UInt8),
                       thickness: Double, dash: (Double, Double)? = nil) {
        let (dx, dy) = (x1 - x0, y1 - y0)
        let length = max((dx * dx + dy * dy).squareRoot(), 1e-9)
        let half = thickness / 2
        let xs = Int(floor(min(x0, x1) - half - 1))...Int(ceil(max(x0, x1) + half + 1))
        let ys = Int(floor(min(y0, y1) - half - 1))...Int(ceil(max(y0, y1) + half + 1))
        for y in ys {
            for x in xs {
                let (cx, cy) = (Double(x) + 0.5, Double(y) + 0.5)
                let t = max(0, min(1, ((cx - x0) * dx + (cy - y0) * dy) / (length * length)))
                if let dash, (t * length).truncatingRemainder(dividingBy: dash.0 + dash.1) > dash.0 { continue }
                let (nx, ny) = (x0 + t * dx - cx, y0 + t * dy - cy)
                let distance = (nx * nx + ny * ny).squareRoot()
                blend(x, y, color, half + 0.5 - distance)
            }
        }
    }

    enum Anchor { case start, middle, end }

    mutating func text(_ string: String, x: Int, y: Int, scale: Int, anchor: Anchor, color: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        let advance = 6 * scale
        let width = string.count * advance - scale
        var cursor = anchor == .start ? x : anchor == .middle ? x - width / 2 : x - width
        for character in string {
            let rows = BitmapFont.glyph(character)
            for (row, bits) in rows.enumerated() {
                for column in 0..<5 where bits & (1 << (4 - column)) != 0 {
                    for sy in 0..<scale { for sx in 0..<scale { blend(cursor + column * scale + sx, y + row * scale + sy, color, 1) } }
                }
            }
            cursor += advance
        }
    }

    /// Text rotated a quarter turn anticlockwise, centred on `centerY`.
    mutating func verticalText(_ string: String, x: Int, centerY: Int, scale: Int) {
        let advance = 6 * scale
        var cursor = centerY + (string.count * advance) / 2
        for character in string {
            let rows = BitmapFont.glyph(character)
            for (row, bits) in rows.enumerated() {
                for column in 0..<5 where bits & (1 << (4 - column)) != 0 {
                    for sy in 0..<scale { for sx in 0..<scale { blend(x + row * scale + sx, cursor - column * scale - sy, (0, 0, 0), 1) } }
                }
            }
            cursor -= advance
        }
    }
}
