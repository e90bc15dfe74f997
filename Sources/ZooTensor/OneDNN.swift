import CZooDNNL
import Foundation

/// Convolutions through oneDNN when its library (libdnnl.so.2) is on the machine.
///
/// Measured on this project's 2-core machine, oneDNN's convolution kernels ran six ResNet
/// layers 1.5–4.6× faster than a plain im2col + OpenBLAS loop (its JIT-compiled kernels
/// work on blocked layouts, where im2col copies every patch and OpenBLAS packs both operands
/// again for every product), and a ResNet-20 training step in 318 ms against 515 ms on
/// ConvZoo's own path.
/// ConvKernels calls it first and keeps its own im2col path for when the library is
/// missing, a shape is refused, or `ZOO_CONV=blas` is set.
@_spi(Kernels) public enum OneDNN {
    /// Whether ConvKernels may use oneDNN on this thread (tests switch it off to check the
    /// other path; see `ConvolutionPaths`).
    public static var isEnabled: Bool { ForwardContext.current.convolutionPaths.oneDNN }

    /// True when the library loaded (and `ZOO_CONV` is not "blas").
    public static let isAvailable: Bool = zoo_dnnl_available() != 0

    /// Convolutions with fewer multiply-accumulates per image than this stay on ConvZoo's own
    /// path: on LeNet-5's (117 k and 240 k per image) oneDNN's per-call reorders and thread
    /// start-up cost more than its kernels save (a Fashion-MNIST epoch at batch 64: 4.8 s
    /// through oneDNN, 4.1 s without). Every ResNet-20 layer has ≥ 2.4 M. The rule is per
    /// image so that the kernel does not depend on the batch size: a share of a batch
    /// (data-parallel training, `BatchSums`' groups) runs the kernel the whole batch runs.
    /// Grouped and depthwise convolutions go to oneDNN whatever their size: ConvZoo's path runs
    /// one small matrix product per group (MobileNet v2 at batch 1: 31 ms that way, 18 ms
    /// through oneDNN).
    /// ZOO_DNNL_MIN_MACS sets it for a process; tests change it for a thread (`ConvolutionPaths`).
    public static var minimumMACs: Int { ForwardContext.current.convolutionPaths.oneDNNMinimumMACs }
    static let defaultMinimumMACs = Int(ProcessInfo.processInfo.environment["ZOO_DNNL_MIN_MACS"] ?? "") ?? (1 << 18)

    static func active(_ g: ConvGeometry) -> Bool {
        let paths = ForwardContext.current.convolutionPaths
        return paths.oneDNN && (g.macs >= paths.oneDNNMinimumMACs * max(g.batch, 1) || g.groups > 1) && g.fitsInt32 && isAvailable
    }

    /// oneDNN's name for the kernel it chose for this convolution (after a first call),
    /// kind 0 forward, 1 input gradient, 2 weight gradient.
    @_spi(Kernels) public static func implementation(_ g: ConvGeometry, kind: Int) -> String {
        var shape = g.dnnlShape
        return String(cString: zoo_dnnl_implementation(&shape, Int32(kind)))
    }

    /// Images per piece when oneDNN runs a convolution in pieces, each piece a call made for one
    /// thread and the pieces spread over the threads (`zoo_dnnl.h`): the kernels oneDNN picks on
    /// AVX-512 (and for some shapes on AVX2) divide a primitive's sums among the threads it is
    /// made for, so the thread count would change the bits. The piece depends on the geometry
    /// alone, never on the batch or the threads, and divides `BatchSums.groupSize`, so that a
    /// data-parallel share of whole groups runs the pieces one process runs. It is the fewest
    /// images (a power of two) with 2²³ multiply-accumulates, a tenth of a millisecond of one
    /// thread's work (less, and each call's reorders and set-up weigh), and for weight gradients
    /// also with at least 256 output positions summed per weight (fewer, and writing each piece's
    /// weight gradient costs more than computing it).
    static func imagesPerPiece(_ g: ConvGeometry, weightGradient: Bool) -> Int {
        let perImage = max(1, g.macs / max(g.batch, 1))
        var images = 1
        while BatchSums.groupSize % (2 * images) == 0
                && (images * perImage < 1 << 23 || weightGradient && images * g.outPlane < 256) {
            images *= 2
        }
        return images
    }

