import ArgumentParser
import Foundation
import ZooModels
import ZooNN
import ZooTensor
import ZooWeights
import ZooImage

/// A registry model with weights loaded from a file, as the user asked for it.
struct LoadedModel {
    let entry: ModelEntry
    let model: Module
    let classCount: Int
    let input: [Int]
    /// The weight file's metadata.
    let metadata: [String: String]
}

/// Builds `name` for `input` and loads `weightsPath` into it. The class count is
/// `--num-classes` if given (and then a differently sized classifier is replaced), else the
/// file's `class_count` metadata, else the model's default.
func loadModel(_ name: String, weights weightsPath: String, classCount requested: Int?, input: [Int]? = nil) -> LoadedModel {
    let entry = lookUp(name)
    if let requested, requested < 1 { fail("--num-classes must be at least 1, got \(requested)") }
    let file: SafeTensors
    do { file = try WeightFile.read(weightsPath) } catch { fail("\(error)") }
    if let architecture = file.metadata[WeightFile.MetadataKey.architecture], architecture != entry.name {
        fail("'\(weightsPath)' holds \(architecture) weights, not \(entry.name) weights")
    }
    let classCount = requested ?? file.metadata[WeightFile.MetadataKey.classCount].flatMap(Int.init) ?? entry.defaultClassCount
    let stored = file.metadata[WeightFile.MetadataKey.input]?.split(separator: "x").compactMap { Int($0) }
    let shape = input ?? (stored?.count == 3 ? stored! : entry.defaultInput)
    if let problem = entry.inputProblem(shape) { fail("\(entry.name) cannot take this input: \(problem)") }
    let model = GlobalRandom.shapesOnly { entry.build(classCount: classCount, input: shape) }
    if requested != nil {
        // The model was built without random draws; a replaced head needs real initial weights.
        for path in ModelRegistry.classifierPaths(of: model) { model.module(at: path)?.resetParameters() }
    }
    do {
        if let note = try WeightFile.load(file, from: weightsPath, into: model, architecture: entry.name,
                                          classifierPaths: ModelRegistry.classifierPaths(of: model),
                                          replaceClassifier: requested != nil) {
            FileHandle.standardError.write(("zoo: " + note.message + "\n").data(using: .utf8)!)
        }
    } catch { fail("\(error)") }
    return LoadedModel(entry: entry, model: model, classCount: classCount, input: shape, metadata: file.metadata)
}

extension Zoo {
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
            let source = loaded.metadata
            var metadata = [
                WeightFile.MetadataKey.architecture: loaded.entry.name,
                WeightFile.MetadataKey.classCount: String(loaded.classCount),
                WeightFile.MetadataKey.input: loaded.input.map(String.init).joined(separator: "x"),
                WeightFile.MetadataKey.preprocessing: source[WeightFile.MetadataKey.preprocessing] ?? loaded.entry.preprocessing(for: loaded.input).json,
            ]
            if let labelSet = source[WeightFile.MetadataKey.labels], classCount == nil { metadata[WeightFile.MetadataKey.labels] = labelSet }
            if let labels {
                guard let text = try? String(contentsOfFile: labels, encoding: .utf8) else { fail("cannot read the label file '\(labels)'") }
                let names = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                    .reversed().drop(while: \.isEmpty).reversed()
                guard names.count == loaded.classCount else {
                    fail("the label file '\(labels)' has \(names.count) names, but the model has \(loaded.classCount) classes")
                }
                let data = try! JSONSerialization.data(withJSONObject: Array(names))
                metadata[WeightFile.MetadataKey.labels] = String(decoding: data, as: UTF8.self)
            }
            do { try WeightFile.save(loaded.model, to: destination, metadata: metadata) } catch { fail("\(error)") }
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

        func run() {
            installErrorHandlers()
            let file: SafeTensors
            do { file = try SafeTensors.read(input) } catch { fail("\(error)") }
            guard let x = file["input"] else { fail("'\(input)' has no tensor named 'input'") }
            guard x.rank == 4, x.shape.allSatisfy({ $0 > 0 }) else {
                fail("the tensor 'input' of '\(input)' must be [N, C, H, W] with no empty dimension, not \(x.shape)")
            }
            let loaded = loadModel(model, weights: weights, classCount: classCount, input: Array(x.shape.dropFirst()))
            loaded.model.eval()
            ShapeCheck.name(loaded.model)
            let y = GradMode.withoutGrad { loaded.model(Variable(x)) }.value
            do { try SafeTensors(tensors: [("output", y)]).write(to: output) } catch { fail("\(error)") }
        }
    }
}
