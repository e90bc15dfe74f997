/// The sizes of one 2-D convolution: input [N, C_in, H, W], weight [C_out, C_in/groups, kH, kW],
/// output [N, C_out, OH, OW] with O = (I + 2P − D·(K − 1) − 1) / S + 1.
@_spi(Kernels) public struct ConvGeometry: Equatable {
    public var batch, inChannels, height, width: Int
    public var outChannels, kernelHeight, kernelWidth: Int
    public var strideHeight, strideWidth, padHeight, padWidth, dilationHeight, dilationWidth: Int
    public var groups: Int
    public var outHeight, outWidth: Int

    public init(input: [Int], weight: [Int], stride: (Int, Int), padding: (Int, Int),
                dilation: (Int, Int), groups: Int) {
        precondition(input.count == 4, "conv2d expects an NCHW input, got shape \(input)")
        precondition(weight.count == 4, "conv2d expects a weight [C_out, C_in/groups, kH, kW], got shape \(weight)")
        precondition(groups >= 1 && input[1] % groups == 0 && weight[0] % groups == 0,
                     "groups \(groups) must divide input channels \(input[1]) and output channels \(weight[0])")
        precondition(weight[1] * groups == input[1],
                     "weight \(weight) with groups \(groups) expects \(weight[1] * groups) input channels, input \(input) has \(input[1])")
        precondition(stride.0 > 0 && stride.1 > 0 && dilation.0 > 0 && dilation.1 > 0 && padding.0 >= 0 && padding.1 >= 0,
                     "invalid stride \(stride), padding \(padding) or dilation \(dilation)")
        (batch, inChannels, height, width) = (input[0], input[1], input[2], input[3])
        (outChannels, kernelHeight, kernelWidth) = (weight[0], weight[2], weight[3])
        (strideHeight, strideWidth) = stride
        (padHeight, padWidth) = padding
        (dilationHeight, dilationWidth) = dilation
        self.groups = groups
        outHeight = ConvGeometry.outputSize(height, kernelHeight, strideHeight, padHeight, dilationHeight)
        outWidth = ConvGeometry.outputSize(width, kernelWidth, strideWidth, padWidth, dilationWidth)
        precondition(outHeight > 0 && outWidth > 0,
                     "conv2d input \(input) is too small for kernel \(kernelHeight)×\(kernelWidth) with padding \(padding), dilation \(dilation)")
    }

    /// O = (I + 2P − D·(K − 1) − 1) / S + 1, rounded down.
    public static func outputSize(_ input: Int, _ kernel: Int, _ stride: Int, _ padding: Int, _ dilation: Int) -> Int {
        let span = input + 2 * padding - dilation * (kernel - 1) - 1
        return span < 0 ? 0 : span / stride + 1
    }

    public var inputShape: [Int] { [batch, inChannels, height, width] }
    public var weightShape: [Int] { [outChannels, inChannels / groups, kernelHeight, kernelWidth] }
    public var outputShape: [Int] { [batch, outChannels, outHeight, outWidth] }
    var groupInChannels: Int { inChannels / groups }
    var groupOutChannels: Int { outChannels / groups }
    var patchSize: Int { groupInChannels * kernelHeight * kernelWidth }
    var outPlane: Int { outHeight * outWidth }
    var inPlane: Int { height * width }
    /// A 1×1, stride-1, unpadded convolution is a plain matrix product per image.
    var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strideHeight == 1 && strideWidth == 1
            && padHeight == 0 && padWidth == 0
    }
    /// Multiply-accumulates of the forward pass.
    public var macs: Int { batch * outChannels * outPlane * patchSize }

    /// Images per im2col chunk. sgemm runs fastest here when its column matrix stays in cache
    /// (measured: 64×3136×576 per image at 176 GFLOP/s against 148 for all 8 images at
    /// once), so chunks hold about 8 MiB of columns, and small feature maps are batched
    /// together so that the product stays wide.
    var chunkSize: Int { max(1, min(batch, (2 << 20) / max(1, patchSize * outPlane))) }

    /// Above this many column values per image, the forward pass works in bands of output rows
    /// (tests lower it on a thread to exercise the banded path on small inputs: `ConvolutionPaths`).
    static var bandThreshold: Int { ForwardContext.current.convolutionPaths.bandThreshold }
    /// About how many column values one band holds.
    static var bandValues: Int { ForwardContext.current.convolutionPaths.bandValues }

    /// Threads for the image-parallel path, or 0 to use the chunked one. When one image's
    /// columns are small (≤ 4 MiB: every layer of a CIFAR net, the late stages of an ImageNet
    /// net), each thread takes whole images with a serial sgemm: its columns stay in its own
    /// L2 cache, and no chunk has to be gathered or scattered across images. Measured on a
    /// ResNet-20 training step at 28×28: im2col/col2im fell from 28% of the time. One thread
    /// works the same way (rather than one product over several images): OpenBLAS rounds a
    /// product's elements differently when its width changes, and a share of a batch
    /// (data-parallel training, see `BatchSums`) must compute each image as the whole batch does.
    var imageParallelThreads: Int {
        patchSize * outPlane <= min(1 << 20, ConvGeometry.bandThreshold) ? max(1, min(Threads.count, batch)) : 0
    }
}
