import Foundation
import ZooImage
import ZooTensor

/// Training-time augmentation of 8-bit images.
public struct Augmentation: Equatable {
    /// Random crop back to the original size after padding each side with this many zeros.
    public var cropPadding: Int
    public var horizontalFlip: Bool
    /// torchvision's RandomResizedCrop on the stored image: a box of 8–100% of its area and
    /// aspect ratio 3/4–4/3 at a random place, resized back to the image size (image folders).
    public var randomResizedCrop: Bool

    public init(cropPadding: Int = 0, horizontalFlip: Bool = false, randomResizedCrop: Bool = false) {
        (self.cropPadding, self.horizontalFlip, self.randomResizedCrop) = (cropPadding, horizontalFlip, randomResizedCrop)
    }

    public static let none = Augmentation()
}

/// One mini-batch: images [B, C, H, W], normalised, and their labels.
public struct Batch {
    public var images: Tensor
    public var labels: [Int]
}

/// Batches of a dataset in a seeded order, augmented and normalised on a background thread
/// while the model works on the previous batch. The same seed gives the same batches.
public final class DataLoader: Sequence {
    public let dataset: ImageDataset
    public let batchSize: Int
    let order: [Int]
    let augmentation: Augmentation
    let mean: [Float], std: [Float]
    let seed: UInt64

    /// `seed` fixes the shuffle and the augmentation; nil keeps the dataset order (evaluation).
    public init(_ dataset: ImageDataset, batchSize: Int, seed: UInt64?, augmentation: Augmentation = .none,
                mean: [Float], std: [Float]) {
        precondition(batchSize > 0, "batch size must be positive")
        precondition(mean.count == dataset.shape[0] && std.count == dataset.shape[0], "one mean and std per channel")
        self.dataset = dataset
        self.batchSize = batchSize
        self.augmentation = augmentation
        (self.mean, self.std) = (mean, std)
        self.seed = seed ?? 0
        var order = Array(0..<dataset.count)
        if let seed {
            var rng = Xoshiro256(seed: seed)
            order.shuffle(using: &rng)
        }
        self.order = order
    }

    public var batchCount: Int { (dataset.count + batchSize - 1) / batchSize }

    /// Builds batch `index` (pure: depends only on the index, so any thread may build it).
    func batch(_ index: Int) -> Batch {
        let indices = Array(order[index * batchSize ..< Swift.min((index + 1) * batchSize, order.count)])
        let (c, h, w) = (dataset.shape[0], dataset.shape[1], dataset.shape[2])
        let imageSize = c * h * w
        var rng = Xoshiro256(seed: seed &* 0x9E37_79B9 &+ UInt64(index))
        let scale = (0..<c).map { 1 / (255 * std[$0]) }, shift = (0..<c).map { -mean[$0] / std[$0] }
        let images = Tensor(uninitialized: [indices.count, c, h, w]) { out in
            /// Writes one augmented, normalised image from `planes` ([C, H, W] bytes) to slot `slot`.
            func emit(_ planes: UnsafeBufferPointer<UInt8>, slot: Int, rng: inout Xoshiro256) {
                let pad = augmentation.cropPadding
                let dy = pad > 0 ? Int(rng.next() % UInt64(2 * pad + 1)) - pad : 0
                let dx = pad > 0 ? Int(rng.next() % UInt64(2 * pad + 1)) - pad : 0
                let flip = augmentation.horizontalFlip && rng.next() & 1 == 1
                let target = slot * imageSize
                for channel in 0..<c {
                    let zero = shift[channel]  // a padded (black) pixel after normalisation
                    for y in 0..<h {
                        let sy = y + dy
                        for x in 0..<w {
                            let sx = (flip ? w - 1 - x : x) + dx
                            let o = target + (channel * h + y) * w + x
                            out[o] = sy < 0 || sy >= h || sx < 0 || sx >= w
                                ? zero : Float(planes[(channel * h + sy) * w + sx]) * scale[channel] + shift[channel]
                        }
                    }
                }
            }
            dataset.pixels.withUnsafeBufferPointer { pixels in
                for (slot, sample) in indices.enumerated() {
                    let planes = UnsafeBufferPointer(rebasing: pixels[sample * imageSize ..< (sample + 1) * imageSize])
                    if augmentation.randomResizedCrop {
                        let cropped = DataLoader.randomResizedCrop(planes, channels: c, height: h, width: w, using: &rng)
                        cropped.withUnsafeBufferPointer { emit($0, slot: slot, rng: &rng) }
                    } else {
                        emit(planes, slot: slot, rng: &rng)
                    }
                }
            }
        }
        return Batch(images: images, labels: indices.map { dataset.labels[$0] })
    }

    /// A random box of the [C, H, W] planes, resized back to H×W with Pillow's bilinear filter.
    static func randomResizedCrop(_ planes: UnsafeBufferPointer<UInt8>, channels c: Int, height h: Int, width w: Int,
                                  using rng: inout Xoshiro256) -> [UInt8] {
        var box = (x: 0, y: 0, width: w, height: h)
        for _ in 0..<10 {
            let area = Double(w * h) * (0.08 + 0.92 * Double(rng.nextUniform()))
            let ratio = exp(log(3.0 / 4) + (log(4.0 / 3) - log(3.0 / 4)) * Double(rng.nextUniform()))
            let (bw, bh) = (Int((area * ratio).squareRoot().rounded()), Int((area / ratio).squareRoot().rounded()))
            if bw >= 1 && bh >= 1 && bw <= w && bh <= h {
                box = (Int(rng.next() % UInt64(w - bw + 1)), Int(rng.next() % UInt64(h - bh + 1)), bw, bh)
                break
            }
        }
        // Each channel plane is cropped and resized on its own (any channel count).
        var out = [UInt8](repeating: 0, count: c * h * w)
        for channel in 0..<c {
            var crop = [UInt8](repeating: 0, count: box.width * box.height)
            for y in 0..<box.height {
                for x in 0..<box.width { crop[y * box.width + x] = planes[(channel * h + box.y + y) * w + box.x + x] }
            }
            let resized = Image(width: box.width, height: box.height, channels: 1, pixels: crop).resized(width: w, height: h)
            out.replaceSubrange(channel * h * w ..< (channel + 1) * h * w, with: resized.pixels)
        }
        return out
    }

    public func makeIterator() -> Iterator { Iterator(self) }

    /// Prefetches the next batches on a background queue, at most two ahead.
    public final class Iterator: IteratorProtocol {
        let loader: DataLoader
        var position = 0
        let lock = NSCondition()
        var ready: [Int: Batch] = [:]
        var produced = 0
        let queue = DispatchQueue(label: "convzoo.dataloader")
        let ahead = 2

        init(_ loader: DataLoader) {
            self.loader = loader
            schedule()
        }

        /// Keeps up to `ahead` batches in flight.
        func schedule() {
            lock.lock()
            while produced < loader.batchCount && produced < position + ahead {
                let index = produced
                produced += 1
                queue.async { [loader, lock] in
                    let batch = loader.batch(index)
                    lock.lock()
                    self.ready[index] = batch
                    lock.broadcast()
                    lock.unlock()
                }
            }
            lock.unlock()
        }

        public func next() -> Batch? {
            guard position < loader.batchCount else { return nil }
            lock.lock()
            while ready[position] == nil { lock.wait() }
            let batch = ready.removeValue(forKey: position)!
            position += 1
            lock.unlock()
            schedule()
            return batch
        }
    }
}
