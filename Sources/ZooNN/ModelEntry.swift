import ZooTensor

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

/// A model family's module declares its named models here, beside their builders; the
/// registry (ZooModels) only collects the families.
public protocol ModelFamily {
    /// The family's models, in the order listings show them.
    static var entries: [ModelEntry] { get }
}

/// A named model: its family, its defaults, its builder, and every fact the rest of ConvZoo
/// needs about it — nothing outside the model families matches on a model's name.
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
    let builder: (ModelOptions) throws -> Module
    /// The module whose output Grad-CAM and feature embeddings look at by default: the last one
    /// before the global pooling (`layer4` in a ResNet, the last dense block in a DenseNet).
    public let explainLayer: String
    /// Why the model cannot be built for an input [C, H, W], if it cannot.
    let inputRule: ([Int]) -> String?

    /// ImageNet's input, 3×224×224.
    public static let imageNetInput = [3, 224, 224]
    /// CIFAR-10's input, 3×32×32.
    public static let cifarInput = [3, 32, 32]
    /// (Fashion-)MNIST's input, 1×28×28.
    public static let mnistInput = [1, 28, 28]

    /// A model `name` of `family`, defined for `input` [C, H, W] and `classes` classes. The
    /// defaults are an ImageNet classifier named `fc` after `layer4`, with torchvision's transforms.
    /// - Parameters:
    ///   - preprocessing: the evaluation transforms of the model's published weights.
    ///   - classifier: module paths of the classifier (auxiliary heads' too).
    ///   - explain: the module Grad-CAM and embeddings look at by default.
    ///   - optional: child modules a checkpoint may hold that a model built without them ignores.
    ///   - renameKey: maps an older checkpoint key of the reference to its current key.
    ///   - transformInput: whether the builder takes `ModelOptions.transformInput`.
    ///   - rule: why the model cannot be built for an input [C, H, W], or nil.
    ///   - builder: builds the model for the options; throws on a configuration it does not have.
    public init(_ name: String, family: String, input: [Int], classes: Int = 1000, preprocessing: Preprocessing = .imageNet,
                classifier: [String] = ["fc"], explain: String = "layer4", optional: [String] = [],
                renameKey: @escaping (String) -> String = { $0 }, transformInput: Bool = false,
                rule: @escaping ([Int]) -> String? = { _ in nil }, builder: @escaping (ModelOptions) throws -> Module) {
        (self.name, self.family, defaultInput, defaultClassCount, weightsPreprocessing) = (name, family, input, classes, preprocessing)
        (classifierPaths, optionalModules, self.renameKey, takesTransformInput) = (classifier, optional, renameKey, transformInput)
        (self.builder, explainLayer, inputRule) = (builder, explain, rule)
    }

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
    /// - Throws: `ZooError` when the options ask for a configuration the family does not have.
    public func build(_ options: ModelOptions? = nil) throws -> Module { try builder(options ?? defaultOptions) }

    /// Builds the model for `classCount` classes and `input` [C, H, W].
    public func build(classCount: Int, input: [Int]) throws -> Module { try builder(ModelOptions(classCount: classCount, input: input)) }
}
