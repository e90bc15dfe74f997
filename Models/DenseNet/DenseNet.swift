// DenseNet: G. Huang, Z. Liu, L. van der Maaten, K. Q. Weinberger, "Densely Connected
// Convolutional Networks", CVPR 2017 — the ImageNet nets as torchvision defines them
// (DenseNet-BC: 1×1 bottlenecks of 4·k channels, transitions halving the channels; the
// final norm5 is followed by ReLU and global pooling), and DenseNet-BC-100 (k = 12) for
// CIFAR as in the paper's §3: a 3×3 stem of 2k channels and three dense blocks.
import Foundation
import ZooNN
import ZooTensor

/// Maps a key of torchvision's pre-0.3 DenseNet checkpoints (`denselayer1.norm.1.weight`,
/// still what its published weights hold) to the current one (`denselayer1.norm1.weight`).
public func denseNetKey(_ key: String) -> String {
    guard key.contains("denselayer") else { return key }
    var key = key
    for part in ["norm", "relu", "conv"] {
        for n in ["1", "2"] { key = key.replacingOccurrences(of: ".\(part).\(n).", with: ".\(part)\(n).") }
    }
    return key
}

/// bn – relu – conv1×1 (bnSize·k) – bn – relu – conv3×3 (k) [– dropout], fed the
/// concatenation of every earlier feature map. Keys: norm1, conv1, norm2, conv2.
public final class DenseLayer: Module {
    public init(_ inChannels: Int, growthRate: Int, bottleneckFactor: Int = 4, dropout: Float = 0) {
        super.init()
        let width = bottleneckFactor * growthRate
        register("norm1", BatchNorm(inChannels, appliesReLU: true))
        register("conv1", Conv2d(inChannels, width, kernel: 1, bias: false))
        register("norm2", BatchNorm(width, appliesReLU: true))
        register("conv2", Conv2d(width, growthRate, kernel: 3, padding: 1, bias: false))
        if dropout > 0 { register("dropout", Dropout(dropout)) }
    }

    public override func forward(_ input: Variable) throws -> Variable {
        try children.reduce(input) { try $1.module($0) }
    }
}

/// Dense layers each adding `growthRate` channels. Keys: denselayer1 … denselayerN.
public final class DenseBlock: Module {
    public init(layers: Int, inChannels: Int, growthRate: Int, bottleneckFactor: Int = 4, dropout: Float = 0) {
        super.init()
        for index in 0..<layers {
            register("denselayer\(index + 1)", DenseLayer(inChannels + index * growthRate, growthRate: growthRate,
                                                          bottleneckFactor: bottleneckFactor, dropout: dropout))
        }
    }

    public override func forward(_ input: Variable) throws -> Variable {
        // [N, C, H, W] → [N, C + L·k, H, W]
        var features = [input]
        for (_, layer) in children { try features.append(layer(features.count == 1 ? input : concat(features))) }
        return concat(features)
    }
}

/// bn – relu – conv1×1 – avgpool 2×2. Keys: norm, conv.
func transition(_ inChannels: Int, _ outChannels: Int) -> Sequential {
    Sequential(named: [
        ("norm", BatchNorm(inChannels, appliesReLU: true)),
        ("conv", Conv2d(inChannels, outChannels, kernel: 1, bias: false)),
        ("pool", AvgPool2d(2, stride: 2)),
    ])
}

/// Growth rate, layers per block, stem width (columns: k, blocks, initial features).
public let denseNetConfigurations: [Int: (growthRate: Int, blocks: [Int], initialFeatures: Int)] = [
    121: (32, [6, 12, 24, 16], 64),
    161: (48, [6, 12, 36, 24], 96),
    169: (32, [6, 12, 32, 32], 64),
    201: (32, [6, 12, 48, 32], 64),
]

