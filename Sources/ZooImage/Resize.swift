import Foundation

/// Resampling as Pillow (9.x) does it for 8-bit images, so preprocessing matches torchvision on
/// PIL images: a separable triangle (bilinear) or cubic filter whose support widens with the
/// downscale factor (antialiasing), coefficients normalised and fixed to 22 fractional bits,
/// horizontal pass first, each pass rounded and clipped to 8 bits.
public enum ResizeFilter: String {
    case bilinear, bicubic

    var support: Double { self == .bilinear ? 1 : 2 }

    func weight(_ x: Double) -> Double {
        let x = abs(x)
        switch self {
        case .bilinear:
            return x < 1 ? 1 - x : 0
        case .bicubic:
            let a = -0.5
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
    }
}

extension Image {
    static let precisionBits = 22

    /// For each output index: the first input index, the tap count, and fixed-point weights.
    static func coefficients(input: Int, output: Int, filter: ResizeFilter) -> (bounds: [(Int, Int)], weights: [[Int32]]) {
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        var bounds: [(Int, Int)] = []
        var weights: [[Int32]] = []
        for i in 0..<output {
            let center = (Double(i) + 0.5) * scale
            let low = max(Int(center - support + 0.5), 0)
            let high = min(Int(center + support + 0.5), input)
            var taps = (low..<max(low, high)).map { filter.weight((Double($0) - center + 0.5) / filterScale) }
            let total = taps.reduce(0, +)
            if total != 0 { taps = taps.map { $0 / total } }
            let unit = Double(1 << precisionBits)
            weights.append(taps.map { Int32($0 < 0 ? -0.5 + $0 * unit : 0.5 + $0 * unit) })
            bounds.append((low, taps.count))
        }
        return (bounds, weights)
    }

    static func clip8(_ sum: Int64) -> UInt8 {
        let shifted = sum >> Int64(precisionBits)
        return UInt8(max(0, min(255, shifted)))
    }

    /// This image resized to `width`×`height` with Pillow's resampling.
    public func resized(width newWidth: Int, height newHeight: Int, filter: ResizeFilter = .bilinear) -> Image {
        precondition(newWidth > 0 && newHeight > 0, "resize to \(newWidth)×\(newHeight)")
        var current = self
        let vertical = Image.coefficients(input: height, output: newHeight, filter: filter)
        if newWidth != width {
            // Only the rows the vertical pass reads.
            let first = vertical.bounds.first!.0
            let last = vertical.bounds.map { $0.0 + $0.1 }.max()!
            let rows = newHeight != height ? first..<last : 0..<height
            let (bounds, weights) = Image.coefficients(input: width, output: newWidth, filter: filter)
            var out = [UInt8](repeating: 0, count: newWidth * rows.count * channels)
            let half = Int64(1) << Int64(Image.precisionBits - 1)
            for (row, y) in rows.enumerated() {
                for x in 0..<newWidth {
                    let (start, count) = bounds[x]
                    for c in 0..<channels {
                        var sum = half
                        for k in 0..<count { sum += Int64(pixels[((y * width) + start + k) * channels + c]) * Int64(weights[x][k]) }
                        out[(row * newWidth + x) * channels + c] = Image.clip8(sum)
                    }
                }
            }
            current = Image(width: newWidth, height: rows.count, channels: channels, pixels: out)
            if newHeight != height {
                return current.resizedVertically(newHeight, bounds: vertical.bounds.map { ($0.0 - first, $0.1) }, weights: vertical.weights)
            }
            return current
        }
        if newHeight != height { return current.resizedVertically(newHeight, bounds: vertical.bounds, weights: vertical.weights) }
        return current
    }

    func resizedVertically(_ newHeight: Int, bounds: [(Int, Int)], weights: [[Int32]]) -> Image {
        var out = [UInt8](repeating: 0, count: width * newHeight * channels)
        let half = Int64(1) << Int64(Image.precisionBits - 1)
        for y in 0..<newHeight {
            let (start, count) = bounds[y]
            for x in 0..<width {
                for c in 0..<channels {
                    var sum = half
                    for k in 0..<count { sum += Int64(pixels[((start + k) * width + x) * channels + c]) * Int64(weights[y][k]) }
                    out[(y * width + x) * channels + c] = Image.clip8(sum)
                }
            }
        }
        return Image(width: width, height: newHeight, channels: channels, pixels: out)
    }

    /// torchvision's Resize(size) for an int size: the shorter side becomes `size`, the longer
    /// int(size · long / short).
    public func resized(shorterSide size: Int, filter: ResizeFilter = .bilinear) -> Image {
        let (short, long) = (min(width, height), max(width, height))
        let newLong = Int(Double(size) * Double(long) / Double(short))
        return width <= height ? resized(width: size, height: newLong, filter: filter) : resized(width: newLong, height: size, filter: filter)
    }

    /// torchvision's CenterCrop: offsets int(round((size − crop) / 2)) (round half to even),
    /// zero padding where the image is smaller than the crop.
    public func centerCropped(width cropWidth: Int, height cropHeight: Int) -> Image {
        var source = self
        if cropWidth > width || cropHeight > height {
            // Pad symmetrically first (left/top get the floor), as torchvision does.
            let padLeft = max(0, (cropWidth - width) / 2), padTop = max(0, (cropHeight - height) / 2)
            let paddedWidth = max(width, cropWidth), paddedHeight = max(height, cropHeight)
            var out = [UInt8](repeating: 0, count: paddedWidth * paddedHeight * channels)
            for y in 0..<height {
                for x in 0..<width {
                    for c in 0..<channels { out[((y + padTop) * paddedWidth + x + padLeft) * channels + c] = pixels[(y * width + x) * channels + c] }
                }
            }
            source = Image(width: paddedWidth, height: paddedHeight, channels: channels, pixels: out)
        }
        let top = Int((Double(source.height - cropHeight) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(source.width - cropWidth) / 2).rounded(.toNearestOrEven))
        var out = [UInt8](repeating: 0, count: cropWidth * cropHeight * channels)
        for y in 0..<cropHeight {
            let from = ((top + y) * source.width + left) * channels
            out.replaceSubrange(y * cropWidth * channels ..< (y + 1) * cropWidth * channels,
                                with: source.pixels[from ..< from + cropWidth * channels])
        }
        return Image(width: cropWidth, height: cropHeight, channels: channels, pixels: out)
    }
}
