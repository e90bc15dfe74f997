import Foundation
import ZooTensor

/// Labelled images held in memory as 8-bit pixels, [N, C, H, W] (channel planes).
public struct ImageDataset {
    public var name: String
    /// [C, H, W] of every image.
    public var shape: [Int]
    public var pixels: [UInt8]
    public var labels: [Int]
    public var classNames: [String]

    public var count: Int { labels.count }
    public var classCount: Int { classNames.count }
    var imageSize: Int { shape.reduce(1, *) }

    public init(name: String, shape: [Int], pixels: [UInt8], labels: [Int], classNames: [String]) {
        precondition(pixels.count == labels.count * shape.reduce(1, *), "\(labels.count) labels for \(pixels.count) bytes of \(shape) images")
        (self.name, self.shape, self.pixels, self.labels, self.classNames) = (name, shape, pixels, labels, classNames)
    }

    /// The images at `indices`, in that order.
    public func subset(_ indices: [Int], name: String? = nil) -> ImageDataset {
        var out = [UInt8](); out.reserveCapacity(indices.count * imageSize)
        for i in indices { out += pixels[i * imageSize ..< (i + 1) * imageSize] }
        return ImageDataset(name: name ?? self.name, shape: shape, pixels: out, labels: indices.map { labels[$0] }, classNames: classNames)
    }

    /// The first `count` images after a seeded shuffle (a class-mixed subset), named
    /// "NAME (a seeded subset of COUNT of TOTAL images)" when it is smaller than the set.
    public func randomSubset(_ count: Int, seed: UInt64) -> ImageDataset {
        var rng = Xoshiro256(seed: seed)
        var order = Array(0..<self.count)
        order.shuffle(using: &rng)
        let kept = min(count, self.count)
        return subset(Array(order.prefix(kept)), name: kept < self.count ? "\(name) (a seeded subset of \(kept) of \(self.count) images)" : nil)
    }

    /// Splits off the last `fraction` of a seeded shuffle as a validation set.
    public func split(validationFraction fraction: Double, seed: UInt64) -> (train: ImageDataset, validation: ImageDataset) {
        var rng = Xoshiro256(seed: seed)
        var order = Array(0..<count)
        order.shuffle(using: &rng)
        let validationCount = Int((Double(count) * fraction).rounded())
        return (subset(Array(order.dropLast(validationCount)), name: name + " (train part)"),
                subset(Array(order.suffix(validationCount)), name: name + " (validation part)"))
    }

    /// Per-channel mean and standard deviation of the pixels scaled to [0, 1].
    public func channelStatistics() -> (mean: [Float], std: [Float]) {
        let (c, plane) = (shape[0], shape[1] * shape[2])
        var sums = [Double](repeating: 0, count: c), squares = [Double](repeating: 0, count: c)
        for image in 0..<count {
            for channel in 0..<c {
                let base = image * imageSize + channel * plane
                for i in 0..<plane { let v = Double(pixels[base + i]) / 255; sums[channel] += v; squares[channel] += v * v }
            }
        }
        let n = Double(count * plane)
        let mean = sums.map { $0 / n }
        return (mean.map(Float.init), zip(squares, mean).map { Float(($0 / n - $1 * $1).squareRoot()) })
    }
}