    /// With `wholeBatch`, one call made for all the threads (inference: nothing is summed over the
    /// batch, and a single image still uses every thread); otherwise in pieces.
    static func forward(_ g: ConvGeometry, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                        _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, accumulate: Bool, relu: Bool,
                        weightsTag: UInt64, wholeBatch: Bool) -> Bool {
        guard active(g) else { return false }
        var shape = g.dnnlShape
        let piece = wholeBatch ? 0 : imagesPerPiece(g, weightGradient: false)
        return zoo_dnnl_conv_forward(&shape, x, w, bias, y, accumulate ? 1 : 0, relu ? 1 : 0, weightsTag, Int32(Threads.count),
                                     Int32(piece)) == 0
    }

    /// Whether `forward` with `accumulate` is a fused sum for this shape (else: add separately).
    static func fusesSum(_ g: ConvGeometry) -> Bool {
        guard active(g) else { return false }
        var shape = g.dnnlShape
        return zoo_dnnl_fuses_sum(&shape) != 0
    }

    /// A new tag for weights that will not change (see `conv2dInference`).
    public static func newWeightsTag() -> UInt64 { tags.next() }

    /// Frees oneDNN's kept copy of the weights under `tag`.
    public static func forget(_ tag: UInt64) {
        if isAvailable { zoo_dnnl_forget(tag) }
    }

    private static let tags = TagCounter()

    /// 1, 2, 3, … to any thread, each once.
    private final class TagCounter {
        private let lock = NSLock()
        private var last: UInt64 = 0
        func next() -> UInt64 {
            lock.lock()
            defer { lock.unlock() }
            last += 1
            return last
        }
    }

    static func backwardData(_ g: ConvGeometry, _ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                             _ dx: UnsafeMutablePointer<Float>) -> Bool {
        guard active(g) else { return false }
        var shape = g.dnnlShape
        return zoo_dnnl_conv_backward_data(&shape, dy, w, dx, Int32(Threads.count), Int32(imagesPerPiece(g, weightGradient: false))) == 0
    }

    /// The weight gradient as the double sum of one float gradient per piece of images, or nil
    /// when oneDNN does not run this convolution.
    static func backwardWeightSums(_ g: ConvGeometry, _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>) -> BatchSums.GroupSums? {
        guard active(g) else { return nil }
        var shape = g.dnnlShape
        let piece = imagesPerPiece(g, weightGradient: true)
        return BatchSums.ofPieces((g.batch + piece - 1) / piece, count: g.weightShape.reduce(1, *)) { pieces in
            zoo_dnnl_conv_backward_weights(&shape, x, dy, pieces, Int32(Threads.count), Int32(piece)) == 0
        }
    }
}

extension ConvGeometry {
    /// oneDNN's bridge takes 32-bit sizes; larger ones stay on ConvZoo's own path.
    var fitsInt32: Bool {
        [batch, inChannels, height, width, outChannels, kernelHeight, kernelWidth, strideHeight, strideWidth,
         padHeight, padWidth, dilationHeight, dilationWidth, groups, outHeight, outWidth].allSatisfy { $0 <= Int(Int32.max) }
    }

    var dnnlShape: zoo_conv_shape {
        func i(_ v: Int) -> Int32 { Int32(truncatingIfNeeded: v) }
        return zoo_conv_shape(batch: i(batch), in_channels: i(inChannels), height: i(height), width: i(width),
                              out_channels: i(outChannels), kernel_h: i(kernelHeight), kernel_w: i(kernelWidth),
                              stride_h: i(strideHeight), stride_w: i(strideWidth), pad_h: i(padHeight), pad_w: i(padWidth),
                              dilation_h: i(dilationHeight), dilation_w: i(dilationWidth), groups: i(groups),
                              out_h: i(outHeight), out_w: i(outWidth))
    }
}

