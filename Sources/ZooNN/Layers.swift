@_spi(Engine) import ZooTensor

/// A weight with PyTorch's default initialisation (Kaiming uniform, a = √5) and, when
/// `bias` gives its size, a bias U(−1/√fan_in, 1/√fan_in) — drawn in that order.
func defaultParameters(_ shape: [Int], bias count: Int?) -> (Variable, Variable?) {
    let (w, bound) = Init.pytorchDefault(weight: shape, using: &GlobalRandom.generator)
    let weight = Variable(w, requiresGrad: true)
    let bias = count.map { Variable(.randomUniform([$0], low: -bound, high: bound, using: &GlobalRandom.generator), requiresGrad: true) }
    return (weight, bias)
}

extension Module {
    /// Registers a layer's typed `weight` and optional `bias` under those names.
    func adopt(weight: Variable, bias: Variable?) {
        adoptParameter("weight", weight)
        if let bias { adoptParameter("bias", bias) }
    }
}

/// 2-D convolution, `weight` [C_out, C_in/groups, kH, kW] and optional `bias` [C_out].
public final class Conv2d: Module {
    public let weight: Variable
    public let bias: Variable?
    public let stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)
    public let groups: Int
    /// BatchNorm-folded weights for inference (see InferenceFusion).
    var folded: FoldedConvolution?

    public init(_ inChannels: Int, _ outChannels: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1, bias: Bool = true) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0,
                     "groups \(groups) must divide \(inChannels) input and \(outChannels) output channels")
        (self.stride, self.padding, self.dilation, self.groups) = (stride, padding, dilation, groups)
        (weight, self.bias) = defaultParameters([outChannels, inChannels / groups, kernel.0, kernel.1], bias: bias ? outChannels : nil)
        super.init()
        adopt(weight: weight, bias: self.bias)
    }

    /// A square kernel k×k with stride s and padding p.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                            dilation: Int = 1, groups: Int = 1, bias: Bool = true) {
        self.init(inChannels, outChannels, kernel: (kernel, kernel), stride: (stride, stride),
                  padding: (padding, padding), dilation: (dilation, dilation), groups: groups, bias: bias)
    }

    public var inChannels: Int { weight.shape[1] * groups }
    public var outChannels: Int { weight.shape[0] }
    public var kernel: (Int, Int) { (weight.shape[2], weight.shape[3]) }

    public override func forward(_ input: Variable) throws -> Variable {
        conv2d(input, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    public override func inputProblem(_ shape: [Int]) -> String? {
        spatialProblem(shape, channels: inChannels, kernel: kernel, stride: stride, padding: padding, dilation: dilation)
    }
}

/// The transpose of Conv2d (PyTorch's ConvTranspose2d), `weight` [C_in, C_out/groups, kH, kW].
public final class ConvTranspose2d: Module {
    public let weight: Variable
    public let bias: Variable?
    public let stride: (Int, Int), padding: (Int, Int), outputPadding: (Int, Int), dilation: (Int, Int)
    public let groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), outputPadding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1),
                groups: Int = 1, bias: Bool = true) {
        // PyTorch computes fan_in of this weight from its dimension 1 (C_out/groups)·k·k.
        (self.stride, self.padding, self.outputPadding, self.dilation, self.groups) = (stride, padding, outputPadding, dilation, groups)
        (weight, self.bias) = defaultParameters([inChannels, outChannels / groups, kernel.0, kernel.1], bias: bias ? outChannels : nil)
        super.init()
        adopt(weight: weight, bias: self.bias)
    }

    public override func forward(_ input: Variable) throws -> Variable {
        convTranspose2d(input, weight: weight, bias: bias, stride: stride, padding: padding,
                        outputPadding: outputPadding, dilation: dilation, groups: groups)
    }
}

/// y = x·Wᵀ + b, `weight` [out, in], `bias` [out].
public final class Linear: Module {
    public let weight: Variable
    public let bias: Variable?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        (weight, self.bias) = defaultParameters([outFeatures, inFeatures], bias: bias ? outFeatures : nil)
        super.init()
        adopt(weight: weight, bias: self.bias)
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public override func forward(_ input: Variable) throws -> Variable { linear(input, weight: weight, bias: bias) }

    public override func inputProblem(_ shape: [Int]) -> String? {
        shape.count == 2 && shape[1] == inFeatures ? nil : "it expects \(inFeatures) features, not \(shape.dropFirst().reduce(1, *))"
    }
}

