// SqueezeNet: F. N. Iandola, S. Han, M. W. Moskewicz, K. Ashraf, W. J. Dally, K. Keutzer,
// "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size", 2016 —
// as torchvision defines versions 1.0 and 1.1: fire modules (a 1×1 squeeze, then 1×1 and 3×3
// expand branches joined on channels), max-pools with ceil_mode, no fully connected layer: a
// 1×1 conv to the classes, ReLU and global average pooling. Version 1.1 (from the authors'
// repository) starts with a 3×3 conv of 64 filters and pools earlier: 2.4× fewer MACs.
import ZooNN
import ZooTensor

/// relu(squeeze 1×1) → [relu(expand 1×1), relu(expand 3×3)] joined on channels.
/// Keys: squeeze, expand1x1, expand3x3.
public final class Fire: Module {
    public init(_ inChannels: Int, squeeze: Int, expand1x1: Int, expand3x3: Int) {
        super.init()
        register("squeeze", Conv2d(inChannels, squeeze, kernel: 1))
        register("expand1x1", Conv2d(squeeze, expand1x1, kernel: 1))
        register("expand3x3", Conv2d(squeeze, expand3x3, kernel: 3, padding: 1))
    }

    public override func forward(_ input: Variable) throws -> Variable {
        // [N, C, H, W] → [N, s, H, W] → [N, e1 + e3, H, W]
        let squeezed = try relu(child("squeeze")!(input))
        return try concat([relu(child("expand1x1")!(squeezed)), relu(child("expand3x3")!(squeezed))])
    }
}

public enum SqueezeNetVersion: String { case v1_0 = "1_0", v1_1 = "1_1" }

/// One item of a SqueezeNet's feature stack.
enum SqueezeNetItem {
    case conv(out: Int, kernel: Int)
    case pool
    /// squeeze, expand (each expand branch has this many channels)
    case fire(squeeze: Int, expand: Int)
}

/// The feature stacks (columns: conv stem, 3×3/2 max-pools, fire modules' squeeze and expand widths).
let squeezeNetConfigurations: [SqueezeNetVersion: [SqueezeNetItem]] = [
    .v1_0: [.conv(out: 96, kernel: 7), .pool, .fire(squeeze: 16, expand: 64), .fire(squeeze: 16, expand: 64),
            .fire(squeeze: 32, expand: 128), .pool, .fire(squeeze: 32, expand: 128), .fire(squeeze: 48, expand: 192),
            .fire(squeeze: 48, expand: 192), .fire(squeeze: 64, expand: 256), .pool, .fire(squeeze: 64, expand: 256)],
    .v1_1: [.conv(out: 64, kernel: 3), .pool, .fire(squeeze: 16, expand: 64), .fire(squeeze: 16, expand: 64), .pool,
            .fire(squeeze: 32, expand: 128), .fire(squeeze: 32, expand: 128), .pool, .fire(squeeze: 48, expand: 192),
            .fire(squeeze: 48, expand: 192), .fire(squeeze: 64, expand: 256), .fire(squeeze: 64, expand: 256)],
]

/// torchvision's `squeezenet1_0` / `squeezenet1_1`. Keys: features.N.{squeeze,expand1x1,expand3x3}
/// (the stem conv `features.0`), classifier.1 (the final 1×1 conv).
public func squeezenet(_ version: SqueezeNetVersion, classCount: Int = 1000, inputChannels: Int = 3, dropout: Float = 0.5) -> Sequential {
    var features: [Module] = []
    var channels = inputChannels
    for item in squeezeNetConfigurations[version]! {
        switch item {
        case .conv(let out, let kernel):
            features += [Conv2d(channels, out, kernel: kernel, stride: 2), ReLU()]
            channels = out
        case .pool:
            features.append(MaxPool2d(3, stride: 2, ceilMode: true))
        case .fire(let squeeze, let expand):
            features.append(Fire(channels, squeeze: squeeze, expand1x1: expand, expand3x3: expand))
            channels = 2 * expand
        }
    }
    let finalConv = Conv2d(channels, classCount, kernel: 1)
    let model = Sequential(named: [
        ("features", Sequential(features)),
        ("classifier", Sequential([Dropout(dropout), finalConv, ReLU(), AdaptiveAvgPool2d((1, 1))])),
        ("flatten", Flatten()),
    ])
    // torchvision: Kaiming uniform (gain √2, fan_in) for every conv but the last, N(0, 0.01²) for it; biases 0.
    for case let conv as Conv2d in model.namedModules().map(\.module) {
        conv.weight.value = conv === finalConv
            ? .randomNormal(conv.weight.shape, std: 0.01, using: &GlobalRandom.generator)
            : Init.kaimingUniform(conv.weight.shape, using: &GlobalRandom.generator)
        if let bias = conv.bias { bias.value = Tensor(zeros: bias.shape) }
    }
    return model
}

/// The SqueezeNet family's models: versions 1.0 and 1.1.
public enum SqueezeNetFamily: ModelFamily {
    public static let entries = [SqueezeNetVersion.v1_0, .v1_1].map { version in
        ModelEntry("squeezenet\(version.rawValue)", family: "SqueezeNet", input: ModelEntry.imageNetInput, classifier: ["classifier.1"],
                   explain: "features") {
            squeezenet(version, classCount: $0.classCount, inputChannels: $0.input[0])
        }
    }
}
