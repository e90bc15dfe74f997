// The residual blocks of torchvision's ResNet v1.5 (stride on the 3×3 conv), written over the
// shared `Residual` container. An optional attention module (SENet's squeeze-and-excitation)
// sits after the last batch norm of the body, before the join, as timm places it.
import ZooNN
import ZooTensor

/// Builds an attention module for a channel count (e.g. squeeze-and-excitation), or nil.
public typealias AttentionFactory = (_ channels: Int) -> Module

/// How a basic block's input reaches its output where the shape changes.
public enum BasicShortcut {
    /// conv1×1(stride) – bn, under the key `downsample` (the paper's option B; torchvision).
    case projection
    /// Subsample and pad the new channels with zeros: no parameters (option A; the CIFAR nets).
    case zeroPadding
    /// No shortcut at all: a plain block (conv–bn–relu–conv–bn–relu).
    case none
}

/// conv3×3(stride) – bn – relu – conv3×3 – bn [– attention] ⊕ shortcut – relu: the basic block
/// of the ImageNet ResNets (projection shortcuts) and the CIFAR nets (zero-padding shortcuts,
/// or none in a plain net). Keys: conv1, bn1, conv2, bn2, [se], and downsample.{0,1} for a
/// projection (a plain block ends in `relu`, a key-less module).
public func basicBlock(_ inChannels: Int, _ outChannels: Int, stride: Int = 1, shortcut: BasicShortcut = .projection,
                       attention: AttentionFactory? = nil, attentionName: String = "se") -> Module {
    var body: [(String, Module)] = [
        ("conv1", Conv2d(inChannels, outChannels, kernel: 3, stride: stride, padding: 1, bias: false)),
        ("bn1", BatchNorm(outChannels, appliesReLU: true)),
        ("conv2", Conv2d(outChannels, outChannels, kernel: 3, padding: 1, bias: false)),
        ("bn2", BatchNorm(outChannels)),
    ]
    if let attention { body.append((attentionName, attention(outChannels))) }
    let identity = stride == 1 && inChannels == outChannels
    switch shortcut {
    case .projection:
        return Residual(body: body, shortcut: projection(inChannels, outChannels, stride: stride), after: ReLU())
    case .zeroPadding:
        let pad = identity ? nil : ZeroPadShortcut(extraChannels: outChannels - inChannels, stride: stride)
        return Residual(body: body, shortcut: pad, shortcutName: "shortcut", after: ReLU())
    case .none:
        return Sequential(named: body + [("relu", ReLU())])
    }
}

/// conv1×1 – bn – relu – conv3×3(stride, groups) – bn – relu – conv1×1 – bn [– attention] ⊕
/// shortcut – relu, with `width` channels inside and `outChannels` (default 4·width) out. With
/// `groups` > 1 the 3×3 conv is grouped (ResNeXt's cardinality).
/// Keys: conv1, bn1, conv2, bn2, conv3, bn3, [se], downsample.{0,1}.
public func bottleneck(_ inChannels: Int, width: Int, outChannels: Int? = nil, stride: Int = 1, groups: Int = 1,
                       attention: AttentionFactory? = nil, attentionName: String = "se") -> Residual {
    let outChannels = outChannels ?? width * 4
    var body: [(String, Module)] = [
        ("conv1", Conv2d(inChannels, width, kernel: 1, bias: false)),
        ("bn1", BatchNorm(width, appliesReLU: true)),
        ("conv2", Conv2d(width, width, kernel: 3, stride: stride, padding: 1, groups: groups, bias: false)),
        ("bn2", BatchNorm(width, appliesReLU: true)),
        ("conv3", Conv2d(width, outChannels, kernel: 1, bias: false)),
        ("bn3", BatchNorm(outChannels)),
    ]
    if let attention { body.append((attentionName, attention(outChannels))) }
    return Residual(body: body, shortcut: projection(inChannels, outChannels, stride: stride), after: ReLU())
}

/// conv1×1(stride) – bn when the shape changes (the paper's option B), else nil (identity).
func projection(_ inChannels: Int, _ outChannels: Int, stride: Int) -> Module? {
    guard stride != 1 || inChannels != outChannels else { return nil }
    return Sequential([Conv2d(inChannels, outChannels, kernel: 1, stride: stride, bias: false), BatchNorm(outChannels)])
}

/// He et al. 2015 initialisation as torchvision applies it: convs Kaiming normal (fan_out),
/// batch norm γ = 1, β = 0; with `zeroInitResidual`, the last batch norm of every residual
/// body starts at γ = 0 so that each block starts as the identity.
public func heInitialise(_ model: Module, zeroInitResidual: Bool = false) {
    for (_, module) in model.namedModules() {
        if let conv = module as? Conv2d {
            conv.weight.value = Init.kaimingNormal(conv.weight.shape, mode: .fanOut, using: &GlobalRandom.generator)
            if let bias = conv.bias { bias.value = Tensor(zeros: bias.shape) }
        }
        if zeroInitResidual, let block = module as? Residual, let last = block.lastBodyNorm {
            last.weight.value = Tensor(zeros: last.weight.shape)
        }
    }
}

extension Residual {
    /// The last batch norm of the body (bn2 of a basic block, bn3 of a bottleneck).
    var lastBodyNorm: BatchNorm? { bodyModules.compactMap { $0 as? BatchNorm }.last }
}
