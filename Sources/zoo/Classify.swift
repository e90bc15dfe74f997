import ArgumentParser
import Foundation
import ZooImage
import ZooModels
import ZooNN
import ZooTensor
import ZooWeights

/// The folder holding the shipped weights: $ZOO_WEIGHTS, or Weights/ beside Package.swift
/// above the executable or the working directory.
func weightsFolder() -> URL? {
    if let folder = ProcessInfo.processInfo.environment["ZOO_WEIGHTS"] { return URL(fileURLWithPath: folder) }
    let starts = [URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent(),
                  URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
    for start in starts {
        var folder = start
        for _ in 0..<6 {
            let candidate = folder.appendingPathComponent("Weights")
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path),
               FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            folder.deleteLastPathComponent()
        }
    }
    return nil
}

/// The default model: the first entry of Weights/DEFAULT (a weight file name) that exists.
func shippedWeights() -> String? {
    guard let folder = weightsFolder(),
          let text = try? String(contentsOf: folder.appendingPathComponent("DEFAULT"), encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") {
        let path = folder.appendingPathComponent(line.trimmingCharacters(in: .whitespaces)).path
        if !line.hasPrefix("#"), FileManager.default.fileExists(atPath: path) { return path }
    }
    return nil
}

extension Zoo {
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
        @Argument(help: "PNG or JPEG files, or folders to search for them.") var images: [String] = []

        func validate() throws {
            if top < 1 { throw ValidationError("--top must be at least 1, got \(top)") }
            if batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
            if maxPixels < 1 { throw ValidationError("--max-pixels must be at least 1, got \(maxPixels)") }
            if images.isEmpty { throw ValidationError("give at least one image file or folder") }
        }

        func run() throws {
            installErrorHandlers()
            guard let weightsPath = weights ?? shippedWeights() else {
                fail("no --weights given and no trained model is shipped in Weights/ yet; pass --model and --weights")
            }
            var modelName = model
            if modelName == nil {
                let file: SafeTensors
                do { file = try WeightFile.read(weightsPath) } catch { fail("\(error)") }
                modelName = file.metadata[WeightFile.MetadataKey.architecture]
                if modelName == nil { fail("'\(weightsPath)' does not name its architecture; pass --model") }
            }
            let loaded = loadModel(modelName!, weights: weightsPath, classCount: nil)
            loaded.model.eval()
            ShapeCheck.name(loaded.model)
            let names = classNames(loaded)
            let preprocessing = loaded.metadata[WeightFile.MetadataKey.preprocessing].flatMap(Preprocessing.init(json:))
                ?? loaded.entry.preprocessing(for: loaded.input)
            let files = collectFiles()
            var failures = files.failures
            let k = min(top, loaded.classCount)
            var index = 0
            while index < files.paths.count {
                var tensors: [Tensor] = [], batchPaths: [String] = []
                while index < files.paths.count && tensors.count < batch {
                    let path = files.paths[index]
                    index += 1
                    do {
                        let image = try Image.read(path, gray: preprocessing.grayscale, maximumPixels: maxPixels)
                        let x = preprocessing.tensor(for: image)
                        if x.shape != loaded.input {
                            throw ImageError("'\(path)' becomes a \(x.shape.map(String.init).joined(separator: "×")) input, but the model takes \(loaded.input.map(String.init).joined(separator: "×"))")
                        }
                        tensors.append(x)
                        batchPaths.append(path)
                    } catch {
                        report(error)
                        failures += 1
                    }
                }
                guard !tensors.isEmpty else { continue }
                let input = Tensor(shape: [tensors.count] + tensors[0].shape, scalars: tensors.flatMap(\.scalars))
                let probabilities = GradMode.withoutGrad { softmax(loaded.model(Variable(input))) }.value
                for (row, path) in batchPaths.enumerated() {
                    let scores = Array(probabilities.scalars[row * loaded.classCount ..< (row + 1) * loaded.classCount])
                    let ranked = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(k)
                    printResult(path, ranked.map { ($0, names[$0], scores[$0]) })
                }
            }
            if failures > 0 {
                FileHandle.standardError.write("zoo: \(failures) of \(files.paths.count + files.failures) inputs could not be classified\n".data(using: .utf8)!)
                throw ExitCode(1)
            }
        }

        func report(_ error: Error) {
            FileHandle.standardError.write(("zoo: \(error)\n").data(using: .utf8)!)
        }

        /// The files to classify: arguments in order, folders searched (sorted) for .png/.jpg/.jpeg.
        func collectFiles() -> (paths: [String], failures: Int) {
            var paths: [String] = [], failures = 0
            for argument in images {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                    report(ImageError("cannot read '\(argument)': no such file or folder"))
                    failures += 1
                    continue
                }
                guard isDirectory.boolValue else { paths.append(argument); continue }
                let found = (FileManager.default.enumerator(atPath: argument)?.compactMap { $0 as? String } ?? [])
                    .filter { ["png", "jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
                if found.isEmpty { report(ImageError("'\(argument)' holds no PNG or JPEG files")); failures += 1 }
                paths += found.map { (argument as NSString).appendingPathComponent($0) }
            }
            return (paths, failures)
        }

        func classNames(_ loaded: LoadedModel) -> [String] {
            var names: [String]?
            if let labels {
                guard let text = try? String(contentsOfFile: labels, encoding: .utf8) else { fail("cannot read the label file '\(labels)'") }
                names = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                if names!.count != loaded.classCount { fail("the label file '\(labels)' has \(names!.count) names, but the model has \(loaded.classCount) classes") }
            } else if let stored = loaded.metadata[WeightFile.MetadataKey.labels],
                      let list = try? JSONSerialization.jsonObject(with: Data(stored.utf8)) as? [String], list.count == loaded.classCount {
                names = list
            } else if loaded.classCount == 1000, let folder = weightsFolder(),
                      let text = try? String(contentsOf: folder.appendingPathComponent("labels/imagenet1k.txt"), encoding: .utf8) {
                let list = text.split(separator: "\n").map(String.init)
                if list.count == 1000 { names = list }
            }
            return names ?? (0..<loaded.classCount).map { "class \($0)" }
        }

        func printResult(_ path: String, _ ranked: [(index: Int, label: String, probability: Float)]) {
            if json {
                let object: [String: Any] = ["file": path, "top": ranked.map {
                    ["label": $0.label, "index": $0.index, "probability": Double($0.probability)] as [String: Any]
                }]
                let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print(path)
            let width = ranked.map(\.label.count).max() ?? 0
            for (rank, item) in ranked.enumerated() {
                let label = item.label.padding(toLength: width, withPad: " ", startingAt: 0)
                print("  \(rank + 1)  \(label)  \(String(format: "%6.2f%%", item.probability * 100))  (\(item.index))")
            }
        }
    }
}