/// Batch normalisation over channels of [N, C] or [N, C, H, W] (PyTorch's BatchNorm1d/2d):
/// `weight`, `bias`, and buffers `running_mean`, `running_var`, `num_batches_tracked`.
public final class BatchNorm: Module {
    public let weight: Variable
    public let bias: Variable
    public let runningMean: Buffer, runningVar: Buffer, batchesTracked: Buffer
    public let eps: Float, momentum: Float
    /// Whether a ReLU follows (timm's BatchNormAct2d: same keys, activation built in).
    /// In training, the statistics are the batch's, or all data-parallel processes' batches'
    /// while the thread's context synchronises batch norm (`ForwardContext.synchronisingBatchNorm`).
    public let appliesReLU: Bool

    public init(_ channels: Int, eps: Float = 1e-5, momentum: Float = 0.1, appliesReLU: Bool = false) {
        (self.eps, self.momentum, self.appliesReLU) = (eps, momentum, appliesReLU)
        weight = Variable(Tensor(zeros: [channels], value: 1), requiresGrad: true)
        bias = Variable(Tensor(zeros: [channels]), requiresGrad: true)
        runningMean = Buffer(Tensor(zeros: [channels]))
        runningVar = Buffer(Tensor(zeros: [channels], value: 1))
        batchesTracked = Buffer(Tensor(0), isInteger: true)
        super.init()
        adoptParameter("weight", weight)
        adoptParameter("bias", bias)
        adoptBuffer("running_mean", runningMean)
        adoptBuffer("running_var", runningVar)
        adoptBuffer("num_batches_tracked", batchesTracked)
    }

    public var channels: Int { weight.shape[0] }

    public override func forward(_ input: Variable) throws -> Variable { forward(input, relu: appliesReLU) }

    /// The normalisation, then a ReLU when `relu` (one pass in inference).
    func forward(_ input: Variable, relu withReLU: Bool) -> Variable {
        if !isTraining && !GradMode.isEnabled {
            let output = Variable(batchNormInference(input.value, weight: weight.value, bias: bias.value, runningMean: runningMean.value,
                                                     runningVar: runningVar.value, eps: eps, relu: withReLU))
            return PlanTrace.note(.batchNorm(mean: runningMean.value, variance: runningVar.value, weight: weight.value,
                                             bias: bias.value, eps: eps, relu: withReLU), [input], output)
        }
        if isTraining && GradMode.isEnabled { batchesTracked.value.scalars[0] += 1 }
        let normalised: Variable
        if isTraining {
            normalised = batchNorm(input, weight: weight, bias: bias, runningMean: &runningMean.value,
                                   runningVar: &runningVar.value, training: true, momentum: momentum, eps: eps,
                                   crossReplicaSum: ForwardContext.current.crossReplicaSum)
        } else {
            // Evaluation reads the statistics: no write-back, so their versions (and the plans and
            // folded weights made from them) stay as they are.
            var (mean, variance) = (runningMean.value, runningVar.value)
            normalised = batchNorm(input, weight: weight, bias: bias, runningMean: &mean, runningVar: &variance,
                                   training: false, momentum: momentum, eps: eps)
        }
        return withReLU ? relu(normalised) : normalised
    }

    public override func inputProblem(_ shape: [Int]) -> String? {
        shape.count >= 2 && shape[1] == channels ? nil : "it expects \(channels) channels"
    }
}

/// A layer that applies one parameter-free function.
public final class Lambda: Module {
    public let kind: String
    let function: (Variable) -> Variable

    public init(_ kind: String, _ function: @escaping (Variable) -> Variable) {
        self.kind = kind
        self.function = function
    }

    public override func forward(_ input: Variable) throws -> Variable { function(input) }
}

public func ReLU() -> Lambda { Lambda("ReLU", relu) }
public func ReLU6() -> Lambda { Lambda("ReLU6", relu6) }
public func Sigmoid() -> Lambda { Lambda("Sigmoid", sigmoid) }
public func Tanh() -> Lambda { Lambda("Tanh", tanh) }
public func SiLU() -> Lambda { Lambda("SiLU", silu) }
public func Flatten() -> Lambda { Lambda("Flatten", flatten) }

