import ArgumentParser
import ConvZoo
import Foundation

/// The keys of an embedding file: the tensors `embeddings` [N, D] and (for a data set) `labels`
/// [N] (I64 class indices), and metadata.
enum EmbeddingFile {
    static let embeddings = "embeddings", labels = "labels"
    /// Metadata: the model, its layer, the weight file, the image files (a JSON array), the data
    /// set's description and its class names (a JSON array).
    static let model = "model", layer = "layer", weights = "weights", files = "files", data = "data", classes = "classes"
}

extension ZooCommand {
    struct Embed: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write one embedding per image (a layer's output averaged over its positions) to a safetensors file.",
            discussion: """
                Embeds image files (IMAGE|DIR...) or a data set (--data); the file holds 'embeddings' (N×D) and, for a \
                data set, 'labels' (N class indices) for 'zoo probe'.
                """)

        @OptionGroup var choice: ModelChoice
        @Option(help: "The module path to embed at (default: the model's last module before global pooling).") var layer: String?
        @Option(help: "The safetensors file to write.") var out: String
        @Option(help: "A data set to embed instead of files: fashion-mnist, fashion-mnist:DIR, mnist:DIR, cifar10:DIR or DIR.")
        var data: String?
        @Option(help: "With --data: the split to embed: train, or test (the default; of an image folder, its held-out part).") var split: String?
        @Option(help: "With --data: embed a seeded random subset of this many images of the split.") var subset: Int?
        @Option(help: "With --data: the seed of the subset and of an image folder's split.") var seed: UInt64 = 0
        @Option(name: .customLong("val-split"), help: "With --data DIR: the fraction of an image folder held out as its test split.")
        var validationSplit = 0.2
        @Option(help: "Images per forward pass.") var batch = 64
        @Option(name: .customLong("max-pixels"), help: "Refuse images with more pixels than this.") var maxPixels = Image.defaultMaximumPixels
        @Argument(help: "PNG or JPEG files, or folders to search for them.") var images: [String] = []

        func validate() throws {
            if batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
            if maxPixels < 1 { throw ValidationError("--max-pixels must be at least 1, got \(maxPixels)") }
            if data == nil && images.isEmpty { throw ValidationError("give image files or folders, or --data") }
            if data != nil && !images.isEmpty { throw ValidationError("give either image files and folders or --data, not both") }
            if data == nil && (split != nil || subset != nil) { throw ValidationError("--split and --subset go with --data") }
            if let split, !["train", "test"].contains(split) { throw ValidationError("--split must be train or test, got '\(split)'") }
            if let subset, subset < 1 { throw ValidationError("--subset must be at least 1, got \(subset)") }
        }

        func run() throws {
            checkDestination()
            if let data { try embedDataSet(data) } else { try embedFiles() }
        }

        /// Refuses a destination whose folder is missing or not writable before any work is done.
        func checkDestination() {
            let folder = (out as NSString).deletingLastPathComponent
            var isDirectory: ObjCBool = false
            let path = folder.isEmpty ? "." : folder
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
                  FileManager.default.isWritableFile(atPath: path) else {
                fail("cannot write '\(out)': the folder '\(path)' does not exist or is not writable")
            }
        }

        /// The model's module path to embed at, checked to exist (the library's sentence if not).
        func layerPath(_ loaded: ZooModel) -> String {
            let path = layer ?? loaded.entry.explainLayer
            if loaded.module.module(at: path) == nil { fail(loaded.module.unknownModuleSentence(path)) }
            return path
        }

