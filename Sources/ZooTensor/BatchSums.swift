/// How training sums over the images of a batch, so that data-parallel processes, each with a
/// share of the batch, compute the sums one process computes.
///
/// Floating-point addition depends on its order: a weight gradient summed over 128 images in one
/// process and over 64 + 64 in two rounds differently, and a long run at a high learning rate
/// grows that last-bit difference into a visible one. So every sum over the batch is taken in
/// pieces that do not depend on how the batch is split, in float, and the pieces are added in
/// double (where sums of a few hundred floats are exact, or within 2⁻⁵³), then rounded once:
/// - the weight gradients of convolutions and fully connected layers: one piece per group of
///   `groupSize` consecutive images (each group is one kernel call);
/// - bias gradients and batch norm's sums: one piece per image and channel.
/// Products whose height is the batch (fully connected layers) also run one group at a time:
/// OpenBLAS rounds a row differently in a product of another height.
/// Data-parallel training adds the processes' double sums (`Variable.exactGradient`) before
/// rounding, so N processes whose shares are whole groups compute the steps one process does,
/// whatever the threads of each: ConvZoo's own kernels and the fully connected products run in
/// shapes that do not depend on the thread count, and oneDNN's kernels did not depend on it for
/// the shapes BatchSumsTests and DistributedTrainingTests try (one process of 2 threads against
/// processes of 1).
public enum BatchSums {
    /// Images per group. 16: shares of a 128-image batch over 2, 4 or 8 processes are whole
    /// groups, and a 16-image batch (resnet50, AlexNet) is one kernel call, as before groups
    /// (at 8, AlexNet's training step took 1.4× as long: its fully connected weights were read
    /// and summed twice).
    nonisolated(unsafe) public static var groupSize = 16

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

    /// body(first, count) for each group of `groupSize` consecutive images of a batch.
    static func forEachGroup(batch: Int, _ body: (_ first: Int, _ images: Int) -> Void) {
        let group = max(1, groupSize)
        for first in stride(from: 0, to: batch, by: group) { body(first, min(group, batch - first)) }
    }
}

/// Where this process's images sit in the step's global batch in data-parallel training: images
/// [first, first + N) of `global`, N being the local batch (set by the trainer around the forward
/// pass; nil in one process). Random draws per image (dropout's masks) then come out as the whole
/// batch draws them for these images, and the generator ends where the whole batch leaves it.
public enum BatchShare {
    nonisolated(unsafe) public static var current: (first: Int, global: Int)?
}
