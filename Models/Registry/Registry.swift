import AlexNet
import DenseNet
import GoogLeNet
import Inception
import LeNet
import MobileNet
import NASNet
import ResNet
import SENet
import SqueezeNet
import VGG
import Xception
import ZooImage
import ZooNN

/// What a model is built for: its classes, its input [C, H, W], and recipe switches.
public struct ModelOptions {
    public var classCount: Int
    public var input: [Int]
    /// Start every residual branch at zero (last batch norm γ = 0) — Goyal et al. 2017.
    public var zeroInitResidual = false
    /// The auxiliary classifiers of GoogLeNet and Inception v3 (run in training only).
    public var auxiliaryHeads = false
    /// GoogLeNet's and Inception v3's `transform_input`: re-normalise an ImageNet-normalised input
    /// the way Google's weights expect (see `ModelEntry.takesTransformInput`).
    public var transformInput = false

    public init(classCount: Int, input: [Int], zeroInitResidual: Bool = false, auxiliaryHeads: Bool = false,
                transformInput: Bool = false) {
        (self.classCount, self.input, self.zeroInitResidual, self.auxiliaryHeads) = (classCount, input, zeroInitResidual, auxiliaryHeads)
        self.transformInput = transformInput
    }
}

/// A named model: its family, its defaults, its builder, and every fact the rest of ConvZoo
/// needs about it — nothing outside the registry matches on a model's name.
public struct ModelEntry {
    public let name: String
    public let family: String
    /// [C, H, W] of the input the model is defined for.
    public let defaultInput: [Int]
    public let defaultClassCount: Int
    /// The evaluation transforms of the model's published weights (for inputs above 32×32).
    public let weightsPreprocessing: Preprocessing
    /// Module paths of the classifier: the layers a new head replaces.
    public let classifierPaths: [String]
    /// Child modules that a checkpoint may hold and a model built without them ignores.
    public let optionalModules: [String]
    /// Maps a key of an older checkpoint layout of the reference to its current key.
    public let renameKey: (String) -> String
    /// Whether the builder takes `ModelOptions.transformInput` (torchvision's GoogLeNet and
    /// Inception v3; which weights need it is a fact of the weights, `PublishedWeights`).
    public let takesTransformInput: Bool
    let builder: (ModelOptions) -> Module
    /// The module whose output Grad-CAM and feature embeddings look at by default: the last one
    /// before the global pooling (`layer4` in a ResNet, the last dense block in a DenseNet).
    public let explainLayer: String
    /// Why the model cannot be built for an input [C, H, W], if it cannot.
    let inputRule: ([Int]) -> String?

    /// Why the model cannot be built for `input` [C, H, W], or nil. (Inputs too small for a
    /// layer are reported by that layer when it runs.)
    public func inputProblem(_ input: [Int]) -> String? {
        guard input.count == 3, input.allSatisfy({ $0 > 0 }) else { return "an input must be C×H×W with positive sizes" }
        return inputRule(input)
    }

    /// The preprocessing of the model's published weights (or, for the small nets, of plain
    /// [0, 1] images at their own size).
    public var preprocessing: Preprocessing { preprocessing(for: defaultInput) }

    /// The preprocessing for the model built for `input` [C, H, W]: small inputs (32×32 and
    /// below) are resized to the input and scaled to [0, 1]; larger ones get the published
    /// weights' transforms.
    public func preprocessing(for input: [Int]) -> Preprocessing {
        input[1] <= 32 ? .unnormalised(input: input) : weightsPreprocessing
    }

    /// The classifier paths that exist in `model` (auxiliary heads only when built).
    public func classifierPaths(in model: Module) -> [String] { classifierPaths.filter { model.module(at: $0) != nil } }

    public var defaultOptions: ModelOptions { ModelOptions(classCount: defaultClassCount, input: defaultInput) }

    /// Builds the model; `nil` options mean the defaults.
    public func build(_ options: ModelOptions? = nil) -> Module { builder(options ?? defaultOptions) }

    public func build(classCount: Int, input: [Int]) -> Module { builder(ModelOptions(classCount: classCount, input: input)) }
}

/// Every model ConvZoo can build, by name.
public enum ModelRegistry {
    static let imageNet = [3, 224, 224], cifar = [3, 32, 32], mnist = [1, 28, 28]

    /// One entry; the defaults are an ImageNet classifier named `fc` after `layer4`, with
    /// torchvision's transforms.
    static func entry(_ name: String, _ family: String, _ input: [Int], classes: Int = 1000,
                      preprocessing: Preprocessing = .imageNet, classifier: [String] = ["fc"], explain: String = "layer4",
                      optional: [String] = [],
                      renameKey: @escaping (String) -> String = { $0 }, transformInput: Bool = false,
                      rule: @escaping ([Int]) -> String? = { _ in nil },
                      _ builder: @escaping (ModelOptions) -> Module) -> ModelEntry {
        ModelEntry(name: name, family: family, defaultInput: input, defaultClassCount: classes, weightsPreprocessing: preprocessing,
                   classifierPaths: classifier, optionalModules: optional, renameKey: renameKey,
                   takesTransformInput: transformInput, builder: builder, explainLayer: explain, inputRule: rule)
    }

