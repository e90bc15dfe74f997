// ResNet: K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image Recognition",
// CVPR 2016 — as torchvision defines it ("v1.5"): in a bottleneck the stride sits on the
// 3×3 conv, not the first 1×1 as in the paper; projection shortcuts (option B) where the
// shape changes; an adaptive global average pool.
//
// ResNeXt (S. Xie, R. Girshick, P. Dollár, Z. Tu, K. He, "Aggregated Residual Transformations for
// Deep Neural Networks", CVPR 2017) and Wide ResNet-50/101 (S. Zagoruyko, N. Komodakis, "Wide
// Residual Networks", BMVC 2016, in torchvision's bottleneck form: the 3×3 width doubled) are the
// same builder with `groups` and `widthPerGroup`, as torchvision builds them.
import ZooNN
import ZooTensor

public enum ResidualBlockKind { case basic, bottleneck }

/// Block kind and blocks per stage, by depth (columns: kind, [stage 1, 2, 3, 4]).
public let resNetConfigurations: [Int: (block: ResidualBlockKind, depths: [Int])] = [
    18: (.basic, [2, 2, 2, 2]),
    34: (.basic, [3, 4, 6, 3]),
    50: (.bottleneck, [3, 4, 6, 3]),
    101: (.bottleneck, [3, 4, 23, 3]),
    152: (.bottleneck, [3, 8, 36, 3]),
]

/// torchvision's ResNet-`depth`. Keys: conv1, bn1, layer{1-4}.{i}.…, fc. With `attention`,
/// every block carries it (timm's SE-ResNets). A bottleneck of stage s has
/// ⌊64·2^s · widthPerGroup / 64⌋ · groups channels in its 3×3 conv (grouped by `groups`) and
/// 4 · 64·2^s out: ResNeXt-50 32×4d is `groups: 32, widthPerGroup: 4`, Wide ResNet-50-2 is
/// `widthPerGroup: 128`.
public func resnet(depth: Int, classCount: Int = 1000, inputChannels: Int = 3, groups: Int = 1, widthPerGroup: Int = 64,
                   zeroInitResidual: Bool = false, attention: AttentionFactory? = nil) throws -> Sequential {
    guard let (kind, depths) = resNetConfigurations[depth] else {
        throw ZooError("ResNet's depth must be one of \(resNetConfigurations.keys.sorted().map(String.init).joined(separator: ", ")), not \(depth)")
    }
    guard kind == .bottleneck || (groups == 1 && widthPerGroup == 64) else {
        throw ZooError("ResNet-\(depth)'s basic blocks have one group of 64 per stage width, not \(groups) of \(widthPerGroup)")
    }
    var layers: [(String, Module)] = [
        ("conv1", Conv2d(inputChannels, 64, kernel: 7, stride: 2, padding: 3, bias: false)),
        ("bn1", BatchNorm(64, appliesReLU: true)),
        ("maxpool", MaxPool2d(3, stride: 2, padding: 1)),
    ]
    var channels = 64
    for (stage, count) in depths.enumerated() {
        let width = 64 << stage
        var blocks: [Module] = []
        for index in 0..<count {
            let stride = stage > 0 && index == 0 ? 2 : 1
            switch kind {
            case .basic:
                blocks.append(basicBlock(channels, width, stride: stride, attention: attention))
                channels = width
            case .bottleneck:
                let inner = width * widthPerGroup / 64 * groups
                blocks.append(bottleneck(channels, width: inner, outChannels: width * 4, stride: stride, groups: groups, attention: attention))
                channels = width * 4
            }
        }
        layers.append(("layer\(stage + 1)", Sequential(blocks)))
    }
    layers += [("avgpool", AdaptiveAvgPool2d((1, 1))), ("flatten", Flatten()), ("fc", Linear(channels, classCount))]
    let model = Sequential(named: layers)
    heInitialise(model, zeroInitResidual: zeroInitResidual)
    return model
}

