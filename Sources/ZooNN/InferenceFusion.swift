@_spi(Engine) @_spi(Kernels) import ZooTensor

/// Inference-time fusion. When nothing records gradients and the modules are in evaluation
/// mode, a Conv2d followed by a BatchNorm (and a ReLU) runs as one convolution: the
/// normalisation is folded into the convolution's weights and bias,
///   w' = w · γ/√(σ² + ε),   b' = (b − μ) · γ/√(σ² + ε) + β,
/// and the ReLU is applied in the pass that adds the bias. The folded weights are cached on
/// the Conv2d and rebuilt when any of the six tensors changes (their version counters).
/// A BatchNorm followed by a ReLU (pre-activation, DenseNet) becomes one pass too.
/// Training, gradients, summaries and the state_dict never see a difference.
enum InferenceFusion {
    static func applies(to module: Module) -> Bool {
        guard !module.isTraining else { return false }
        let context = ForwardContext.current
        return !context.recordsGradients && context.observer == nil && context.tracer == nil
    }

    /// Runs `modules` in order on `input`, fusing Conv2d → BatchNorm [→ ReLU] runs. With
    /// `join`, the modules end in a Conv2d → BatchNorm whose output is added to `join.skip`
    /// (then a ReLU when `join.relu`) in the convolution's own output pass: a residual block.
    static func run(_ modules: [Module], _ input: Variable, join: (skip: Variable, relu: Bool)? = nil) throws -> Variable {
        var x = input
        var i = 0
        var pending = join
        while i < modules.count {
            if let conv = modules[i] as? Conv2d, i + 1 < modules.count, let bn = modules[i + 1] as? BatchNorm,
               !conv.isTraining, !bn.isTraining, bn.channels == conv.outChannels, bn.weight.shape.count == 1 {
                var relu = bn.appliesReLU
                var used = 2
                if !relu, i + 2 < modules.count, let next = modules[i + 2] as? Lambda, next.kind == "ReLU" {
                    relu = true
                    used = 3
                }
                try conv.checkInput(x.shape)
                if let join = pending, i + used == modules.count, !relu {
                    x = conv.foldedForward(x, bn, relu: join.relu, accumulate: join.skip)
                    pending = nil
                } else {
                    x = conv.foldedForward(x, bn, relu: relu)
                }
                i += used
            } else if let bn = modules[i] as? BatchNorm, !bn.isTraining, !bn.appliesReLU, i + 1 < modules.count,
                      let next = modules[i + 1] as? Lambda, next.kind == "ReLU" {
                // A pre-activation BatchNorm → ReLU (DenseNet): one pass.
                try bn.checkInput(x.shape)
                x = bn.forward(x, relu: true)
                i += 2
            } else {
                x = try modules[i](x)
                i += 1
            }
        }
        if let pending {
            // The last pair did not fuse: the join as separate passes.
            x = add(x, pending.skip)
            if pending.relu { x = relu(x) }
        }
        return x
    }
}

/// Folds an evaluation-mode BatchNorm into the convolution before it, in double precision:
///   w' = w · γ/√(σ² + ε),   b' = (b − μ) · γ/√(σ² + ε) + β   (b = 0 when there is none).
/// `weight` holds the output channels one after another.
@_spi(Engine) public func foldBatchNorm(weight: inout [Double], bias: inout [Double]?, mean: Tensor, variance: Tensor, gamma: Tensor,
                   beta: Tensor, eps: Float) {
    let channels = mean.count, perChannel = weight.count / channels
    var folded = [Double](repeating: 0, count: channels)
    for c in 0..<channels {
        let scale = Double(gamma.scalars[c]) / (Double(variance.scalars[c]) + Double(eps)).squareRoot()
        for j in 0..<perChannel { weight[c * perChannel + j] *= scale }
        folded[c] = ((bias?[c] ?? 0) - Double(mean.scalars[c])) * scale + Double(beta.scalars[c])
    }
    bias = folded
}

/// The BatchNorm-folded weights of a Conv2d, and the versions they were made from.
final class FoldedConvolution {
    let key: [Int]
    let weight: Tensor
    let bias: Tensor
    /// These weights never change: oneDNN keeps its own layout of them under this tag.
    let tag = OneDNN.newWeightsTag()

    init(key: [Int], weight: Tensor, bias: Tensor) { (self.key, self.weight, self.bias) = (key, weight, bias) }

    deinit { OneDNN.forget(tag) }
}

extension Conv2d {
    func foldedForward(_ input: Variable, _ bn: BatchNorm, relu: Bool, accumulate: Variable? = nil) -> Variable {
        let key = [weight.version, bias?.version ?? -1, bn.weight.version, bn.bias.version, bn.runningMean.version,
                   bn.runningVar.version, ObjectIdentifier(bn).hashValue]
        if folded?.key != key {
            var (w, b) = (weight.value.scalars.map(Double.init), bias.map { $0.value.scalars.map(Double.init) })
            foldBatchNorm(weight: &w, bias: &b, mean: bn.runningMean.value, variance: bn.runningVar.value,
                          gamma: bn.weight.value, beta: bn.bias.value, eps: bn.eps)
            folded = FoldedConvolution(key: key, weight: Tensor(shape: weight.shape, scalars: w.map(Float.init)),
                                       bias: Tensor(shape: [outChannels], scalars: b!.map(Float.init)))
        }
        return Variable(conv2dInference(input.value, weight: folded!.weight, bias: folded!.bias, stride: stride, padding: padding,
                                        dilation: dilation, groups: groups, relu: relu, accumulate: accumulate?.value,
                                        weightsTag: folded!.tag))
    }
}
