import Foundation
import ZooTensor

/// One mini-batch: images [B, C, H, W], normalised, and their labels. In data-parallel
/// training a batch is one process's share of a global batch of `globalCount` images.
public struct Batch {
    public var images: Tensor
    public var labels: [Int]
    /// The images of the whole step across the processes (`labels.count` in one process).
    public var globalCount: Int
    /// The place of this batch's first image in the whole step's (0 in one process).
    public var globalOffset: Int

    public init(images: Tensor, labels: [Int], globalCount: Int? = nil, globalOffset: Int = 0) {
        (self.images, self.labels, self.globalCount, self.globalOffset) = (images, labels, globalCount ?? labels.count, globalOffset)
    }
}

/// Batches of a dataset in a seeded order, augmented and normalised on a background thread
/// while the model works on the previous batch. The same seed gives the same batches.
///
/// With a `shard` (data-parallel training: process `index` of `count`) each batch is that
/// process's contiguous share of the global batch. The order is global and each image's
/// augmentation is drawn from its own seed (the seed and its position in the epoch), so the
/// images of a step, and how they are augmented, do not depend on the number of processes.
public final class DataLoader: Sequence {
    public let dataset: ImageDataset
    public let batchSize: Int
    let order: [Int]
    let augmentation: Augmentation
    let mean: [Float], std: [Float]
    let seed: UInt64
    /// This process's place among the processes that share each batch.
    public let shard: (index: Int, count: Int)

    /// `seed` fixes the shuffle and the augmentation; nil keeps the dataset order (evaluation).
    public init(_ dataset: ImageDataset, batchSize: Int, seed: UInt64?, augmentation: Augmentation = .none,
                mean: [Float], std: [Float], shard: (index: Int, count: Int) = (0, 1)) {
        precondition(batchSize > 0, "batch size must be positive")
        precondition(shard.count > 0 && (0..<shard.count).contains(shard.index), "shard \(shard.index) of \(shard.count)")
        self.shard = shard
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

    /// The positions in the epoch's order of this shard's share of global batch `index`: of a
    /// global batch of G images, shard i of n takes [i·G/n, (i+1)·G/n).
    public func positions(ofBatch index: Int) -> (range: Range<Int>, globalCount: Int) {
        let start = index * batchSize, global = Swift.min(batchSize, order.count - start)
        return (start + shard.index * global / shard.count ..< start + (shard.index + 1) * global / shard.count, global)
    }

    /// Builds batch `index` (pure: depends only on the index, so any thread may build it).
    func batch(_ index: Int) -> Batch {
        let (positions, globalCount) = self.positions(ofBatch: index)
        let indices = Array(order[positions])
        let (c, h, w) = (dataset.shape[0], dataset.shape[1], dataset.shape[2])
        let imageSize = c * h * w
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
                    var rng = Xoshiro256(seed: seed &* 0x9E37_79B9 &+ UInt64(positions.lowerBound + slot))
                    let planes = UnsafeBufferPointer(rebasing: pixels[sample * imageSize ..< (sample + 1) * imageSize])
                    if augmentation.randomResizedCrop {
                        let cropped = Augmentation.randomResizedCrop(planes, channels: c, height: h, width: w, using: &rng)
                        cropped.withUnsafeBufferPointer { emit($0, slot: slot, rng: &rng) }
                    } else {
                        emit(planes, slot: slot, rng: &rng)
                    }
                }
            }
        }
        return Batch(images: images, labels: indices.map { dataset.labels[$0] }, globalCount: globalCount,
                     globalOffset: positions.lowerBound - index * batchSize)
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
