// The CIFAR-10 networks of He et al. 2016 §4.2 ("Deep Residual Learning for Image
// Recognition"): a 3×3 conv with 16 filters, three stages of n blocks on 32×32, 16×16 and
// 8×8 maps with 16, 32 and 64 filters, global average pooling and a linear classifier —
// 6n + 2 weight layers. The shortcut where the width doubles is the paper's option A:
// subsample by 2 and pad the new channels with zeros, so that residual and plain nets
// have exactly the same parameters. The plain nets drop every shortcut.
//
// The pre-activation nets follow K. He, X. Zhang, S. Ren, J. Sun, "Identity Mappings in Deep
// Residual Networks", ECCV 2016: bn – relu – conv ordering, a 1×1 projection where the shape
// changes, and for 164 layers bottleneck blocks with 4× expansion (64, 128, 256 output filters).
import ZooNN
import ZooTensor

public enum CIFARNetKind: String, CaseIterable { case plain, residual, preact }

/// Pre-activation block: bn–relu–conv(–bn–relu–conv…) with the shortcut taken from the
/// pre-activated input when it needs a projection. Keys: bn1, conv1, bn2, conv2, [bn3, conv3], downsample.
public final class PreActBlock: Module {
    let steps: [String]

    /// `widths` are the convs' output channels; kernel 3 for a basic block's two convs, and
    /// 1, 3, 1 for a bottleneck's three. The stride sits on the first 3×3 conv.
    public init(_ inChannels: Int, widths: [Int], kernels: [Int], stride: Int, normName: String = "bn",
                reLUAfterFirstNorm: Bool = true) {
        var steps: [String] = []
        var modules: [(String, Module)] = []
        var channels = inChannels
        let stridedConv = kernels.firstIndex(of: 3) ?? 0
        for (index, (width, kernel)) in zip(widths, kernels).enumerated() {
            let n = index + 1
            modules.append(("\(normName)\(n)", BatchNorm(channels, appliesReLU: true)))
            modules.append(("conv\(n)", Conv2d(channels, width, kernel: kernel, stride: index == stridedConv ? stride : 1,
                                               padding: kernel / 2, bias: false)))
            steps += ["\(normName)\(n)", "conv\(n)"]
            channels = width
        }
        self.steps = steps
        super.init()
        if stride != 1 || inChannels != channels {
            register("downsample", Sequential(named: [("conv", Conv2d(inChannels, channels, kernel: 1, stride: stride, bias: false))]))
        }
        for (name, module) in modules { register(name, module) }
    }

    public override func forward(_ input: Variable) throws -> Variable {
        let preactivated = try child(steps[0])!(input)
        let shortcut = try child("downsample").map { try $0(preactivated) } ?? input
        let body = try steps.dropFirst().reduce(preactivated) { try child($1)!($0) }
        return add(body, shortcut)
    }
}

/// A CIFAR-style network of `depth` layers for 32×32 (or 28×28) inputs.
/// residual/plain: depth = 6n + 2 with basic blocks; preact: 6n + 2 (basic) or, with
/// `bottleneck`, 9n + 2. Keys: conv1, bn1, layer{1-3}.{i}.…, [bn (preact)], fc.
public func cifarResNet(depth: Int, kind: CIFARNetKind, bottleneck: Bool = false, classCount: Int = 10,
                        inputChannels: Int = 3, zeroInitResidual: Bool = false,
                        attention: AttentionFactory? = nil) throws -> Sequential {
    let perBlock = bottleneck ? 9 : 6
    guard depth >= perBlock + 2 && (depth - 2) % perBlock == 0 else {
        throw ZooError("a CIFAR \(bottleneck ? "bottleneck" : "basic") net has \(perBlock)n + 2 layers; \(depth) is not of that form")
    }
    guard !bottleneck || kind == .preact else { throw ZooError("bottleneck CIFAR nets are pre-activation nets, not \(kind.rawValue)") }
    let n = (depth - 2) / perBlock
    var layers: [(String, Module)] = [("conv1", Conv2d(inputChannels, 16, kernel: 3, padding: 1, bias: false))]
    if kind != .preact { layers.append(("bn1", BatchNorm(16, appliesReLU: true))) }
    var channels = 16
    for stage in 0..<3 {
        let width = 16 << stage
        var blocks: [Module] = []
        for index in 0..<n {
            let stride = stage > 0 && index == 0 ? 2 : 1
            switch kind {
            case .plain, .residual:
                blocks.append(basicBlock(channels, width, stride: stride, shortcut: kind == .residual ? .zeroPadding : .none,
                                         attention: attention))
                channels = width
            case .preact:
                let widths = bottleneck ? [width, width, width * 4] : [width, width]
                blocks.append(PreActBlock(channels, widths: widths, kernels: bottleneck ? [1, 3, 1] : [3, 3], stride: stride))
                channels = widths.last!
            }
        }
        layers.append(("layer\(stage + 1)", Sequential(blocks)))
    }
    if kind == .preact { layers.append(("bn", BatchNorm(channels, appliesReLU: true))) }
    layers += [("avgpool", AdaptiveAvgPool2d((1, 1))), ("flatten", Flatten()), ("fc", Linear(channels, classCount))]
    let model = Sequential(named: layers)
    heInitialise(model, zeroInitResidual: zeroInitResidual)
    if zeroInitResidual && kind == .preact {
        // A pre-activation body ends in a conv: zero it so each block starts as the identity.
        for case let block as PreActBlock in model.namedModules().map(\.module) {
            if let last = block.child(block.steps.last!) as? Conv2d { last.weight.value = Tensor(zeros: last.weight.shape) }
        }
    }
    return model
}
