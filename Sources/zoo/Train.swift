import ArgumentParser
import Foundation
import ZooImage
import ZooModels
import ZooNN
import ZooTensor
import ZooTrain
import ZooWeights

/// Options shared by `zoo train` and `zoo finetune`.
struct RecipeOptions: ParsableArguments {
    @Option(help: "Training data: fashion-mnist, fashion-mnist:DIR, mnist:DIR, cifar10:DIR, or DIR (one sub-folder per class).")
    var data: String
    @Option(help: "Epochs to train.") var epochs = 10
    @Option(help: "Images per batch.") var batch = 128
    @Option(help: "Peak learning rate.") var lr: Float = 0.1
    @Option(help: "sgd, adam or adamw.") var optimizer = "sgd"
    @Option(help: "cosine, step or constant.") var schedule = "cosine"
    @Option(name: .customLong("weight-decay"), help: "L2 weight decay (decoupled for adamw).") var weightDecay: Float = 5e-4
    @Option(help: "Epochs of linear learning-rate warm-up.") var warmup = 0
    @Option(name: .customLong("label-smoothing"), help: "Label smoothing of the cross-entropy.") var labelSmoothing: Float = 0
    @Option(help: "Augmentation: crop (random crop, padding 2 on 28×28 and 4 on larger), flip, resized-crop (torchvision's RandomResizedCrop; the default for image folders is resized-crop+flip), combined with +, or none.")
    var augment = "crop+flip"
    @Option(help: "Train on a seeded random subset of this many training images.") var subset: Int?
    @Option(name: .customLong("val-split"), help: "Fraction of an image folder held out for validation.") var validationSplit = 0.2
    @Option(help: "Random seed: initialisation, shuffling, augmentation.") var seed: UInt64 = 0
    @Option(help: "CSV log of every epoch (default: OUT with .csv).") var log: String?
    @Flag(help: "Continue from OUT's checkpoint if a run was stopped.") var resume = false
    @Option(help: "Where to write the trained weights (safetensors).") var out: String

    var imageFolder: Bool { if case .imageFolder = try? DataSpec(data) { return true }; return false }

    func configuration(imageSide: Int) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.epochs = epochs
        c.batchSize = batch
        c.learningRate = lr
        guard let kind = OptimizerKind(rawValue: optimizer) else { fail("--optimizer must be sgd, adam or adamw, not '\(optimizer)'") }
        c.optimizer = kind
        guard let scheduleKind = ScheduleKind(rawValue: schedule) else { fail("--schedule must be cosine, step or constant, not '\(schedule)'") }
        c.schedule = scheduleKind
        c.weightDecay = weightDecay
        c.warmupEpochs = warmup
        c.labelSmoothing = labelSmoothing
        c.seed = seed
        var parts = Set(augment.split(separator: "+").map(String.init))
        guard parts.isSubset(of: ["crop", "flip", "resized-crop", "none"]) else {
            fail("--augment must combine crop, flip and resized-crop with +, or be none; not '\(augment)'")
        }
        if imageFolder && augment == "crop+flip" { parts = ["resized-crop", "flip"] }
        c.augmentation = Augmentation(cropPadding: parts.contains("crop") ? (imageSide <= 28 ? 2 : 4) : 0, horizontalFlip: parts.contains("flip"),
                                      randomResizedCrop: parts.contains("resized-crop"))
        return c
    }

    func validateNumbers() {
        if epochs < 1 { fail("--epochs must be at least 1, got \(epochs)") }
        if batch < 1 { fail("--batch must be at least 1, got \(batch)") }
        if !(lr > 0) { fail("--lr must be positive, got \(lr)") }
        if weightDecay < 0 { fail("--weight-decay must not be negative, got \(weightDecay)") }
        if warmup < 0 || warmup >= epochs { fail("--warmup must be between 0 and the epochs − 1, got \(warmup)") }
        if labelSmoothing < 0 || labelSmoothing >= 1 { fail("--label-smoothing must be in [0, 1), got \(labelSmoothing)") }
        if let subset, subset < 1 { fail("--subset must be at least 1, got \(subset)") }
        if !(validationSplit > 0 && validationSplit < 1) { fail("--val-split must be between 0 and 1, got \(validationSplit)") }
        let folder = (out as NSString).deletingLastPathComponent
        if !folder.isEmpty && !FileManager.default.fileExists(atPath: folder) { fail("cannot write '\(out)': the folder '\(folder)' does not exist") }
    }

    /// Training and evaluation data for a model of `entry` (image folders take its input size).
    func datasets(for entry: ModelEntry) -> (train: ImageDataset, test: ImageDataset) {
        let spec: DataSpec
        do { spec = try DataSpec(data) } catch { fail("\(error)") }
        do {
            var (train, test, warnings) = try spec.load(channels: entry.defaultInput[0], size: (entry.defaultInput[1], entry.defaultInput[2]),
                                                        validationFraction: validationSplit, seed: seed)
            for warning in warnings { FileHandle.standardError.write("zoo: skipped \(warning)\n".data(using: .utf8)!) }
            if let subset { train = train.randomSubset(subset, seed: seed) }
            return (train, test)
        } catch { fail("\(error)") }
    }
}

