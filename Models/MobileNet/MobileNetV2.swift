// MobileNetV2: M. Sandler, A. Howard, M. Zhu, A. Zhmoginov, L.-C. Chen, "MobileNetV2: Inverted
// Residuals and Linear Bottlenecks", CVPR 2018 — as torchvision defines it: a 3×3/2 stem of 32
// channels, seventeen inverted residual blocks (1×1 expansion by t – 3×3 depthwise – 1×1 linear
// projection, each conv followed by batch norm, ReLU6 after the first two; an identity skip where
// stride 1 keeps the width), a 1×1 conv to 1280 channels, global pooling, dropout 0.2, linear.
import ZooNN
import ZooTensor

/// conv (no bias) – batch norm – ReLU6, "same" padding (torchvision's Conv2dNormActivation).
/// Keys: 0 (conv), 1 (batch norm).
func convNormReLU6(_ inChannels: Int, _ outChannels: Int, kernel: Int = 3, stride: Int = 1, groups: Int = 1) -> Sequential {
    Sequential([Conv2d(inChannels, outChannels, kernel: kernel, stride: stride, padding: (kernel - 1) / 2, groups: groups, bias: false),
                BatchNorm(outChannels), ReLU6()])
}

/// [1×1 expand – bn – ReLU6] – 3×3 depthwise(stride) – bn – ReLU6 – 1×1 project – bn, plus the
/// input where stride 1 keeps the width. Keys: conv.{0,1,…}.
public func invertedResidual(_ inChannels: Int, _ outChannels: Int, stride: Int, expansion: Int) -> Module {
    let hidden = inChannels * expansion
    var layers: [Module] = expansion == 1 ? [] : [convNormReLU6(inChannels, hidden, kernel: 1)]
    layers += [convNormReLU6(hidden, hidden, stride: stride, groups: hidden),
               Conv2d(hidden, outChannels, kernel: 1, bias: false), BatchNorm(outChannels)]
    let body = Sequential(layers)
    return stride == 1 && inChannels == outChannels ? Residual(body: [("conv", body)]) : Sequential(named: [("conv", body)])
}

/// The inverted residual stages (columns: expansion t, output channels c, blocks n, first stride s).
let mobileNetV2Stages: [(expansion: Int, channels: Int, blocks: Int, stride: Int)] = [
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
]

/// torchvision's `mobilenet_v2` (width multiplier 1). Keys: features.0 (stem), features.1…17
/// (blocks), features.18 (1×1 to 1280), classifier.1.
public func mobileNetV2(classCount: Int = 1000, inputChannels: Int = 3, dropout: Float = 0.2) -> Sequential {
    var features: [Module] = [convNormReLU6(inputChannels, 32, stride: 2)]
    var channels = 32
    for stage in mobileNetV2Stages {
        for index in 0..<stage.blocks {
            features.append(invertedResidual(channels, stage.channels, stride: index == 0 ? stage.stride : 1, expansion: stage.expansion))
            channels = stage.channels
        }
    }
    features.append(convNormReLU6(channels, 1280, kernel: 1))
    let model = Sequential(named: [
        ("features", Sequential(features)),
        ("avgpool", AdaptiveAvgPool2d((1, 1))),
        ("flatten", Flatten()),
        ("classifier", Sequential([Dropout(dropout), Linear(1280, classCount)])),
    ])
    // torchvision: convs Kaiming normal (fan_out), batch norm 1/0, linear N(0, 0.01²), biases 0.
    for (_, module) in model.namedModules() {
        if let conv = module as? Conv2d {
            conv.weight.value = Init.kaimingNormal(conv.weight.shape, mode: .fanOut, using: &GlobalRandom.generator)
        } else if let fc = module as? Linear {
            fc.weight.value = .randomNormal(fc.weight.shape, std: 0.01, using: &GlobalRandom.generator)
            if let bias = fc.bias { bias.value = Tensor(zeros: bias.shape) }
        }
    }
    return model
}

/// The MobileNet family's models: v1 (timm's) and v2 (torchvision's).
public enum MobileNetFamily: ModelFamily {
    public static let entries = [
        ModelEntry("mobilenet_v1", family: "MobileNet", input: ModelEntry.imageNetInput, preprocessing: .timm(crop: 224, cropFraction: 0.875),
                   classifier: ["classifier"], explain: "blocks") {
            mobileNetV1(classCount: $0.classCount, inputChannels: $0.input[0])
        },
        ModelEntry("mobilenet_v2", family: "MobileNet", input: ModelEntry.imageNetInput, classifier: ["classifier.1"], explain: "features") {
            mobileNetV2(classCount: $0.classCount, inputChannels: $0.input[0])
        },
    ]
}
