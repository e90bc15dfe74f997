import ArgumentParser
import ConvZoo

/// `Zoo.load`, reporting a replaced classifier on stderr and any failure as one sentence.
func loadModel(_ name: String, weights: String, classCount: Int?, input: [Int]? = nil) -> ZooModel {
    if let classCount, classCount < 1 { fail("--num-classes must be at least 1, got \(classCount)") }
    let model = orFail { try Zoo.load(name, weights: weights, classes: classCount, input: input) }
    if let note = model.note { warn(note) }
    return model
}

/// The model a weight file names in its metadata, unless `--model` names one.
func modelName(_ model: String?, weights: String) -> String {
    if let model { return model }
    let file = orFail { try WeightFile.read(weights) }
    guard let name = file.metadata[WeightFile.MetadataKey.architecture] else { fail("'\(weights)' does not name its architecture; pass --model") }
    return name
}

/// The model and weight file a command was given: `--weights`, else the shipped weights of
/// `--model` (or the default shipped model); the model is `--model`, else the one the file names.
func givenOrShipped(model: String?, weights: String?) -> (model: String, weights: String) {
    if let model { _ = lookUp(model) }
    let path = weights ?? orFail { try Zoo.shippedWeights(for: model) }
    return (modelName(model, weights: path), path)
}

extension ZooCommand {
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert a PyTorch checkpoint (.pth) or weight file to safetensors with ConvZoo metadata.")

        @Argument(help: "A .pth checkpoint (torch.save of a state_dict) or a safetensors file.") var source: String
        @Argument(help: "The safetensors file to write.") var destination: String
        @Option(help: "The model the weights belong to (see 'zoo list').") var model: String
        @Option(name: .customLong("num-classes"), help: "Replace the classifier with a new head of N classes.") var classCount: Int?
        @Option(help: "A text file of class names, one per line, in class-index order, to store with the weights.") var labels: String?

        func run() {
            installErrorHandlers()
            let loaded = loadModel(model, weights: source, classCount: classCount)
            if let labels { orFail { try loaded.setLabels(LabelSet(file: labels, classCount: loaded.classCount)) } }
            orFail { try loaded.save(destination) }
        }
    }

    struct Forward: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a model in eval mode on the tensor 'input' of a safetensors file; write 'output'.")

        @Option(help: "The model (see 'zoo list').") var model: String
        @Option(help: "Weights: safetensors or a PyTorch .pth checkpoint.") var weights: String
        @Option(help: "A safetensors file with a float32 tensor 'input' of shape [N, C, H, W].") var input: String
        @Option(help: "The safetensors file to write, with the tensor 'output'.") var output: String
        @Option(name: .customLong("num-classes"), help: "Replace the classifier with a new head of N classes.") var classCount: Int?
        @Flag(help: "Run the network eagerly, layer by layer, instead of through a compiled inference plan.") var eager = false

        func run() {
            installErrorHandlers()
            let file = orFail { try SafeTensors.read(input) }
            guard let x = file["input"] else { fail("'\(input)' has no tensor named 'input'") }
            guard x.rank == 4, x.shape.allSatisfy({ $0 > 0 }) else {
                fail("the tensor 'input' of '\(input)' must be [N, C, H, W] with no empty dimension, not \(x.shape)")
            }
            let loaded = loadModel(model, weights: weights, classCount: classCount, input: Array(x.shape.dropFirst()))
            loaded.usesInferencePlans = !eager
            let y = orFail { try loaded.forward(x) }
            orFail { try SafeTensors(tensors: [("output", y)]).write(to: output) }
        }
    }
}