    public static let entries: [ModelEntry] = {
        var all: [ModelEntry] = [
            entry("lenet5", "LeNet", mnist, classes: 10, classifier: ["classifier.4"], explain: "features", rule: { input in
                [28, 32].contains(input[1]) && input[1] == input[2] ? nil : "lenet5 takes 28×28 or 32×32 inputs, not \(input[1])×\(input[2])"
            }) { lenet5(classCount: $0.classCount, inputChannels: $0.input[0], inputSize: $0.input[1]) },
            entry("simple_cnn", "LeNet", mnist, classes: 10, classifier: ["net.linear_13"], explain: "net.dropout2d_07", rule: { input in
                input[1] >= 4 && input[2] >= 4 ? nil : "simple_cnn's two 2×2 poolings need an input of at least 4×4, not \(input[1])×\(input[2])"
            }) { simpleCNN(input: $0.input, classCount: $0.classCount) },
            entry("alexnet", "AlexNet", imageNet, classifier: ["classifier.6"], explain: "features") { alexnet(classCount: $0.classCount, inputChannels: $0.input[0]) },
        ]
        for depth in [11, 13, 16, 19] {
            all.append(entry("vgg\(depth)", "VGG", imageNet, classifier: ["classifier.6"], explain: "features") { vgg(depth: depth, classCount: $0.classCount, inputChannels: $0.input[0]) })
            all.append(entry("vgg\(depth)_bn", "VGG", imageNet, classifier: ["classifier.6"], explain: "features") {
                vgg(depth: depth, batchNorm: true, classCount: $0.classCount, inputChannels: $0.input[0])
            })
        }
        all.append(entry("googlenet", "GoogLeNet", imageNet, classifier: ["fc", "aux1.fc2", "aux2.fc2"], explain: "inception5b", optional: ["aux1", "aux2"],
                         transformInput: true) {
            GoogLeNet(classCount: $0.classCount, inputChannels: $0.input[0], auxiliaryHeads: $0.auxiliaryHeads, transformInput: $0.transformInput)
        })
        all.append(entry("inception_v3", "Inception", [3, 299, 299], preprocessing: .inceptionV3, classifier: ["fc", "AuxLogits.fc"], explain: "Mixed_7c",
                         optional: ["AuxLogits"], transformInput: true, rule: { input in
            input[1] >= 75 && input[2] >= 75 ? nil : "inception_v3 takes inputs of at least 75×75, not \(input[1])×\(input[2])"
        }) {
            InceptionV3(classCount: $0.classCount, inputChannels: $0.input[0], auxiliaryHead: $0.auxiliaryHeads, transformInput: $0.transformInput)
        })
        all.append(entry("inception_resnet_v2", "Inception", [3, 299, 299], preprocessing: .timm(crop: 299, cropFraction: 0.8975),
                         classifier: ["classif"], explain: "conv2d_7b", rule: { input in
            input[1] >= 75 && input[2] >= 75 ? nil : "inception_resnet_v2 takes inputs of at least 75×75, not \(input[1])×\(input[2])"
        }) { inceptionResNetV2(classCount: $0.classCount, inputChannels: $0.input[0]) })
        all.append(entry("xception", "Xception", [3, 299, 299], preprocessing: .timm(crop: 299, cropFraction: 0.8975), explain: "bn4", rule: { input in
            input[1] >= 71 && input[2] >= 71 ? nil : "xception takes inputs of at least 71×71, not \(input[1])×\(input[2])"
        }) { xception(classCount: $0.classCount, inputChannels: $0.input[0]) })
        for version in [SqueezeNetVersion.v1_0, .v1_1] {
            all.append(entry("squeezenet\(version.rawValue)", "SqueezeNet", imageNet, classifier: ["classifier.1"], explain: "features") {
                squeezenet(version, classCount: $0.classCount, inputChannels: $0.input[0])
            })
        }
        all.append(entry("mobilenet_v1", "MobileNet", imageNet, preprocessing: .timm(crop: 224, cropFraction: 0.875), classifier: ["classifier"], explain: "blocks") {
            mobileNetV1(classCount: $0.classCount, inputChannels: $0.input[0])
        })
        // pretrainedmodels' TransformImage: Resize(⌊224 / 0.875⌋ = 256, bilinear), CenterCrop(224), mean = std = 0.5.
        let pretrainedModelsHalf = Preprocessing(resize: 256, crop: 224, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
        all.append(entry("nasnetamobile", "NASNet", imageNet, preprocessing: pretrainedModelsHalf, classifier: ["last_linear"], explain: "act",
                         rule: { input in
            NASNetPadding.shiftedSymmetric.accepts(input[1]) && NASNetPadding.shiftedSymmetric.accepts(input[2]) ? nil
                : "nasnetamobile, padded as pretrainedmodels pads it, takes sides of at least 32 whose feature maps stay even "
                + "through its reductions (such as 32, 64, 96, 128, 160, 192, 224, 256), not \(input[1])×\(input[2])"
        }) { nasnetAMobile(classCount: $0.classCount, inputChannels: $0.input[0]) })
        all.append(entry("nasnetalarge", "NASNet", [3, 331, 331], preprocessing: .timm(crop: 331, cropFraction: 0.911), classifier: ["last_linear"], explain: "act",
                         rule: { input in
            NASNetPadding.tensorFlowSame.accepts(input[1]) && NASNetPadding.tensorFlowSame.accepts(input[2]) ? nil
                : "nasnetalarge takes inputs of at least 32×32, not \(input[1])×\(input[2])"
        }) { nasnetALarge(classCount: $0.classCount, inputChannels: $0.input[0]) })
        all.append(entry("mobilenet_v2", "MobileNet", imageNet, classifier: ["classifier.1"], explain: "features") {
            mobileNetV2(classCount: $0.classCount, inputChannels: $0.input[0])
        })
        for depth in [18, 34, 50, 101, 152] {
            all.append(entry("resnet\(depth)", "ResNet", imageNet) {
                resnet(depth: depth, classCount: $0.classCount, inputChannels: $0.input[0], zeroInitResidual: $0.zeroInitResidual)
            })
        }
        for (name, depth, groups, widthPerGroup) in [("resnext50_32x4d", 50, 32, 4), ("resnext101_32x8d", 101, 32, 8),
                                                     ("wide_resnet50_2", 50, 1, 128), ("wide_resnet101_2", 101, 1, 128)] {
            all.append(entry(name, "ResNet", imageNet) {
                resnet(depth: depth, classCount: $0.classCount, inputChannels: $0.input[0], groups: groups, widthPerGroup: widthPerGroup,
                       zeroInitResidual: $0.zeroInitResidual)
            })
        }
        for depth in [18, 34, 50, 101, 152] {
            all.append(entry("resnetv2_\(depth)", "ResNet", imageNet, preprocessing: .timmHalf, classifier: ["head.fc"], explain: "norm") { resnetV2(depth: depth, classCount: $0.classCount, inputChannels: $0.input[0]) })
        }
        for depth in [18, 34, 50, 101, 152] {
            all.append(entry("seresnet\(depth)", "SENet", imageNet, preprocessing: .timmImageNet) { seresnet(depth: depth, classCount: $0.classCount, inputChannels: $0.input[0]) })
        }
        for depth in [121, 161, 169, 201] {
            all.append(entry("densenet\(depth)", "DenseNet", imageNet, classifier: ["classifier"], explain: "features.denseblock4", renameKey: denseNetKey) { densenet(depth: depth, classCount: $0.classCount, inputChannels: $0.input[0]) })
        }
        for kind in [CIFARNetKind.residual, .plain] {
            for depth in [20, 32, 44, 56, 110] {
                all.append(entry("\(kind == .plain ? "plain" : "resnet")\(depth)", "ResNet", cifar, classes: 10, explain: "layer3") {
                    cifarResNet(depth: depth, kind: kind, classCount: $0.classCount, inputChannels: $0.input[0],
                                zeroInitResidual: $0.zeroInitResidual)
                })
            }
        }
        all.append(entry("preact_resnet110", "ResNet", cifar, classes: 10, explain: "bn") {
            cifarResNet(depth: 110, kind: .preact, classCount: $0.classCount, inputChannels: $0.input[0], zeroInitResidual: $0.zeroInitResidual)
        })
        all.append(entry("preact_resnet164", "ResNet", cifar, classes: 10, explain: "bn") {
            cifarResNet(depth: 164, kind: .preact, bottleneck: true, classCount: $0.classCount, inputChannels: $0.input[0],
                        zeroInitResidual: $0.zeroInitResidual)
        })
        for depth in [20, 56] {
            all.append(entry("se_resnet\(depth)", "SENet", cifar, classes: 10, explain: "layer3") { cifarSEResNet(depth: depth, classCount: $0.classCount, inputChannels: $0.input[0]) })
        }
        all.append(entry("densenet_bc_100", "DenseNet", cifar, classes: 10, classifier: ["classifier"], explain: "features.denseblock3", renameKey: denseNetKey) { cifarDenseNetBC(depth: 100, classCount: $0.classCount, inputChannels: $0.input[0]) })
        return all
    }()

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
        return cifarResNet(depth: depth, kind: kind, classCount: options.classCount, inputChannels: options.input[0],
                           zeroInitResidual: options.zeroInitResidual)
    }
}
