import ArgumentParser
import ConvZoo

/// The help of `--weights` where it is required.
let weightsHelp = ArgumentHelp("Weights: a safetensors file or a PyTorch .pth, an http(s):// or file:// URL of one, or a tag of the model's published weights (DEFAULT, IMAGENET1K_V1, …; see 'zoo weights MODEL'), downloaded once into the weights cache.")
/// The help of `--weights` where the shipped model is the default.
let weightsOrShippedHelp = ArgumentHelp("Weights: a safetensors file or a PyTorch .pth, an http(s):// or file:// URL of one, or a tag of the model's published weights (DEFAULT, IMAGENET1K_V1, …; see 'zoo weights MODEL'). Default: the shipped model in Weights/, else the model's DEFAULT published weights.")

/// `--transform-input on|off`, for the commands that load weights.
struct TransformInputOption: ParsableArguments {
    @Option(name: .customLong("transform-input"),
            help: "googlenet and inception_v3: re-normalise the input as Google's weights expect (on) or not (off). Default: what the weight file records; for a published file (known by its SHA-256) what its publisher set; otherwise off.")
    var value: String?

    /// The switch, or nil when not given.
    var setting: Bool? {
        guard let value else { return nil }
        switch value.lowercased() {
        case "on", "true", "yes": return true
        case "off", "false", "no": return false
        default: fail("--transform-input must be on or off, not '\(value)'")
        }
    }
}

/// `Zoo.load`, reporting its notes (a replaced classifier, a passed-over copy) on stderr and any
/// failure as one sentence.
func loadModel(_ name: String, weights: WeightsSource, classCount: Int?, input: [Int]? = nil,
               transformInput: Bool? = nil) -> ZooModel {
    if let classCount, classCount < 1 { fail("--num-classes must be at least 1, got \(classCount)") }
    let model = orFail { try Zoo.load(name, weights: weights, classes: classCount, input: input, transformInput: transformInput) }
    for note in model.notes { warn(note) }
    return model
}

/// The model of `--weights` when no `--model` names one: the one a weight file names in its
/// metadata, or the catalogue's model for a published URL.
func modelName(_ model: String?, weights: WeightsSource) -> String {
    if let model { return lookUp(model).name }
    switch weights.kind {
    case .tag(let tag):
        fail("--weights \(tag) is a tag of a model's published weights (a file needs a '/' or an extension such as .pth); pass --model too")
    case .url(let url):
        if let published = orFail({ try PublishedWeights.catalog() }).first(where: { $0.url == url }) { return published.model }
        return architecture(of: orFail { try Zoo.fetch(url: url) }.path, named: url)
    case .file(let path):
        return architecture(of: path, named: path)
    }
}

private func architecture(of path: String, named name: String) -> String {
    let file = orFail { try WeightFile.read(path) }
    guard let architecture = file.metadata[WeightFile.MetadataKey.architecture] else { fail("'\(name)' does not name its architecture; pass --model") }
    return architecture
}

/// The model and weights a command was given: `--weights` (a file, a URL or a tag), else the
/// shipped weights of `--model` (or the default shipped model), else `--model`'s default published
/// weights (as Keras' `weights="imagenet"`); the model is `--model`, else the one the weights name.
func givenOrShipped(model: String?, weights: String?) -> (model: String, weights: WeightsSource) {
    if let model { _ = lookUp(model) }
    let source = weights.map { WeightsSource($0) } ?? {
        do { return try .file(Zoo.shippedWeights(for: model)) } catch {
            guard let model, !(orFail { try Zoo.weights(for: model) }).isEmpty else { fail(sentence(error)) }
            return .pretrained
        }
    }()
    return (modelName(model, weights: source), source)
}

/// `--model`, `--weights` and `--transform-input` of the commands that run a trained model
/// (classify, explain, features, filters, embed): the shipped model when neither is given.
struct ModelChoice: ParsableArguments {
    @Option(help: "The model (default: the one the weight file names, or the shipped model).") var model: String?
    @Option(help: weightsOrShippedHelp) var weights: String?
    @OptionGroup var transformInput: TransformInputOption

    /// The model's name and where its weights come from (`givenOrShipped`).
    var resolved: (model: String, weights: WeightsSource) { givenOrShipped(model: model, weights: weights) }

    /// The model with its weights, built for `input` (default: the weight file's or the model's).
    func load(input: [Int]? = nil) -> ZooModel {
        let (name, source) = resolved
        return loadModel(name, weights: source, classCount: nil, input: input, transformInput: transformInput.setting)
    }
}

extension ZooCommand {
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert a PyTorch checkpoint (.pth) or weight file to safetensors with ConvZoo metadata.")

        @Argument(help: "A .pth checkpoint (torch.save of a state_dict) or a safetensors file, a URL of one, or a tag of the model's published weights (DEFAULT, IMAGENET1K_V1; see 'zoo weights').") var source: String
        @Argument(help: "The safetensors file to write.") var destination: String
        @Option(help: "The model the weights belong to (see 'zoo list').") var model: String
        @Option(name: .customLong("num-classes"), help: "Replace the classifier with a new head of N classes.") var classCount: Int?
        @Option(help: "A text file of class names, one per line, in class-index order, to store with the weights.") var labels: String?
        @OptionGroup var transformInput: TransformInputOption

        func run() {
            let loaded = loadModel(model, weights: WeightsSource(source), classCount: classCount, transformInput: transformInput.setting)
            if let labels { orFail { try loaded.setLabels(LabelSet(file: labels, classCount: loaded.classCount)) } }
            orFail { try loaded.save(destination) }
        }
    }

    struct Forward: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a model in eval mode on the tensor 'input' of a safetensors file; write 'output'.")

        @Option(help: "The model (see 'zoo list').") var model: String
        @Option(help: weightsHelp) var weights: String
        @Option(help: "A safetensors file with a float32 tensor 'input' of shape [N, C, H, W].") var input: String
        @Option(help: "The safetensors file to write, with the tensor 'output'.") var output: String
        @Option(name: .customLong("num-classes"), help: "Replace the classifier with a new head of N classes.") var classCount: Int?
        @Flag(help: "Run the network eagerly, layer by layer, instead of through a compiled inference plan.") var eager = false
        @OptionGroup var transformInput: TransformInputOption

        func run() {
            let file = orFail { try SafeTensors.read(input) }
            guard let x = file["input"] else { fail("'\(input)' has no tensor named 'input'") }
            guard x.rank == 4, x.shape.allSatisfy({ $0 > 0 }) else {
                fail("the tensor 'input' of '\(input)' must be [N, C, H, W] with no empty dimension, not \(x.shape)")
            }
            let loaded = loadModel(model, weights: WeightsSource(weights), classCount: classCount, input: Array(x.shape.dropFirst()),
                                   transformInput: transformInput.setting)
            loaded.usesInferencePlans = !eager
            let y = orFail { try loaded.forward(x) }
            orFail { try SafeTensors(tensors: [("output", y)]).write(to: output) }
        }
    }
}