/// torchvision's DenseNet-`depth`. Keys: features.{conv0, norm0, denseblock1, transition1, …, norm5}, classifier.
public func densenet(depth: Int, classCount: Int = 1000, inputChannels: Int = 3, dropout: Float = 0) throws -> Sequential {
    guard let config = denseNetConfigurations[depth] else {
        throw ZooError("DenseNet's depth must be one of \(denseNetConfigurations.keys.sorted().map(String.init).joined(separator: ", ")), not \(depth)")
    }
    var features: [(String, Module)] = [
        ("conv0", Conv2d(inputChannels, config.initialFeatures, kernel: 7, stride: 2, padding: 3, bias: false)),
        ("norm0", BatchNorm(config.initialFeatures, appliesReLU: true)),
        ("pool0", MaxPool2d(3, stride: 2, padding: 1)),
    ]
    let channels = appendDenseStages(to: &features, blocks: config.blocks, channels: config.initialFeatures,
                                     growthRate: config.growthRate, dropout: dropout, finalNorm: "norm5")
    return finishDenseNet(features, channels: channels, classCount: classCount)
}

/// DenseNet-BC for 32×32 inputs: depth = 6n + 4 (n layers per block, three blocks), growth k,
/// a 3×3 stem conv of 2k channels, compression 0.5.
public func cifarDenseNetBC(depth: Int = 100, growthRate: Int = 12, classCount: Int = 10, inputChannels: Int = 3) throws -> Sequential {
    guard (depth - 4) % 6 == 0 && depth > 4 else { throw ZooError("DenseNet-BC's depth must be 6n + 4, not \(depth)") }
    let n = (depth - 4) / 6
    var features: [(String, Module)] = [("conv0", Conv2d(inputChannels, 2 * growthRate, kernel: 3, padding: 1, bias: false))]
    let channels = appendDenseStages(to: &features, blocks: [n, n, n], channels: 2 * growthRate,
                                     growthRate: growthRate, dropout: 0, finalNorm: "norm_final")
    return finishDenseNet(features, channels: channels, classCount: classCount)
}

func appendDenseStages(to features: inout [(String, Module)], blocks: [Int], channels start: Int,
                       growthRate: Int, dropout: Float, finalNorm: String) -> Int {
    var channels = start
    for (index, layers) in blocks.enumerated() {
        features.append(("denseblock\(index + 1)", DenseBlock(layers: layers, inChannels: channels, growthRate: growthRate, dropout: dropout)))
        channels += layers * growthRate
        if index < blocks.count - 1 {
            features.append(("transition\(index + 1)", transition(channels, channels / 2)))
            channels /= 2
        }
    }
    features.append((finalNorm, BatchNorm(channels, appliesReLU: true)))
    return channels
}

/// features → global average pool → classifier, with torchvision's initialisation
/// (convs Kaiming normal fan_in, batch norm 1/0, linear bias 0).
func finishDenseNet(_ features: [(String, Module)], channels: Int, classCount: Int) -> Sequential {
    let model = Sequential(named: [
        ("features", Sequential(named: features)),
        ("avgpool", AdaptiveAvgPool2d((1, 1))),
        ("flatten", Flatten()),
        ("classifier", Linear(channels, classCount)),
    ])
    for (_, module) in model.namedModules() {
        if let conv = module as? Conv2d { conv.weight.value = Init.kaimingNormal(conv.weight.shape, using: &GlobalRandom.generator) }
        if let fc = module as? Linear { fc.bias?.value = Tensor(zeros: fc.bias!.shape) }
    }
    return model
}

/// The DenseNet family's models: torchvision's DenseNets and the CIFAR DenseNet-BC-100.
public enum DenseNetFamily: ModelFamily {
    public static let entries = [121, 161, 169, 201].map { depth in
        ModelEntry("densenet\(depth)", family: "DenseNet", input: ModelEntry.imageNetInput, classifier: ["classifier"],
                   explain: "features.denseblock4", renameKey: denseNetKey) {
            try densenet(depth: depth, classCount: $0.classCount, inputChannels: $0.input[0])
        }
    } + [
        ModelEntry("densenet_bc_100", family: "DenseNet", input: ModelEntry.cifarInput, classes: 10, classifier: ["classifier"],
                   explain: "features.denseblock3", renameKey: denseNetKey) {
            try cifarDenseNetBC(depth: 100, classCount: $0.classCount, inputChannels: $0.input[0])
        },
    ]
}