/// Prints a live line on a terminal, plain lines otherwise.
struct ProgressPrinter {
    let live = isatty(1) != 0

    func update(_ p: TrainingProgress) {
        guard live else { return }
        let width = 24, filled = Int(Double(width) * Double(p.batch) / Double(max(p.batches, 1)))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = String(format: "epoch %d/%d %@ loss %.4f acc %.2f%% %.0f img/s ETA %.0fs", p.epoch + 1, p.epochs, bar, p.loss,
                          p.accuracy * 100, p.imagesPerSecond, p.secondsLeft)
        print("\r" + line, terminator: "")
        fflush(stdout)
    }

    func finish(_ r: EpochRecord, epochs: Int) {
        let line = String(format: "epoch %d/%d  train loss %.4f acc %.2f%%  val loss %.4f acc %.2f%% top-5 %.2f%%  lr %.4g  %.1fs",
                          r.epoch, epochs, r.trainLoss, r.trainAccuracy * 100, r.validation.loss, r.validation.top1 * 100,
                          r.validation.top5 * 100, r.learningRate, r.seconds)
        print((live ? "\r\u{1B}[2K" : "") + line)
        fflush(stdout)
    }
}

/// Runs the epochs of `trainer`, with progress, CSV log, checkpoints and resume.
func runTraining(_ trainer: Trainer, entry: ModelEntry, options: RecipeOptions, metadata: [String: String],
                 beforeEpoch: (Int) -> Void = { _ in }) {
    let checkpoint = options.out + ".checkpoint"
    let logPath = options.log ?? ((options.out as NSString).deletingPathExtension + ".csv")
    var done = 0
    var lines = [EpochRecord.csvHeader]
    if options.resume && FileManager.default.fileExists(atPath: checkpoint) {
        do { done = try Checkpoint.restore(trainer, from: checkpoint) } catch { fail("\(error)") }
        if let text = try? String(contentsOfFile: logPath, encoding: .utf8) {
            lines = Array(text.split(separator: "\n").map(String.init).prefix(done + 1))
        }
        print("resuming after epoch \(done) from '\(checkpoint)'")
    }
    let printer = ProgressPrinter()
    var last: EpochRecord?
    for epoch in done..<options.epochs {
        beforeEpoch(epoch)
        let record = trainer.runEpoch(epoch, progress: printer.update)
        printer.finish(record, epochs: options.epochs)
        lines.append(record.csvLine)
        do {
            try AtomicFile.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: logPath)
            try Checkpoint.save(trainer, epochsDone: epoch + 1, to: checkpoint, metadata: metadata)
        } catch { fail("\(error)") }
        last = record
        if ProcessInfo.processInfo.environment["ZOO_STOP_AFTER_EPOCH"] == String(epoch + 1) {
            // Simulates a killed run (for tests of --resume): the checkpoint stays, no weights are written.
            print("stopping after epoch \(epoch + 1) (ZOO_STOP_AFTER_EPOCH)")
            return
        }
    }
    do { try WeightFile.save(trainer.model, to: options.out, metadata: metadata) } catch { fail("\(error)") }
    try? FileManager.default.removeItem(atPath: checkpoint)
    if let last {
        print(String(format: "wrote '%@': %@ top-1 %.2f%%, top-5 %.2f%% on %d %@ images", options.out, entry.name,
                     last.validation.top1 * 100, last.validation.top5 * 100, last.validation.count, trainer.test.name))
    }
}