        func embedFiles() throws {
            let loaded = choice.load()
            let path = layerPath(loaded)
            let start = Date()
            let files = collectImageFiles(images)
            var failures = files.failures
            var vectors: [Float] = [], embedded: [String] = [], width = 0
            var index = 0
            while index < files.paths.count {
                var inputs: [Tensor] = [], names: [String] = []
                while index < files.paths.count && inputs.count < batch {
                    let file = files.paths[index]
                    index += 1
                    do {
                        try inputs.append(loaded.inputTensor(for: loaded.readImage(file, maximumPixels: maxPixels), name: file))
                        names.append(file)
                    } catch {
                        warn(sentence(error))
                        failures += 1
                    }
                }
                guard !inputs.isEmpty else { continue }
                let batchTensor = Tensor(shape: [inputs.count] + loaded.input, scalars: inputs.flatMap(\.scalars))
                let result = orFail { try loaded.embeddings(batchTensor, layer: path) }
                width = result.shape[1]
                vectors += result.scalars
                embedded += names
            }
            let total = files.paths.count + files.failures
            guard !embedded.isEmpty else { fail("none of the \(total) inputs could be embedded; '\(out)' was not written") }
            let metadata = [EmbeddingFile.model: loaded.name, EmbeddingFile.layer: path, EmbeddingFile.weights: choice.resolved.weights.description,
                            EmbeddingFile.files: jsonArray(embedded)]
            let file = SafeTensors(tensors: [(EmbeddingFile.embeddings, Tensor(shape: [embedded.count, width], scalars: vectors))],
                                   metadata: metadata)
            orFail { try file.write(to: out) }
            report(count: embedded.count, width: width, model: loaded.name, layer: path, seconds: Date().timeIntervalSince(start))
            if failures > 0 {
                warn("\(failures) of \(total) inputs could not be embedded")
                throw ExitCode(1)
            }
        }

        func embedDataSet(_ data: String) throws {
            let sets = orFail { try Zoo.datasets(data, for: choice.resolved.model, validationSplit: validationSplit, seed: seed) }
            for warning in sets.warnings { warn("skipped \(warning)") }
            var images = split == "train" ? sets.train : sets.test
            if let subset { images = images.randomSubset(subset, seed: seed) }
            let loaded = choice.load(input: images.shape)
            let path = layerPath(loaded)
            let start = Date()
            let vectors = orFail { try loaded.embeddings(images, layer: path, batchSize: batch) }
            let metadata = [EmbeddingFile.model: loaded.name, EmbeddingFile.layer: path, EmbeddingFile.weights: choice.resolved.weights.description,
                            EmbeddingFile.data: images.name, EmbeddingFile.classes: jsonArray(images.classNames)]
            let labels = Tensor(shape: [images.count], scalars: images.labels.map(Float.init))
            let file = SafeTensors(tensors: [(EmbeddingFile.embeddings, vectors), (EmbeddingFile.labels, labels)], metadata: metadata)
            orFail { try file.write(to: out, integerNames: [EmbeddingFile.labels]) }
            report(count: images.count, width: vectors.shape[1], model: loaded.name, layer: path, seconds: Date().timeIntervalSince(start))
        }

