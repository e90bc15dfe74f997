import Foundation

/// A line chart with a title, labelled axes, nice ticks and a legend, drawn the same way into a
/// raster (PNG) or a vector (SVG) drawing.
public struct LinePlot {
    /// One line: its legend label, data points, colour, and whether it is dashed.
    public struct Series {
        public var label: String
        public var points: [(x: Double, y: Double)]
        public var color: Color
        public var dashed: Bool

        public init(label: String, points: [(x: Double, y: Double)], color: Color, dashed: Bool) {
            (self.label, self.points, self.color, self.dashed) = (label, points, color, dashed)
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var width = 900, height = 560
    let left = 90.0, right = 30.0, top = 50.0, bottom = 70.0
    let fontSize = 13.0, lineWidth = 2.5, dash = [8.0, 5]

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        (self.title, self.xLabel, self.yLabel, self.series) = (title, xLabel, yLabel, series)
    }

    /// Writes PNG or SVG by the path's extension (.png/.svg), atomically.
    public func write(to path: String) throws {
        let drawing = (path as NSString).pathExtension.lowercased() == "svg" ? Drawing.svg(width: width, height: height)
                                                                            : Drawing(width: width, height: height)
        draw(on: drawing)
        try drawing.write(to: path)
    }

    /// Draws the plot into `drawing` (made `width`×`height`; raster or SVG alike).
    public func draw(on drawing: Drawing) {
        let (plotLeft, plotRight) = (left, Double(width) - right)
        let (plotTop, plotBottom) = (top, Double(height) - bottom)
        drawing.text(title, x: Double(width) / 2, y: 30, size: 17, anchor: .middle)
        // Hairlines on half pixels, so that a 1-pixel line covers one row of pixels, not two.
        for y in yTicks {
            let at = py(y).rounded() + 0.5
            drawing.line([(plotLeft, at), (plotRight, at)], color: Color(rgb: (228, 228, 228)), width: 1)
            drawing.text(LinePlot.format(y), x: plotLeft - 8, y: at + 4.5, size: fontSize, anchor: .end)
        }
        for x in xTicks {
            let at = px(x).rounded() + 0.5
            drawing.line([(at, plotBottom), (at, plotBottom + 5)], color: .black, width: 1)
            drawing.text(LinePlot.format(x), x: at, y: plotBottom + 20, size: fontSize, anchor: .middle)
        }
        drawing.strokeRectangle(x: plotLeft + 0.5, y: plotTop + 0.5, width: plotRight - plotLeft, height: plotBottom - plotTop, color: .black)
        drawing.text(xLabel, x: (plotLeft + plotRight) / 2, y: Double(height) - 22, size: fontSize, anchor: .middle)
        drawing.text(yLabel, x: 26, y: (plotTop + plotBottom) / 2, size: fontSize, anchor: .middle, rotation: -Double.pi / 2)
        for s in series {
            let points = s.points.map { (x: px($0.x), y: py($0.y)) }
            drawing.line(points, color: s.color, width: lineWidth, dash: s.dashed ? dash : nil)
            // A series of one point (one epoch) has no line to draw: mark it.
            if let only = points.first, points.count == 1 {
                drawing.fillRectangle(x: only.x - 3, y: only.y - 3, width: 6, height: 6, color: s.color)
            }
        }
        drawLegend(on: drawing)
    }

