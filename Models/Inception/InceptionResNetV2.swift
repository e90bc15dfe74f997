// Inception-ResNet-v2: C. Szegedy, S. Ioffe, V. Vanhoucke, A. Alemi, "Inception-v4,
// Inception-ResNet and the Impact of Residual Connections on Learning", AAAI 2017 — as timm's
// `inception_resnet_v2` defines it (the port of Google's TF-slim weights): an unpadded stem of
// BasicConv2d (conv, batch norm eps 1e-3, ReLU) and 3×3/2 max-pools, Mixed_5b, ten Block35 at
// 35×35, Mixed_6a (reduction), twenty Block17 at 17×17, Mixed_7a (reduction), ten Block8 at
// 8×8 (the last without its ReLU), a 1×1 conv to 1536, global pooling and a linear classifier.
// Each residual block concatenates its branches, projects them back with a 1×1 conv (with
// bias), scales the result (0.17, 0.10, 0.20) and adds it to its input.
import ZooNN
import ZooTensor

/// relu?(x + scale · conv2d(concat(branches(x)))). Keys: the branches' names, then `conv2d`.
public final class InceptionResNetBlock: Module {
    public let scale: Float
    public let appliesReLU: Bool

    init(_ branches: [(String, Module)], projection: Conv2d, scale: Float, appliesReLU: Bool = true) {
        (self.scale, self.appliesReLU) = (scale, appliesReLU)
        super.init()
        for (name, branch) in branches { register(name, branch) }
        register("conv2d", projection)
    }

    public override func forward(_ input: Variable) throws -> Variable {
        let branches = try children.dropLast().map { try $0.module(input) }
        let sum = try add(ZooTensor.scale(child("conv2d")!(concat(branches)), by: scale), input)
        return appliesReLU ? relu(sum) : sum
    }
}

/// A chain of BasicConv2d: (in, out, kernel (h, w), stride, padding (h, w)) each. Keys 0, 1, …
private func convs(_ layers: [(Int, Int, (Int, Int), Int, (Int, Int))]) -> Sequential {
    Sequential(layers.map { BasicConv2d($0.0, $0.1, kernel: $0.2, stride: ($0.3, $0.3), padding: $0.4) })
}

/// 35×35: 1×1; 1×1 → 3×3; 1×1 → 3×3 → 3×3; projected to 320.
private func block35() -> InceptionResNetBlock {
    InceptionResNetBlock([
        ("branch0", BasicConv2d(320, 32, kernel: 1)),
        ("branch1", convs([(320, 32, square1, 1, none), (32, 32, square3, 1, one)])),
        ("branch2", convs([(320, 32, square1, 1, none), (32, 48, square3, 1, one), (48, 64, square3, 1, one)])),
    ], projection: Conv2d(128, 320, kernel: 1), scale: 0.17)
}

/// 17×17: 1×1; 1×1 → 1×7 → 7×1; projected to 1088.
private func block17() -> InceptionResNetBlock {
    InceptionResNetBlock([
        ("branch0", BasicConv2d(1088, 192, kernel: 1)),
        ("branch1", convs([(1088, 128, square1, 1, none), (128, 160, (1, 7), 1, (0, 3)), (160, 192, (7, 1), 1, (3, 0))])),
    ], projection: Conv2d(384, 1088, kernel: 1), scale: 0.10)
}

/// 8×8: 1×1; 1×1 → 1×3 → 3×1; projected to 2080.
private func block8(scale: Float = 0.20, appliesReLU: Bool = true) -> InceptionResNetBlock {
    InceptionResNetBlock([
        ("branch0", BasicConv2d(2080, 192, kernel: 1)),
        ("branch1", convs([(2080, 192, square1, 1, none), (192, 224, (1, 3), 1, (0, 1)), (224, 256, (3, 1), 1, (1, 0))])),
    ], projection: Conv2d(448, 2080, kernel: 1), scale: scale, appliesReLU: appliesReLU)
}

/// timm's `inception_resnet_v2`. Keys: conv2d_1a … conv2d_4a, mixed_5b, repeat.{0-9}, mixed_6a,
/// repeat_1.{0-19}, mixed_7a, repeat_2.{0-8}, block8, conv2d_7b, classif. PyTorch's default
/// initialisation throughout, as timm leaves it.
public func inceptionResNetV2(classCount: Int = 1000, inputChannels: Int = 3) -> Sequential {
    Sequential(named: inceptionStem(inputChannels: inputChannels, names: [
        "conv2d_1a", "conv2d_2a", "conv2d_2b", "maxpool_3a", "conv2d_3b", "conv2d_4a", "maxpool_5a",
    ]) + [
        ("mixed_5b", Concat([
            ("branch0", BasicConv2d(192, 96, kernel: 1)),
            ("branch1", convs([(192, 48, square1, 1, none), (48, 64, (5, 5), 1, (2, 2))])),
            ("branch2", convs([(192, 64, square1, 1, none), (64, 96, square3, 1, one), (96, 96, square3, 1, one)])),
            ("branch3", Sequential([AvgPool2d(3, stride: 1, padding: 1, countIncludePad: false), BasicConv2d(192, 64, kernel: 1)])),
        ])),
        ("repeat", Sequential((0..<10).map { _ in block35() })),
        ("mixed_6a", Concat([
            ("branch0", BasicConv2d(320, 384, kernel: 3, stride: 2)),
            ("branch1", convs([(320, 256, square1, 1, none), (256, 256, square3, 1, one), (256, 384, square3, 2, none)])),
            ("branch2", MaxPool2d(3, stride: 2)),
        ])),
        ("repeat_1", Sequential((0..<20).map { _ in block17() })),
        ("mixed_7a", Concat([
            ("branch0", convs([(1088, 256, square1, 1, none), (256, 384, square3, 2, none)])),
            ("branch1", convs([(1088, 256, square1, 1, none), (256, 288, square3, 2, none)])),
            ("branch2", convs([(1088, 256, square1, 1, none), (256, 288, square3, 1, one), (288, 320, square3, 2, none)])),
            ("branch3", MaxPool2d(3, stride: 2)),
        ])),
        ("repeat_2", Sequential((0..<9).map { _ in block8() })),
        ("block8", block8(scale: 1, appliesReLU: false)),
        ("conv2d_7b", BasicConv2d(2080, 1536, kernel: 1)),
        ("global_pool", AdaptiveAvgPool2d((1, 1))), ("flatten", Flatten()),
        ("classif", Linear(1536, classCount)),
    ])
}
