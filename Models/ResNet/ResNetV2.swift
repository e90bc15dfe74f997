// Pre-activation ResNet: K. He, X. Zhang, S. Ren, J. Sun, "Identity Mappings in Deep Residual
// Networks", ECCV 2016 — with timm's `resnetv2_*` layout and key names, so that timm's
// weights load: a 7×7 stem conv and max-pool with no norm (the first block normalises),
// stages of pre-activation blocks (bottleneck: 1×1, 3×3 with the stride, 1×1; basic: two 3×3),
// a 1×1 projection taken from the pre-activated input where the shape changes, a final
// norm + ReLU, and a 1×1 conv as the classifier (`head.fc`).
import ZooNN
import ZooTensor

/// Blocks per stage of timm's resnetv2 models (bottleneck from 50 layers on).
public let resNetV2Configurations: [Int: [Int]] = [
    18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3],
]

/// timm's resnetv2_`depth`. Keys: stem.conv, stages.{s}.blocks.{b}.{downsample.conv, norm1, conv1, …}, norm, head.fc.
public func resnetV2(depth: Int, classCount: Int = 1000, inputChannels: Int = 3) throws -> Sequential {
    guard let depths = resNetV2Configurations[depth] else {
        throw ZooError("ResNetV2's depth must be one of \(resNetV2Configurations.keys.sorted().map(String.init).joined(separator: ", ")), not \(depth)")
    }
    let isBottleneck = depth >= 50
    var channels = 64
    var stages: [Module] = []
    for (stage, count) in depths.enumerated() {
        let out = (isBottleneck ? 256 : 64) << stage
        var blocks: [Module] = []
        for index in 0..<count {
            let stride = stage > 0 && index == 0 ? 2 : 1
            let widths = isBottleneck ? [out / 4, out / 4, out] : [out, out]
            blocks.append(PreActBlock(channels, widths: widths, kernels: isBottleneck ? [1, 3, 1] : [3, 3],
                                      stride: stride, normName: "norm"))
            channels = out
        }
        stages.append(Sequential(named: [("blocks", Sequential(blocks))]))
    }
    let model = Sequential(named: [
        ("stem", Sequential(named: [
            ("conv", Conv2d(inputChannels, 64, kernel: 7, stride: 2, padding: 3, bias: false)),
            ("pool", MaxPool2d(3, stride: 2, padding: 1)),
        ])),
        ("stages", Sequential(stages)),
        ("norm", BatchNorm(channels, appliesReLU: true)),
        ("head", Sequential(named: [
            ("global_pool", AdaptiveAvgPool2d((1, 1))),
            ("fc", Conv2d(channels, classCount, kernel: 1)),
            ("flatten", Flatten()),
        ])),
    ])
    heInitialise(model)
    // timm: the classifier conv N(0, 0.01²) with zero bias.
    let fc = model.module(at: "head.fc") as! Conv2d
    fc.weight.value = .randomNormal(fc.weight.shape, std: 0.01, using: &GlobalRandom.generator)
    return model
}
