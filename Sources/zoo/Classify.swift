import ArgumentParser
import ConvZoo
import Foundation

extension ZooCommand {
    struct Classify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Classify PNG and JPEG files and print the top-K labels with probabilities.")

        @Option(help: "The model (default: the one the weight file names, or the shipped model).") var model: String?
        @Option(help: "Weights: safetensors or a PyTorch .pth (default: the shipped model in Weights/).") var weights: String?
        @Option(help: "Class names, one per line in index order (default: the weight file's, or the standard set for its class count).")
        var labels: String?
        @Option(help: "How many labels to print per image.") var top = 5
        @Option(help: "Images per forward pass.") var batch = 8
        @Option(name: .customLong("max-pixels"), help: "Refuse images with more pixels than this.") var maxPixels = Image.defaultMaximumPixels
        @Flag(help: "One JSON object per line instead of a table.") var json = false
        @Flag(help: "Run the network eagerly, layer by layer, instead of through a compiled inference plan.") var eager = false
        @Argument(help: "PNG or JPEG files, or folders to search for them.") var images: [String] = []

        func validate() throws {
            if top < 1 { throw ValidationError("--top must be at least 1, got \(top)") }
            if batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
            if maxPixels < 1 { throw ValidationError("--max-pixels must be at least 1, got \(maxPixels)") }
            if images.isEmpty { throw ValidationError("give at least one image file or folder") }
        }

        func run() throws {
            installErrorHandlers()
            if let model { _ = lookUp(model) }
            let weightsPath = weights ?? orFail { try Zoo.shippedWeights(for: model) }
            let loaded = loadModel(modelName(model, weights: weightsPath), weights: weightsPath, classCount: nil)
            loaded.usesInferencePlans = !eager
            if let labels { orFail { try loaded.setLabels(LabelSet(file: labels, classCount: loaded.classCount)) } }
            let files = collectFiles()
            var failures = files.failures
            var index = 0
            while index < files.paths.count {
                var inputs: [Tensor] = [], names: [String] = []
                while index < files.paths.count && inputs.count < batch {
                    let path = files.paths[index]
                    index += 1
                    do {
                        inputs.append(try loaded.inputTensor(for: try loaded.readImage(path, maximumPixels: maxPixels), name: path))
                        names.append(path)
                    } catch {
                        warn("\(error)")
                        failures += 1
                    }
                }
                for result in orFail({ try loaded.classify(inputs: inputs, names: names, top: top) }) { printResult(result) }
            }
            if failures > 0 {
                warn("\(failures) of \(files.paths.count + files.failures) inputs could not be classified")
                throw ExitCode(1)
            }
        }

        /// The files to classify: arguments in order, folders searched (sorted) for .png/.jpg/.jpeg.
        func collectFiles() -> (paths: [String], failures: Int) { collectImageFiles(images) }

        func printResult(_ result: Classification) {
            if json {
                printJSON(["file": result.file, "top": result.top.map {
                    ["label": $0.label, "index": $0.index, "probability": Double($0.probability)] as [String: Any]
                }] as [String: Any])
                return
            }
            print(result.file)
            let width = result.top.map(\.label.count).max() ?? 0
            for (rank, item) in result.top.enumerated() {
                let label = item.label.padding(toLength: width, withPad: " ", startingAt: 0)
                print("  \(rank + 1)  \(label)  \(String(format: "%6.2f%%", item.probability * 100))  (\(item.index))")
            }
        }
    }
}

/// Image files named by IMAGE|DIR arguments, in order, folders searched (sorted) for
/// .png/.jpg/.jpeg; each argument that names nothing, or a folder without images, is warned
/// about and counted as a failure.
func collectImageFiles(_ arguments: [String]) -> (paths: [String], failures: Int) {
    var paths: [String] = [], failures = 0
    for argument in arguments {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
            warn("cannot read '\(argument)': no such file or folder")
            failures += 1
            continue
        }
        guard isDirectory.boolValue else { paths.append(argument); continue }
        let found = Image.files(in: argument)
        if found.isEmpty { warn("'\(argument)' holds no PNG or JPEG files"); failures += 1 }
        paths += found
    }
    return (paths, failures)
}