/// Pooling layers, by kind.
public final class Pool2d: Module {
    public enum Kind { case max, min, average(countIncludePad: Bool) }
    public let kind: Kind
    public let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)
    public let ceilMode: Bool

    public init(_ kind: Kind, kernel: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false) {
        self.kind = kind
        self.kernel = (kernel, kernel)
        self.stride = (stride ?? kernel, stride ?? kernel)
        self.padding = (padding, padding)
        self.ceilMode = ceilMode
    }

    public override func forward(_ input: Variable) throws -> Variable {
        switch kind {
        case .max: return maxPool2d(input, kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode)
        case .min: return minPool2d(input, kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode)
        case .average(let includePad):
            return avgPool2d(input, kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode, countIncludePad: includePad)
        }
    }

    public override func inputProblem(_ shape: [Int]) -> String? {
        spatialProblem(shape, channels: nil, kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode)
    }
}

public func MaxPool2d(_ kernel: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false) -> Pool2d {
    Pool2d(.max, kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode)
}

public func AvgPool2d(_ kernel: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false,
                      countIncludePad: Bool = true) -> Pool2d {
    Pool2d(.average(countIncludePad: countIncludePad), kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode)
}

/// Adaptive average pooling to `outputSize`; (1, 1) is global average pooling.
public final class AdaptiveAvgPool2d: Module {
    public let outputSize: (Int, Int)
    public init(_ outputSize: (Int, Int)) { self.outputSize = outputSize }
    public override func forward(_ input: Variable) throws -> Variable { adaptiveAvgPool2d(input, outputSize: outputSize) }

    public override func inputProblem(_ shape: [Int]) -> String? {
        shape.count == 4 && shape[2] > 0 && shape[3] > 0 ? nil : "it expects a non-empty [N, C, H, W] input"
    }
}

/// Dropout of elements, or with `channels` of whole channels (Dropout2d).
public final class Dropout: Module {
    public let probability: Float
    public let channels: Bool

    public init(_ probability: Float = 0.5, channels: Bool = false) {
        precondition(probability >= 0 && probability <= 1, "dropout probability must lie in [0, 1], got \(probability)")
        self.probability = probability
        self.channels = channels
    }

    public override func forward(_ input: Variable) throws -> Variable {
        channels
            ? channelDropout(input, probability: probability, training: isTraining, using: &GlobalRandom.generator)
            : dropout(input, probability: probability, training: isTraining, using: &GlobalRandom.generator)
    }
}

public final class LocalResponseNorm: Module {
    public let size: Int
    public let alpha: Float, beta: Float, k: Float

    public init(size: Int, alpha: Float = 1e-4, beta: Float = 0.75, k: Float = 1) {
        (self.size, self.alpha, self.beta, self.k) = (size, alpha, beta, k)
    }

    public override func forward(_ input: Variable) throws -> Variable {
        localResponseNorm(input, size: size, alpha: alpha, beta: beta, k: k)
    }
}

/// Pads (or, with negative margins, crops) each [H, W] plane with a constant: fixed margins
/// (PyTorch's `ZeroPad2d`), or TensorFlow's "SAME" margins for a window computed from each
/// input's size (timm's dynamic `pad_same`). Pad with −∞ before a max-pool so that the padding
/// is never the maximum.
public final class Pad2d: Module {
    public enum Amount: Equatable {
        case fixed(Margins)
        case same(kernel: Int, stride: Int)
    }
    public let amount: Amount
    public let value: Float

    public init(_ amount: Amount, value: Float = 0) {
        (self.amount, self.value) = (amount, value)
    }

    /// The margins for an input of `height`×`width`.
    public func margins(height: Int, width: Int) -> Margins {
        switch amount {
        case .fixed(let margins): return margins
        case .same(let kernel, let stride): return Margins.same(height: height, width: width, kernel: kernel, stride: stride)
        }
    }

    public override func forward(_ input: Variable) throws -> Variable {
        pad2d(input, margins(height: input.shape[2], width: input.shape[3]), value: value)
    }

    public override func inputProblem(_ shape: [Int]) -> String? {
        guard shape.count == 4 else { return "it expects a 4-D [N, C, H, W] input" }
        let m = margins(height: shape[2], width: shape[3])
        return shape[2] + m.top + m.bottom > 0 && shape[3] + m.left + m.right > 0
            ? nil : "its margins (\(m)) leave nothing of a \(shape[2])×\(shape[3]) input"
    }
}