        func report(count: Int, width: Int, model: String, layer: String, seconds: Double) {
            print(String(format: "%@: %d embeddings of %d values (%@ %@) in %.1f s", out, count, width, model, layer, seconds))
        }
    }

    struct Probe: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fit a linear probe (logistic regression) on labelled embeddings and print its accuracy on others.")

        @Option(help: "Labelled embeddings to fit the probe on (from 'zoo embed --data').") var train: String
        @Option(help: "Labelled embeddings to measure the probe's accuracy on.") var test: String
        @Option(help: "Passes over the training embeddings.") var epochs = 30
        @Option(help: "The seed of the batch order.") var seed: UInt64 = 0
        @Option(help: "Write the probe (weight, bias, mean, std) to this safetensors file.") var out: String?
        @Flag(help: "Print one JSON object.") var json = false

        func validate() throws {
            if epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        }

        func run() {
            let trainSet = read(train), testSet = read(test)
            if trainSet.width != testSet.width {
                fail("'\(train)' holds embeddings of \(trainSet.width) values, but '\(test)' holds embeddings of \(testSet.width)")
            }
            if let a = trainSet.source, let b = testSet.source, a != b {
                fail("'\(train)' holds embeddings of \(a), but '\(test)' of \(b)")
            }
            if let a = trainSet.classNames, let b = testSet.classNames, a != b {
                fail("'\(train)' and '\(test)' name different classes (\(a.count) and \(b.count) names)")
            }
            let classCount = trainSet.classNames?.count ?? testSet.classNames?.count ?? (trainSet.labels + testSet.labels).max()! + 1
            for (path, set) in [(train, trainSet), (test, testSet)] {
                if let bad = set.labels.first(where: { $0 >= classCount }) {
                    fail("'\(path)' has label \(bad), but its classes are 0 to \(classCount - 1)")
                }
            }
            let start = Date()
            let probe = orFail { try LinearProbe.fit(embeddings: trainSet.embeddings, labels: trainSet.labels, classes: classCount,
                                                     epochs: epochs, seed: seed) }
            let seconds = Date().timeIntervalSince(start)
            let trainAccuracy = orFail { try probe.accuracy(embeddings: trainSet.embeddings, labels: trainSet.labels) }
            let testAccuracy = orFail { try probe.accuracy(embeddings: testSet.embeddings, labels: testSet.labels) }
            if let out {
                var metadata = ["train": train, "epochs": String(epochs), "seed": String(seed)]
                if let source = trainSet.source { metadata["embeddings"] = source }
                if let names = trainSet.classNames { metadata[EmbeddingFile.classes] = jsonArray(names) }
                orFail { try probe.save(out, metadata: metadata) }
            }
            if json {
                printJSON(["test_accuracy": testAccuracy, "train_accuracy": trainAccuracy, "train_count": trainSet.labels.count,
                           "test_count": testSet.labels.count, "features": trainSet.width, "classes": classCount, "epochs": epochs,
                           "seconds": seconds] as [String: Any])
                return
            }
            print(String(format: "linear probe on %d embeddings of %d values, %d classes, %d epochs (%.1f s): test accuracy %.2f%% on %d, train accuracy %.2f%%",
                         trainSet.labels.count, trainSet.width, classCount, epochs, seconds, testAccuracy * 100, testSet.labels.count,
                         trainAccuracy * 100))
        }

        /// Labelled embeddings from `path`, or one sentence about what is wrong with the file.
        func read(_ path: String) -> (embeddings: Tensor, labels: [Int], width: Int, classNames: [String]?, source: String?) {
            let file = orFail { try SafeTensors.read(path) }
            guard let embeddings = file[EmbeddingFile.embeddings] else {
                fail("'\(path)' holds no 'embeddings' tensor; write one with 'zoo embed'")
            }
            guard embeddings.rank == 2, embeddings.shape[0] > 0, embeddings.shape[1] > 0 else {
                fail("'\(path)': 'embeddings' has shape \(embeddings.shape), not N×D")
            }
            guard let labelTensor = file[EmbeddingFile.labels] else {
                fail("'\(path)' holds no 'labels' tensor; the probe needs labelled embeddings, as 'zoo embed --data' writes")
            }
            guard labelTensor.shape == [embeddings.shape[0]] else {
                fail("'\(path)' holds \(labelTensor.count) labels of shape \(labelTensor.shape) for \(embeddings.shape[0]) embeddings")
            }
            if let bad = labelTensor.scalars.first(where: { !$0.isFinite || $0 < 0 || $0 != $0.rounded() }) {
                fail("'\(path)' has a label \(bad) that is not a class index")
            }
            var classNames: [String]?
            if let text = file.metadata[EmbeddingFile.classes] {
                guard let names = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String] else {
                    fail("'\(path)': its '\(EmbeddingFile.classes)' metadata is not a JSON array of names")
                }
                classNames = names
            }
            let source = file.metadata[EmbeddingFile.model].map { model in file.metadata[EmbeddingFile.layer].map { "\(model) \($0)" } ?? model }
            return (embeddings, labelTensor.scalars.map { Int($0) }, embeddings.shape[1], classNames, source)
        }
    }
}

/// `values` as a JSON array of strings.
func jsonArray(_ values: [String]) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: values, options: [.withoutEscapingSlashes]), as: UTF8.self)
}
