import Foundation

/// How `ZooModel.fit` trains: the recipe, what to freeze, and where the run keeps its files.
public struct FitOptions {
    /// Epochs, batch size, optimizer, schedule, augmentation, seed.
    public var recipe = TrainingConfiguration()
    /// Train only the classifier at first (the rest frozen).
    public var freezeBackbone = false
    /// With `freezeBackbone`: the epochs after which the whole model trains (nil: never).
    public var unfreezeAfter: Int?
    /// The final weights (safetensors); the checkpoint is this path + ".checkpoint". Nil keeps
    /// the run in memory (a checkpoint in the temporary folder, removed at the end).
    public var output: String?
    /// The CSV log of every epoch (default: `output` with .csv; none without `output`).
    public var log: String?
    /// Continue from the checkpoint of a stopped run, if there is one.
    public var resume = false
    /// Stop after this many epochs as if killed (the checkpoint stays; for tests of `resume`).
    public var stopAfterEpoch: Int?
    /// Called after every batch.
    public var progress: ((TrainingProgress) -> Void)?
    /// Called after every epoch.
    public var epochFinished: (EpochRecord) -> Void = { _ in }
    /// Lines about the run for a user: resuming, unfreezing.
    public var message: (String) -> Void = { _ in }

    public init() {}
}

/// What a training run ended with.
public struct FitResult {
    /// The last epoch's record (nil when the run had no epoch left to train).
    public var last: EpochRecord?
    /// False when the run stopped early (`stopAfterEpoch`); its checkpoint stays.
    public var finished: Bool
}

extension Zoo {
    /// The training and evaluation sets of `data` for the model `name`: `fashion-mnist`,
    /// `fashion-mnist:DIR`, `mnist:DIR`, `cifar10:DIR`, or a folder with one sub-folder of
    /// images per class (decoded at the model's input size; `validationSplit` of it is held
    /// out). `subset` keeps a seeded random part of the training set. `warnings` names the
    /// image files that could not be read.
    public static func datasets(_ data: String, for name: String, validationSplit: Double = 0.2, subset: Int? = nil,
                                seed: UInt64 = 0) throws -> (train: ImageDataset, test: ImageDataset, warnings: [String]) {
        let entry = try entry(name)
        let spec = try DataSpec(data)
        var (train, test, warnings) = try spec.load(channels: entry.defaultInput[0], size: (entry.defaultInput[1], entry.defaultInput[2]),
                                                    validationFraction: validationSplit, seed: seed)
        if let subset { train = train.randomSubset(subset, seed: seed) }
        return (train, test, warnings)
    }
}

extension ZooModel {
    /// Per-channel mean and std for training on `data`: those of the weights' preprocessing
    /// when they were loaded with it and fit the data's channels, else the data's own.
    func normalisation(for data: ImageDataset) -> (mean: [Float], std: [Float]) {
        if preprocessingIsGiven, preprocessing.mean.count == data.shape[0], preprocessing.std.count == data.shape[0] {
            return (preprocessing.mean, preprocessing.std)
        }
        return data.channelStatistics()
    }

    /// Trains the model on `train`, evaluating on `test` after every epoch, with a checkpoint
    /// per epoch and the final weights written atomically (see `FitOptions`). Afterwards the
    /// model's labels and preprocessing are those of the data, and `save` writes them.
    @discardableResult
    public func fit(train: ImageDataset, test: ImageDataset, options: FitOptions = FitOptions()) throws -> FitResult {
        guard train.classCount == classCount else {
            throw ZooError("the data has \(train.classCount) classes, but \(name) was built for \(classCount); load it with classes: \(train.classCount)")
        }
        guard train.shape == input else {
            throw ZooError("the data's images are \(train.shape.map(String.init).joined(separator: "×")), but \(name) was built for \(input.map(String.init).joined(separator: "×"))")
        }
        let (mean, std) = normalisation(for: train)
        preprocessing = Preprocessing(size: [train.shape[1], train.shape[2]], crop: nil, mean: mean, std: std, grayscale: train.shape[0] == 1)
        preprocessingIsGiven = true
        givenLabels = LabelSet(train.classNames)
        if options.freezeBackbone {
            module.freeze()
            for path in entry.classifierPaths(in: module) { module.module(at: path)?.unfreeze() }
        }
        let trainer = Trainer(model: module, configuration: options.recipe, train: train, test: test, mean: mean, std: std)
        let checkpoint = (options.output ?? NSTemporaryDirectory() + "/convzoo-fit-\(getpid())") + ".checkpoint"
        let log = options.log ?? options.output.map { ($0 as NSString).deletingPathExtension + ".csv" }
        let run = TrainingRun(trainer, checkpoint: checkpoint, weights: options.output, log: log, metadata: weightMetadata)
        if options.output == nil { try? FileManager.default.removeItem(atPath: checkpoint) }
        run.progress = options.progress
        run.epochFinished = options.epochFinished
        run.stopAfterEpoch = options.stopAfterEpoch
        run.beforeEpoch = { [module] epoch in
            if options.freezeBackbone, let after = options.unfreezeAfter, epoch == after {
                module.unfreeze()
                trainer.resetOptimizer()
                options.message("unfreezing the backbone from epoch \(epoch + 1)")
            }
        }
        if options.resume && run.canResume {
            let done = try run.restore()
            if options.freezeBackbone, let after = options.unfreezeAfter, done > after {
                module.unfreeze()
                trainer.resetOptimizer()
                try run.restore()
            }
            options.message("resuming after epoch \(done) from '\(checkpoint)'")
        }
        let (last, finished) = try run.run()
        return FitResult(last: last, finished: finished)
    }
}

extension ZooModel {
    /// Top-1/top-5 accuracy, mean loss and per-class accuracy on `data` in eval mode,
    /// normalised as in training (see `fit`).
    public func evaluate(_ data: ImageDataset) -> Evaluation {
        let (mean, std) = normalisation(for: data)
        return Trainer.evaluate(module, data, mean: mean, std: std)
    }
}
