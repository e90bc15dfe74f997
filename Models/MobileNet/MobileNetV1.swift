// MobileNet (v1): A. G. Howard, M. Zhu, B. Chen, D. Kalenichenko, W. Wang, T. Weyand,
// M. Andreetto, H. Adam, "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
// Applications", 2017 — as timm defines `mobilenetv1_100` (width 1.0): a 3×3/2 stem of 32
// channels, thirteen depthwise separable blocks (3×3 depthwise – bn – ReLU6 – 1×1 pointwise –
// bn – ReLU6, no skips), global average pooling and a linear classifier. The paper uses ReLU;
// timm's weights were trained with ReLU6.
import ZooNN
import ZooTensor

/// 3×3 depthwise(stride) – bn – ReLU6 – 1×1 pointwise – bn – ReLU6.
/// Keys: conv_dw, bn1, conv_pw, bn2.
public func depthwiseSeparable(_ inChannels: Int, _ outChannels: Int, stride: Int) -> Sequential {
    Sequential(named: [
        ("conv_dw", Conv2d(inChannels, inChannels, kernel: 3, stride: stride, padding: 1, groups: inChannels, bias: false)),
        ("bn1", BatchNorm(inChannels)), ("act1", ReLU6()),
        ("conv_pw", Conv2d(inChannels, outChannels, kernel: 1, bias: false)),
        ("bn2", BatchNorm(outChannels)), ("act2", ReLU6()),
    ])
}

/// The stages of depthwise separable blocks (columns: output channels, blocks, first stride).
let mobileNetV1Stages: [(channels: Int, blocks: Int, stride: Int)] = [(64, 1, 1), (128, 2, 2), (256, 2, 2), (512, 6, 2), (1024, 2, 2)]

/// timm's `mobilenetv1_100`. Keys: conv_stem, bn1, blocks.{stage}.{block}.…, classifier.
public func mobileNetV1(classCount: Int = 1000, inputChannels: Int = 3) -> Sequential {
    var channels = 32
    var stages: [Module] = []
    for stage in mobileNetV1Stages {
        var blocks: [Module] = []
        for index in 0..<stage.blocks {
            blocks.append(depthwiseSeparable(channels, stage.channels, stride: index == 0 ? stage.stride : 1))
            channels = stage.channels
        }
        stages.append(Sequential(blocks))
    }
    let model = Sequential(named: [
        ("conv_stem", Conv2d(inputChannels, 32, kernel: 3, stride: 2, padding: 1, bias: false)),
        ("bn1", BatchNorm(32)), ("act1", ReLU6()),
        ("blocks", Sequential(stages)),
        ("global_pool", AdaptiveAvgPool2d((1, 1))), ("flatten", Flatten()),
        ("classifier", Linear(1024, classCount)),
    ])
    // timm's Google-style initialisation: convs N(0, 2/fan_out) with fan_out = k·k·C_out/groups,
    // batch norm 1 and 0, the classifier U(±1/√C_out) with zero bias.
    for (_, module) in model.namedModules() {
        if let conv = module as? Conv2d {
            let fanOut = conv.weight.shape[0] * conv.weight.shape[2] * conv.weight.shape[3] / conv.groups
            conv.weight.value = .randomNormal(conv.weight.shape, std: (2 / Float(fanOut)).squareRoot(), using: &GlobalRandom.generator)
        } else if let fc = module as? Linear {
            let range = 1 / Float(fc.weight.shape[0]).squareRoot()
            fc.weight.value = .randomUniform(fc.weight.shape, low: -range, high: range, using: &GlobalRandom.generator)
            if let bias = fc.bias { bias.value = Tensor(zeros: bias.shape) }
        }
    }
    return model
}
