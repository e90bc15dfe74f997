import Foundation
import ZooImage

/// A line chart with labelled axes and a legend, written as SVG and as PNG (rasterised here,
/// with a built-in 5×7 bitmap font, so no plotting library or font file is needed).
public struct LinePlot {
    public struct Series {
        public var label: String
        public var points: [(x: Double, y: Double)]
        /// RGB.
        public var color: (UInt8, UInt8, UInt8)
        public var dashed: Bool

        public init(label: String, points: [(x: Double, y: Double)], color: (UInt8, UInt8, UInt8), dashed: Bool) {
            (self.label, self.points, self.color, self.dashed) = (label, points, color, dashed)
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var width = 900, height = 560
    let left = 90, right = 30, top = 50, bottom = 70

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        (self.title, self.xLabel, self.yLabel, self.series) = (title, xLabel, yLabel, series)
    }

    /// Data ranges rounded outward to tick steps.
    var xRange: (Double, Double) {
        let xs = series.flatMap { $0.points.map(\.x) }
        let low = xs.min() ?? 0
        return (low, max(low + 1, xs.max() ?? 1))
    }

    var yRange: (Double, Double, Double) {
        let ys = series.flatMap { $0.points.map(\.y) }
        let high = max(ys.max() ?? 1, 1e-9)
        let step = LinePlot.niceStep(high / 6)
        return (0, (high / step).rounded(.up) * step, step)
    }

    static func niceStep(_ raw: Double) -> Double {
        let magnitude = pow(10, floor(log10(max(raw, 1e-12))))
        for factor in [1.0, 2, 2.5, 5, 10] where factor * magnitude >= raw { return factor * magnitude }
        return 10 * magnitude
    }

    func px(_ x: Double) -> Double {
        let (low, high) = xRange
        return Double(left) + (x - low) / (high - low) * Double(width - left - right)
    }

    func py(_ y: Double) -> Double {
        let (low, high, _) = yRange
        return Double(height - bottom) - (y - low) / (high - low) * Double(height - top - bottom)
    }

    var xTicks: [Double] {
        let (low, high) = xRange
        let step = max(1, LinePlot.niceStep((high - low) / 10))
        return stride(from: low, through: high, by: step).map { $0 }
    }

    var yTicks: [Double] {
        let (low, high, step) = yRange
        return stride(from: low, through: high + step / 2, by: step).map { $0 }
    }

    static func format(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(format: v < 1 ? "%.2f" : "%.1f", v)
    }

    func hex(_ c: (UInt8, UInt8, UInt8)) -> String { String(format: "#%02x%02x%02x", c.0, c.1, c.2) }

    // MARK: SVG

    public func svg() -> String {
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"13\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(width / 2)\" y=\"28\" text-anchor=\"middle\" font-size=\"17\">\(escape(title))</text>\n"
        for y in yTicks {
            out += String(format: "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", left, py(y), width - right, py(y))
            out += String(format: "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%@</text>\n", left - 8, py(y) + 4, LinePlot.format(y))
        }
        for x in xTicks {
            out += String(format: "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#000\"/>\n", px(x), height - bottom, px(x), height - bottom + 5)
            out += String(format: "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%@</text>\n", px(x), height - bottom + 20, LinePlot.format(x))
        }
        out += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(width - left - right)\" height=\"\(height - top - bottom)\" fill=\"none\" stroke=\"#000\"/>\n"
        out += "<text x=\"\((left + width - right) / 2)\" y=\"\(height - 22)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        out += "<text transform=\"translate(24 \((top + height - bottom) / 2)) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        for s in series where !s.points.isEmpty {
            let path = s.points.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(hex(s.color))\" stroke-width=\"2.5\"\(s.dashed ? " stroke-dasharray=\"8 5\"" : "") points=\"\(path)\"/>\n"
        }
        let (legendX, legendY) = legendOrigin(0)
        out += "<rect x=\"\(legendX - 10)\" y=\"\(legendY - 14)\" width=\"180\" height=\"\(20 * series.count + 10)\" fill=\"white\" stroke=\"#a0a0a0\"/>\n"
        for (i, s) in series.enumerated() {
            let (x, y) = legendOrigin(i)
            out += "<line x1=\"\(x)\" y1=\"\(y)\" x2=\"\(x + 34)\" y2=\"\(y)\" stroke=\"\(hex(s.color))\" stroke-width=\"2.5\"\(s.dashed ? " stroke-dasharray=\"8 5\"" : "")/>\n"
            out += "<text x=\"\(x + 42)\" y=\"\(y + 4)\">\(escape(s.label))</text>\n"
        }
        return out + "</svg>\n"
    }

    func legendOrigin(_ index: Int) -> (Int, Int) { (width - right - 180, top + 22 + 20 * index) }

    /// The legend's frame, as four segments.
    var legendBox: [(Int, Int, Int, Int)] {
        let (x, y) = legendOrigin(0)
        let (x0, y0, x1, y1) = (x - 10, y - 14, x + 170, y - 4 + 20 * series.count)
        return [(x0, y0, x1, y0), (x1, y0, x1, y1), (x1, y1, x0, y1), (x0, y1, x0, y0)]
    }

    func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    // MARK: PNG

    public func raster() -> Image {
        var canvas = Canvas(width: width, height: height)
        canvas.text(title, x: width / 2, y: 18, scale: 2, anchor: .middle)
        for y in yTicks {
            canvas.line(Double(left), py(y), Double(width - right), py(y), color: (228, 228, 228), thickness: 1)
            canvas.text(LinePlot.format(y), x: left - 8, y: Int(py(y)) - 7, scale: 2, anchor: .end)
        }
        for x in xTicks {
            canvas.line(px(x), Double(height - bottom), px(x), Double(height - bottom + 5), color: (0, 0, 0), thickness: 1)
            canvas.text(LinePlot.format(x), x: Int(px(x)), y: height - bottom + 10, scale: 2, anchor: .middle)
        }
        let (x0, y0, x1, y1) = (Double(left), Double(top), Double(width - right), Double(height - bottom))
        for (a, b, c, d) in [(x0, y0, x1, y0), (x1, y0, x1, y1), (x1, y1, x0, y1), (x0, y1, x0, y0)] {
            canvas.line(a, b, c, d, color: (0, 0, 0), thickness: 1)
        }
        canvas.text(xLabel, x: (left + width - right) / 2, y: height - 32, scale: 2, anchor: .middle)
        canvas.verticalText(yLabel, x: 14, centerY: (top + height - bottom) / 2, scale: 2)
        for s in series {
            for (p, q) in zip(s.points, s.points.dropFirst()) {
                canvas.line(px(p.x), py(p.y), px(q.x), py(q.y), color: s.color, thickness: 2.5, dash: s.dashed ? (9, 6) : nil)
            }
        }
        let (legendX, legendY) = legendOrigin(0)
        canvas.fill(x: legendX - 10, y: legendY - 14, width: 180, height: 20 * series.count + 10, color: (255, 255, 255))
        for (a, b, c, d) in legendBox {
            canvas.line(Double(a), Double(b), Double(c), Double(d), color: (160, 160, 160), thickness: 1)
        }
        for (i, s) in series.enumerated() {
            let (x, y) = legendOrigin(i)
            canvas.line(Double(x), Double(y), Double(x + 34), Double(y), color: s.color, thickness: 2.5, dash: s.dashed ? (9, 6) : nil)
            canvas.text(s.label, x: x + 42, y: y - 7, scale: 2, anchor: .start)
        }
        return Image(width: width, height: height, channels: 3, pixels: canvas.pixels)
    }
}
