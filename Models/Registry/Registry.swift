import AlexNet
import DenseNet
import GoogLeNet
import Inception
import LeNet
import MobileNet
import NASNet
import ResNet
import SqueezeNet
import VGG
import Xception
import ZooNN

/// Every model ConvZoo can build, by name: the entries each family declares, collected.
public enum ModelRegistry {
    /// The families, in the order listings show them.
    static let families: [ModelFamily.Type] = [
        LeNetFamily.self, AlexNetFamily.self, VGGFamily.self, GoogLeNetFamily.self, InceptionFamily.self, XceptionFamily.self,
        SqueezeNetFamily.self, MobileNetFamily.self, NASNetFamily.self, ResNetFamily.self, DenseNetFamily.self,
    ]

    public static let entries: [ModelEntry] = families.flatMap { $0.entries }

    public static var names: [String] { entries.map(\.name) }

    public static func entry(_ name: String) -> ModelEntry? { entries.first { $0.name == name } }

    /// The registry name closest to `name` by edit distance, if any is close.
    public static func suggestion(for name: String) -> String? {
        let scored = names.map { ($0, Module.editDistance($0, name.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, name.count / 3) else { return nil }
        return best.0
    }
}

extension ModelRegistry {
    /// The kinds of CIFAR-style network in He et al. 2016's depth experiment (§4.2): `plain`
    /// (no shortcuts), `residual` (option A shortcuts) and `preact` (pre-activation blocks).
    public static let depthSeriesKinds = CIFARNetKind.allCases.map(\.rawValue)

    /// Whether the blocks of a depth-series kind have shortcuts.
    public static func depthSeriesHasShortcuts(_ kind: String) -> Bool { kind != CIFARNetKind.plain.rawValue }

    /// Whether the depth series has networks of `depth` layers: 6n + 2, n ≥ 1.
    public static func depthSeriesHas(depth: Int) -> Bool { depth >= 8 && (depth - 2) % 6 == 0 }

    /// A CIFAR-style network of `kind` with `depth` = 6n + 2 layers for `options`, or nil when
    /// the kind is unknown or the depth is not of that form.
    public static func depthSeriesNetwork(kind: String, depth: Int, options: ModelOptions) -> Module? {
        guard let kind = CIFARNetKind(rawValue: kind), depthSeriesHas(depth: depth) else { return nil }
        return try? cifarResNet(depth: depth, kind: kind, classCount: options.classCount, inputChannels: options.input[0],
                                zeroInitResidual: options.zeroInitResidual)
    }
}
