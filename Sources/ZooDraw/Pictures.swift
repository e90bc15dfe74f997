import Foundation
import ZooImage
import ZooTensor

/// The pictures of what a network computes: Grad-CAM overlays, activation maps, filters.
public enum Pictures {
    /// `image` (what the model saw: gray or RGB) with `cam` (rows×columns values in [0, 1])
    /// blended over it in the inferno colour map, `caption` on a band at the top; the longer
    /// side drawn at `side` pixels.
    public static func heatmapOverlay(image: Image, cam: [Float], columns: Int, rows: Int, caption: String,
                                      side: Double = 320) -> Drawing {
        let drawing = scaled(image, side: side)
        let (width, height) = (Double(drawing.width), Double(drawing.height))
        drawing.heatmap(cam, columns: columns, rows: rows, low: 0, high: 1, map: .inferno, x: 0, y: 0, width: width, height: height,
                        alpha: 0.5)
        drawing.label(caption, x: 4, y: 4, size: max(11, side / 22))
        return drawing
    }

    /// `image` drawn with its longer side at `side` pixels (small pictures keep sharp pixels).
    public static func scaled(_ image: Image, side: Double) -> Drawing {
        let scale = side / Double(max(image.width, image.height))
        let (width, height) = (Double(image.width) * scale, Double(image.height) * scale)
        let drawing = Drawing(width: Int(width.rounded()), height: Int(height.rounded()))
        drawing.image(image, x: 0, y: 0, width: width, height: height, smooth: image.width >= Int(side))
        return drawing
    }

    /// The first `limit` maps of activations [C, h, w] in a grid, each scaled to its own range
    /// (viridis), with its channel number.
    public static func activationGrid(_ maps: Tensor, title: String, limit: Int = 64) -> Drawing {
        precondition(maps.rank == 3, "activation maps are [C, h, w], not \(maps.shape)")
        let (count, h, w) = (min(limit, maps.shape[0]), maps.shape[1], maps.shape[2])
        let cell = Double(max(64, min(128, 8 * max(h, w))))
        let aspect = Double(h) / Double(w)
        let grid = Grid(columns: min(8, count), cellWidth: cell, cellHeight: (cell * aspect).rounded(), captionSize: 11, title: title)
        return grid.render(count: count, caption: { String($0) }) { drawing, channel, x, y, width, height in
            let values = Array(maps.scalars[channel * h * w ..< (channel + 1) * h * w])
            let (low, high) = (values.min() ?? 0, values.max() ?? 0)
            drawing.heatmap(values, columns: w, rows: h, low: low, high: high > low ? high : low + 1, map: .viridis,
                            x: x, y: y, width: width, height: height, smooth: false)
        }
    }

    /// A convolution's kernels [O, I, kh, kw] in a grid, on one symmetric scale (0 is mid-gray):
    /// with 3 input channels (or 1) each filter as one RGB (or gray) picture, the first 64;
    /// otherwise one gray picture per output and input channel (the first 16 of each: a row per
    /// output channel).
    public static func filterGrid(_ weight: Tensor, title: String) -> Drawing {
        precondition(weight.rank == 4, "convolution weights are [O, I, kh, kw], not \(weight.shape)")
        let (outputs, inputs, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let extent = max(weight.scalars.map(abs).max() ?? 0, 1e-12)
        func byte(_ value: Float) -> UInt8 { UInt8(max(0, min(255, (0.5 + 0.5 * value / extent) * 255)).rounded()) }
        let cell = Double(max(32, min(64, 8 * max(kh, kw))))
        if inputs == 3 || inputs == 1 {
            let count = min(64, outputs)
            let grid = Grid(columns: min(8, count), cellWidth: cell, cellHeight: cell, captionSize: 10, title: title)
            return grid.render(count: count, caption: { String($0) }) { drawing, o, x, y, width, height in
                var pixels = [UInt8](repeating: 0, count: kh * kw * inputs)
                for c in 0..<inputs {
                    for i in 0..<(kh * kw) { pixels[i * inputs + c] = byte(weight.scalars[(o * inputs + c) * kh * kw + i]) }
                }
                drawing.image(Image(width: kw, height: kh, channels: inputs, pixels: pixels), x: x, y: y, width: width, height: height,
                              smooth: false)
            }
        }
        let (rows, columns) = (min(16, outputs), min(16, inputs))
        let grid = Grid(columns: columns, cellWidth: cell, cellHeight: cell, captionSize: 10,
                        title: title + " (row: output channel, column: input channel)")
        return grid.render(count: rows * columns, caption: { _ in nil }) { drawing, index, x, y, width, height in
            let (o, i) = (index / columns, index % columns)
            let base = (o * inputs + i) * kh * kw
            let pixels = (0..<(kh * kw)).map { byte(weight.scalars[base + $0]) }
            drawing.image(Image(width: kw, height: kh, channels: 1, pixels: pixels), x: x, y: y, width: width, height: height, smooth: false)
        }
    }
}