    /// Sample line and label per series, in a white box in the corner of the plot that hides
    /// the least of the lines (top right first).
    func drawLegend(on drawing: Drawing) {
        guard !series.isEmpty else { return }
        let labelWidth = series.map { drawing.textWidth($0.label, size: fontSize) }.max() ?? 0
        let (sample, gap, margin, rowHeight) = (34.0, 8.0, 10.0, 20.0)
        let boxWidth = margin + sample + gap + labelWidth + margin
        let boxHeight = rowHeight * Double(series.count) + margin
        let (plotRight, plotBottom) = (Double(width) - right, Double(height) - bottom)
        let corners = [(plotRight - 10 - boxWidth, top + 10), (plotRight - 10 - boxWidth, plotBottom - 10 - boxHeight),
                       (left + 10, top + 10), (left + 10, plotBottom - 10 - boxHeight)]
        // Each segment sampled at 16 points: how many fall under each corner's box.
        var samples: [(x: Double, y: Double)] = []
        for s in series {
            for (p, q) in zip(s.points, s.points.dropFirst()) {
                for k in 0..<16 {
                    let f = Double(k) / 16
                    samples.append((px(p.x + (q.x - p.x) * f), py(p.y + (q.y - p.y) * f)))
                }
            }
            if let last = s.points.last { samples.append((px(last.x), py(last.y))) }
        }
        let hidden = corners.map { corner in
            samples.filter { (corner.0...corner.0 + boxWidth).contains($0.x) && (corner.1...corner.1 + boxHeight).contains($0.y) }.count
        }
        let best = hidden.indices.min { hidden[$0] < hidden[$1] } ?? 0
        let (boxX, boxY) = corners[best]
        drawing.fillRectangle(x: boxX, y: boxY, width: boxWidth, height: boxHeight, color: .white)
        drawing.strokeRectangle(x: boxX.rounded() + 0.5, y: boxY.rounded() + 0.5, width: boxWidth.rounded(), height: boxHeight.rounded(),
                                color: Color(rgb: (160, 160, 160)))
        for (i, s) in series.enumerated() {
            let y = boxY + margin + rowHeight * (Double(i) + 0.5) - 2
            drawing.line([(boxX + margin, y), (boxX + margin + sample, y)], color: s.color, width: lineWidth, dash: s.dashed ? dash : nil)
            drawing.text(s.label, x: boxX + margin + sample + gap, y: y + 4.5, size: fontSize)
        }
    }

    /// The x range of the data (at least 1 wide).
    var xRange: (Double, Double) {
        let xs = series.flatMap { $0.points.map(\.x) }.filter(\.isFinite)
        let low = xs.min() ?? 0
        return (low, max(low + 1, xs.max() ?? 1))
    }

    /// From 0 to the largest y rounded up to a tick step, and the step.
    var yRange: (Double, Double, Double) {
        let ys = series.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        let high = max(ys.max() ?? 1, 1e-9)
        let step = LinePlot.niceStep(high / 6)
        return (0, (high / step).rounded(.up) * step, step)
    }

    /// The smallest of 1, 2, 2.5, 5 × a power of ten that is at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        let magnitude = pow(10, floor(log10(max(raw, 1e-12))))
        for factor in [1.0, 2, 2.5, 5, 10] where factor * magnitude >= raw { return factor * magnitude }
        return 10 * magnitude
    }

    func px(_ x: Double) -> Double {
        let (low, high) = xRange
        return left + (x - low) / (high - low) * (Double(width) - left - right)
    }

    func py(_ y: Double) -> Double {
        let (low, high, _) = yRange
        return Double(height) - bottom - (y - low) / (high - low) * (Double(height) - top - bottom)
    }

    var xTicks: [Double] {
        let (low, high) = xRange
        let step = max(1, LinePlot.niceStep((high - low) / 10))
        // Multiples of the step (epochs 1…40 get 5, 10, …, 40), the low end when none falls near it.
        let first = (low / step).rounded(.up) * step
        let multiples = stride(from: first, through: high + step * 1e-9, by: step).map { $0 }
        return first - low > step / 2 ? [low] + multiples : multiples
    }

    var yTicks: [Double] {
        let (low, high, step) = yRange
        return stride(from: low, through: high + step / 2, by: step).map { $0 }
    }

    static func format(_ v: Double) -> String {
        if abs(v) >= 1e9 { return String(format: "%.3g", v) }
        return v == v.rounded() ? String(Int(v)) : String(format: abs(v) < 1 ? "%.2f" : "%.1f", v)
    }
}
