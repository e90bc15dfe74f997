// VGG: K. Simonyan, A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
// Recognition", ICLR 2015 — as torchvision defines it: configurations A (11), B (13),
// D (16) and E (19), optional batch norm after every conv (not in the paper), an adaptive
// 7×7 average pool before the classifier, and dropout 0.5 in the classifier.
import ZooNN
import ZooTensor

/// One entry of a VGG feature table: a 3×3 conv with this many output channels, or a 2×2 max-pool.
public enum VGGLayer: Equatable {
    case conv(Int)
    case pool
}

/// The paper's configurations, keyed by depth (weight layers: convs + 3 linear).
public let vggConfigurations: [Int: [VGGLayer]] = [
    11: [.conv(64), .pool, .conv(128), .pool, .conv(256), .conv(256), .pool,
         .conv(512), .conv(512), .pool, .conv(512), .conv(512), .pool],
    13: [.conv(64), .conv(64), .pool, .conv(128), .conv(128), .pool, .conv(256), .conv(256), .pool,
         .conv(512), .conv(512), .pool, .conv(512), .conv(512), .pool],
    16: [.conv(64), .conv(64), .pool, .conv(128), .conv(128), .pool, .conv(256), .conv(256), .conv(256), .pool,
         .conv(512), .conv(512), .conv(512), .pool, .conv(512), .conv(512), .conv(512), .pool],
    19: [.conv(64), .conv(64), .pool, .conv(128), .conv(128), .pool,
         .conv(256), .conv(256), .conv(256), .conv(256), .pool,
         .conv(512), .conv(512), .conv(512), .conv(512), .pool,
         .conv(512), .conv(512), .conv(512), .conv(512), .pool],
]

/// torchvision's VGG-`depth` (11, 13, 16 or 19), with batch norm when `batchNorm`.
/// Keys: `features.N` (conv, [bn], relu, pool in table order), `classifier.{0,3,6}`.
/// Initialisation as torchvision: convs Kaiming normal (fan_out), linear N(0, 0.01²), zero biases.
public func vgg(depth: Int, batchNorm: Bool = false, classCount: Int = 1000, inputChannels: Int = 3,
                dropout: Float = 0.5) throws -> Sequential {
    guard let table = vggConfigurations[depth] else { throw ZooError("VGG's depth must be 11, 13, 16 or 19, not \(depth)") }
    var layers: [Module] = []
    var channels = inputChannels
    for item in table {
        switch item {
        case .pool:
            layers.append(MaxPool2d(2, stride: 2))
        case .conv(let width):
            let conv = Conv2d(channels, width, kernel: 3, padding: 1)
            conv.weight.value = Init.kaimingNormal(conv.weight.shape, mode: .fanOut, using: &GlobalRandom.generator)
            conv.bias!.value = Tensor(zeros: [width])
            layers.append(conv)
            if batchNorm { layers.append(BatchNorm(width)) }
            layers.append(ReLU())
            channels = width
        }
    }
    let classifier = [Linear(512 * 7 * 7, 4096), Linear(4096, 4096), Linear(4096, classCount)]
    for fc in classifier {
        fc.weight.value = .randomNormal(fc.weight.shape, std: 0.01, using: &GlobalRandom.generator)
        fc.bias!.value = Tensor(zeros: fc.bias!.shape)
    }
    return Sequential(named: [
        ("features", Sequential(layers)),
        ("avgpool", AdaptiveAvgPool2d((7, 7))),
        ("flatten", Flatten()),
        ("classifier", Sequential([classifier[0], ReLU(), Dropout(dropout), classifier[1], ReLU(), Dropout(dropout), classifier[2]])),
    ])
}

/// The VGG family's models: VGG-11, 13, 16 and 19, with and without batch norm.
public enum VGGFamily: ModelFamily {
    public static let entries = [11, 13, 16, 19].flatMap { depth in
        [false, true].map { batchNorm in
            ModelEntry("vgg\(depth)\(batchNorm ? "_bn" : "")", family: "VGG", input: ModelEntry.imageNetInput, classifier: ["classifier.6"],
                       explain: "features") {
                try vgg(depth: depth, batchNorm: batchNorm, classCount: $0.classCount, inputChannels: $0.input[0])
            }
        }
    }
}