/// The metadata a trained weight file carries.
func trainedMetadata(_ entry: ModelEntry, _ train: ImageDataset, mean: [Float], std: [Float]) -> [String: String] {
    let preprocessing = Preprocessing(size: [train.shape[1], train.shape[2]], crop: nil, mean: mean, std: std, grayscale: train.shape[0] == 1)
    let labels = String(decoding: try! JSONSerialization.data(withJSONObject: train.classNames), as: UTF8.self)
    return [WeightFile.MetadataKey.architecture: entry.name, WeightFile.MetadataKey.classCount: String(train.classCount),
            WeightFile.MetadataKey.input: train.shape.map(String.init).joined(separator: "x"),
            WeightFile.MetadataKey.preprocessing: preprocessing.json, WeightFile.MetadataKey.labels: labels]
}

extension Zoo {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Train a model from scratch.")
        @Option(help: "The model (see 'zoo list').") var model: String
        @OptionGroup var recipe: RecipeOptions

        func run() {
            installErrorHandlers()
            let entry = lookUp(model)
            recipe.validateNumbers()
            let (train, test) = recipe.datasets(for: entry)
            if let problem = entry.inputProblem(train.shape) { fail("\(entry.name) cannot take this data: \(problem)") }
            GlobalRandom.seed(recipe.seed)
            let network = entry.build(classCount: train.classCount, input: train.shape)
            ShapeCheck.name(network)
            let (mean, std) = train.channelStatistics()
            let trainer = Trainer(model: network, configuration: recipe.configuration(imageSide: train.shape[1]), train: train, test: test,
                                  mean: mean, std: std)
            print("training \(entry.name) (\(network.parameterCount) parameters) on \(train.count) \(train.name) images, evaluating on \(test.count)")
            runTraining(trainer, entry: entry, options: recipe, metadata: trainedMetadata(entry, train, mean: mean, std: std))
        }
    }

    struct Finetune: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fine-tune pretrained weights on new classes: a new head first, then optionally everything.")
        @Option(help: "The model (see 'zoo list').") var model: String
        @Option(help: "Pretrained weights (safetensors or .pth).") var weights: String
        @Option(name: .customLong("num-classes"), help: "Classes of the new head.") var classCount: Int
        @Option(help: "backbone (train the head only at first) or none.") var freeze = "backbone"
        @Option(name: .customLong("unfreeze-after"), help: "Epochs after which the backbone trains too.") var unfreezeAfter: Int?
        @OptionGroup var recipe: RecipeOptions

        func run() {
            installErrorHandlers()
            guard ["backbone", "none"].contains(freeze) else { fail("--freeze must be backbone or none, not '\(freeze)'") }
            recipe.validateNumbers()
            let entry = lookUp(model)
            let (train, test) = recipe.datasets(for: entry)
            if train.classCount != classCount { fail("--num-classes is \(classCount), but '\(recipe.data)' has \(train.classCount) classes") }
            GlobalRandom.seed(recipe.seed)
            let loaded = loadModel(model, weights: weights, classCount: classCount, input: train.shape)
            let network = loaded.model
            ShapeCheck.name(network)
            let head = ModelRegistry.classifierPaths(of: network)
            if freeze == "backbone" {
                network.freeze()
                for path in head { network.module(at: path)?.unfreeze() }
            }
            let stored = loaded.metadata[WeightFile.MetadataKey.preprocessing].flatMap(Preprocessing.init(json:))
            let statistics = train.channelStatistics()
            let mean = stored?.mean.count == train.shape[0] ? stored!.mean : statistics.mean
            let std = stored?.std.count == train.shape[0] ? stored!.std : statistics.std
            let trainer = Trainer(model: network, configuration: recipe.configuration(imageSide: train.shape[1]), train: train, test: test,
                                  mean: mean, std: std)
            print("fine-tuning \(entry.name) on \(train.count) images of \(train.classCount) classes (\(freeze == "backbone" ? "head only at first" : "all layers"))")
            runTraining(trainer, entry: entry, options: recipe, metadata: trainedMetadata(entry, train, mean: mean, std: std)) { epoch in
                if freeze == "backbone", let unfreezeAfter, epoch == unfreezeAfter {
                    network.unfreeze()
                    trainer.resetOptimizer()
                    print("unfreezing the backbone from epoch \(epoch + 1)")
                }
            }
        }
    }

    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Top-1/top-5 accuracy, loss and per-class accuracy on a test split.")
        @Option(help: "The model (default: the one the weight file names).") var model: String?
        @Option(help: "Weights (safetensors or .pth).") var weights: String
        @Option(help: "fashion-mnist, fashion-mnist:DIR, mnist:DIR, cifar10:DIR, or DIR (its validation split).") var data: String
        @Option(name: .customLong("val-split"), help: "Fraction of an image folder held out for validation.") var validationSplit = 0.2
        @Option(help: "The seed of an image folder's split.") var seed: UInt64 = 0
        @Flag(help: "Print one JSON object.") var json = false

        func run() {
            installErrorHandlers()
            let file: SafeTensors
            do { file = try WeightFile.read(weights) } catch { fail("\(error)") }
            guard let name = model ?? file.metadata[WeightFile.MetadataKey.architecture] else { fail("'\(weights)' does not name its architecture; pass --model") }
            let entry = lookUp(name)
            let spec: DataSpec
            do { spec = try DataSpec(data) } catch { fail("\(error)") }
            let test: ImageDataset
            do { test = try spec.load(channels: entry.defaultInput[0], size: (entry.defaultInput[1], entry.defaultInput[2]),
                                      validationFraction: validationSplit, seed: seed).test } catch { fail("\(error)") }
            let loaded = loadModel(name, weights: weights, classCount: nil, input: test.shape)
            if loaded.classCount != test.classCount { fail("'\(weights)' has \(loaded.classCount) classes, but '\(data)' has \(test.classCount)") }
            let stored = loaded.metadata[WeightFile.MetadataKey.preprocessing].flatMap(Preprocessing.init(json:))
            let statistics = test.channelStatistics()
            let mean = stored?.mean.count == test.shape[0] ? stored!.mean : statistics.mean
            let std = stored?.std.count == test.shape[0] ? stored!.std : statistics.std
            ShapeCheck.name(loaded.model)
            let result = Trainer.evaluate(loaded.model, test, mean: mean, std: std)
            if json {
                let object: [String: Any] = ["top1": result.top1, "top5": result.top5, "loss": result.loss, "count": result.count]
                print(String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
                return
            }
            print(String(format: "%@ on %d %@ images: top-1 %.2f%%, top-5 %.2f%%, mean loss %.4f", name, result.count, test.name,
                         result.top1 * 100, result.top5 * 100, result.loss))
            let width = max(5, result.perClass.map(\.name.count).max() ?? 0)
            print("class".padding(toLength: width, withPad: " ", startingAt: 0) + "  accuracy  correct/total")
            for row in result.perClass {
                let accuracy = row.total == 0 ? 0 : Double(row.correct) / Double(row.total) * 100
                print(row.name.padding(toLength: width, withPad: " ", startingAt: 0) + String(format: "  %7.2f%%  %d/%d", accuracy, row.correct, row.total))
            }
        }
    }
}