/// The ResNet family's models: torchvision's ResNets, ResNeXts and Wide ResNets, timm's
/// ResNetV2s and SE-ResNets (listed as the SENet family), and the CIFAR networks of He et al.
/// 2016's depth experiment (plain, residual, pre-activation) with their SE variants.
public enum ResNetFamily: ModelFamily {
    public static let entries: [ModelEntry] = {
        let imageNet = ModelEntry.imageNetInput, cifar = ModelEntry.cifarInput
        var all = [18, 34, 50, 101, 152].map { depth in
            ModelEntry("resnet\(depth)", family: "ResNet", input: imageNet) {
                try resnet(depth: depth, classCount: $0.classCount, inputChannels: $0.input[0], zeroInitResidual: $0.zeroInitResidual)
            }
        }
        for (name, depth, groups, widthPerGroup) in [("resnext50_32x4d", 50, 32, 4), ("resnext101_32x8d", 101, 32, 8),
                                                     ("wide_resnet50_2", 50, 1, 128), ("wide_resnet101_2", 101, 1, 128)] {
            all.append(ModelEntry(name, family: "ResNet", input: imageNet) {
                try resnet(depth: depth, classCount: $0.classCount, inputChannels: $0.input[0], groups: groups, widthPerGroup: widthPerGroup,
                           zeroInitResidual: $0.zeroInitResidual)
            })
        }
        for depth in [18, 34, 50, 101, 152] {
            // timm's resnetv2 weights: crop_pct 0.95 at 224 (resize 235), bicubic, mean = std = 0.5.
            all.append(ModelEntry("resnetv2_\(depth)", family: "ResNet", input: imageNet, preprocessing: .timm(crop: 224, cropFraction: 0.95),
                                  classifier: ["head.fc"], explain: "norm") {
                try resnetV2(depth: depth, classCount: $0.classCount, inputChannels: $0.input[0])
            })
        }
        for kind in [CIFARNetKind.residual, .plain] {
            for depth in [20, 32, 44, 56, 110] {
                all.append(ModelEntry("\(kind == .plain ? "plain" : "resnet")\(depth)", family: "ResNet", input: cifar, classes: 10,
                                      explain: "layer3") {
                    try cifarResNet(depth: depth, kind: kind, classCount: $0.classCount, inputChannels: $0.input[0],
                                    zeroInitResidual: $0.zeroInitResidual)
                })
            }
        }
        all.append(ModelEntry("preact_resnet110", family: "ResNet", input: cifar, classes: 10, explain: "bn") {
            try cifarResNet(depth: 110, kind: .preact, classCount: $0.classCount, inputChannels: $0.input[0],
                            zeroInitResidual: $0.zeroInitResidual)
        })
        all.append(ModelEntry("preact_resnet164", family: "ResNet", input: cifar, classes: 10, explain: "bn") {
            try cifarResNet(depth: 164, kind: .preact, bottleneck: true, classCount: $0.classCount, inputChannels: $0.input[0],
                            zeroInitResidual: $0.zeroInitResidual)
        })
        for depth in [18, 34, 50, 101, 152] {
            // timm's seresnet50 weights: crop_pct 0.95 at 224, bicubic, ImageNet mean and std.
            all.append(ModelEntry("seresnet\(depth)", family: "SENet", input: imageNet,
                                  preprocessing: .timm(crop: 224, cropFraction: 0.95, mean: Preprocessing.imageNet.mean,
                                                       std: Preprocessing.imageNet.std)) {
                try seresnet(depth: depth, classCount: $0.classCount, inputChannels: $0.input[0])
            })
        }
        for depth in [20, 56] {
            all.append(ModelEntry("se_resnet\(depth)", family: "SENet", input: cifar, classes: 10, explain: "layer3") {
                try cifarSEResNet(depth: depth, classCount: $0.classCount, inputChannels: $0.input[0])
            })
        }
        return all
    }()
}
