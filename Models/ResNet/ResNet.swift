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
                   zeroInitResidual: Bool = false, attention: AttentionFactory? = nil) -> Sequential {
    guard let (kind, depths) = resNetConfigurations[depth] else {
        preconditionFailure("ResNet depth must be one of \(resNetConfigurations.keys.sorted()), not \(depth)")
    }
    precondition(kind == .bottleneck || (groups == 1 && widthPerGroup == 64), "basic blocks have one group of 64 per stage width")
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
