import ArgumentParser
import ConvZoo
import Foundation

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
            let files = ImageFileList(images)
            var failures = files.problems.count
            files.problems.forEach(warn)
            var rows: [Tensor] = [], embedded: [String] = []
            orFail {
                try loaded.forEachBatch(of: files.paths, batchSize: batch, maximumPixels: maxPixels,
                                        skipping: { warn(sentence($1)); failures += 1 }) { batch in
                    rows.append(try loaded.embeddings(batch.tensor, layer: path))
                    embedded += batch.files
                }
            }
            let total = files.paths.count + files.problems.count
            guard let width = rows.first?.shape[1] else { fail("none of the \(total) inputs could be embedded; '\(out)' was not written") }
            let vectors = Tensor(shape: [embedded.count, width], scalars: rows.flatMap(\.scalars))
            let file = EmbeddingFile(embeddings: vectors, model: loaded.name, layer: path, weights: choice.resolved.weights.description,
                                     files: embedded)
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
            let file = EmbeddingFile(embeddings: vectors, labels: images.labels, model: loaded.name, layer: path,
                                     weights: choice.resolved.weights.description, data: images.name, classNames: images.classNames)
            orFail { try file.write(to: out) }
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
            let trainSet = orFail { try EmbeddingFile(file: train, labelled: true) }
            let testSet = orFail { try EmbeddingFile(file: test, labelled: true) }
            let classCount = orFail { try EmbeddingFile.classCount(train: trainSet, test: testSet) }
            let (trainLabels, testLabels) = (trainSet.labels!, testSet.labels!)
            let start = Date()
            let probe = orFail { try LinearProbe.fit(embeddings: trainSet.embeddings, labels: trainLabels, classes: classCount,
                                                     epochs: epochs, seed: seed) }
            let seconds = Date().timeIntervalSince(start)
            let trainAccuracy = orFail { try probe.accuracy(embeddings: trainSet.embeddings, labels: trainLabels) }
            let testAccuracy = orFail { try probe.accuracy(embeddings: testSet.embeddings, labels: testLabels) }
            if let out { orFail { try probe.save(out, fittedOn: trainSet, epochs: epochs, seed: seed) } }
            if json {
                printJSON(["test_accuracy": testAccuracy, "train_accuracy": trainAccuracy, "train_count": trainLabels.count,
                           "test_count": testLabels.count, "features": trainSet.width, "classes": classCount, "epochs": epochs,
                           "seconds": seconds] as [String: Any])
                return
            }
            print(String(format: "linear probe on %d embeddings of %d values, %d classes, %d epochs (%.1f s): test accuracy %.2f%% on %d, train accuracy %.2f%%",
                         trainLabels.count, trainSet.width, classCount, epochs, seconds, testAccuracy * 100, testLabels.count,
                         trainAccuracy * 100))
        }

    }
}
