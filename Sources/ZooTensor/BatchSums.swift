/// How training sums over the images of a batch, so that data-parallel processes, each with a
/// share of the batch, and any number of threads compute the sums one process computes.
///
/// Floating-point addition depends on its order: a weight gradient summed over 128 images in one
/// process and over 64 + 64 in two rounds differently, and a long run at a high learning rate
/// grows that last-bit difference into a visible one. So every sum over the batch is taken in
/// pieces that depend neither on how the batch is split nor on the threads, in float, and the
/// pieces are added in double (where sums of a few hundred floats are exact, or within 2⁻⁵³),
/// then rounded once:
/// - the weight gradients of convolutions through oneDNN: one piece per `OneDNN.imagesPerPiece`
///   images, each one call of a primitive made for one thread (oneDNN's kernels divide their
///   sums by the threads they are made for on AVX-512, and for some shapes on AVX2);
/// - the other weight gradients (ConvZoo's own convolutions, fully connected layers): one piece
///   per group of `groupSize` consecutive images, each group one kernel call whose shapes do not
///   depend on the threads;
/// - bias gradients and batch norm's sums: one piece per image and channel.
/// Each image's output and input gradient do not depend on the threads or on the rest of the
/// batch either: oneDNN runs them in the same pieces, ConvZoo's convolutions one image at a time,
/// and products whose height is the batch (fully connected layers) one group at a time (OpenBLAS
/// rounds a row differently in a product of another height).
/// Data-parallel training adds the processes' double sums (`Variable.exactGradient`) before
/// rounding, so N processes whose shares are whole groups compute the steps one process does,
/// whatever the threads of each (ThreadCountTests, BatchSumsTests, DistributedTrainingTests).
@_spi(Kernels) public enum BatchSums {
    /// Images per group. 16: shares of a 128-image batch over 2, 4 or 8 processes are whole
    /// groups, and a 16-image batch (resnet50, AlexNet) is one kernel call, as before groups
    /// (at 8, AlexNet's training step took 1.4× as long: its fully connected weights were read
    /// and summed twice).
    public static let groupSize = 16

    /// Sums over a batch's groups: one group's float sum as it is (exact; no double pass over a
    /// large weight gradient), or several groups' sums added in double.
    public enum GroupSums {
        case one([Float])
        case several([Double])

        /// Rounded to float (the gradient).
        public var floats: [Float] {
            switch self {
            case .one(let values): return values
            case .several(let sums): return sums.map(Float.init)
            }
        }
    }

    /// Σ over the groups of `batch` images of `partial(first, count, sum)`, which writes the float
    /// sum of `count` values over images first ..< first + count into `sum` (zeroed beforehand).
    static func overGroups(batch: Int, count: Int,
                           _ partial: (_ first: Int, _ images: Int, _ sum: UnsafeMutablePointer<Float>) -> Void) -> GroupSums {
        if batch <= groupSize {
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBufferPointer { partial(0, batch, $0.baseAddress!) }
            return .one(values)
        }
        var sums = [Double](repeating: 0, count: count)
        Workspace.shared.withBuffer(count) { scratch in
            sums.withUnsafeMutableBufferPointer { total in
                forEachGroup(batch: batch) { first, images in
                    scratch.update(repeating: 0, count: count)
                    partial(first, images, scratch)
                    parallelRanges(count) { range in for i in range { total[i] += Double(scratch[i]) } }
                }
            }
        }
        return .several(sums)
    }

    /// Σ of `pieces` float sums of `count` values that `fill` writes one after another (it returns
    /// false when it could not), added in double in piece order; nil when `fill` failed.
    static func ofPieces(_ pieces: Int, count: Int, _ fill: (UnsafeMutablePointer<Float>) -> Bool) -> GroupSums? {
        if pieces == 1 {
            var values = [Float](repeating: 0, count: count)
            return values.withUnsafeMutableBufferPointer { fill($0.baseAddress!) } ? .one(values) : nil
        }
        return Workspace.shared.withBuffer(pieces * count) { floats -> GroupSums? in
            guard fill(floats) else { return nil }
            var sums = [Double](repeating: 0, count: count)
            sums.withUnsafeMutableBufferPointer { total in
                parallelRanges(count) { range in
                    for piece in 0..<pieces {
                        let part = floats + piece * count
                        for i in range { total[i] += Double(part[i]) }
                    }
                }
            }
            return .several(sums)
        }
    }

    /// body(first, count) for each group of `groupSize` consecutive images of a batch.
    static func forEachGroup(batch: Int, _ body: (_ first: Int, _ images: Int) -> Void) {
        let group = max(1, groupSize)
        for first in stride(from: 0, to: batch, by: group) { body(first, min(group, batch - first)) }
    }
}
