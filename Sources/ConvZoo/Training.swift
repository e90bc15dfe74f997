@_spi(Testing) import ZooTrain
import Foundation

/// How `ZooModel.fit` trains: the recipe, what to freeze, and where the run keeps its files.
public struct FitOptions {
    /// Epochs, batch size, optimizer, schedule, augmentation, seed.
    public var recipe = TrainingConfiguration()
    /// Train only the classifier at first (the rest frozen); otherwise every parameter trains.
    public var freezeBackbone = false
    /// With `freezeBackbone`: the epochs after which the whole model trains (nil: never).
    public var unfreezeAfter: Int?
    /// The final weights (safetensors); the checkpoint is this path + ".checkpoint". Without
    /// it the weights stay in the model only, and the checkpoint goes to a temporary file that
    /// is removed at the end.
    public var output: String?
    /// The CSV log of every epoch (default: `output` with .csv; none without `output`).
    public var log: String?
    /// Continue from the checkpoint of a stopped run, if there is one.
    public var resume = false
    /// Stop after this many epochs as if killed (the checkpoint stays; for tests of `resume`).
    @_spi(Testing) public var stopAfterEpoch: Int?
    /// Called after every batch.
    public var progress: ((TrainingProgress) -> Void)?
    /// Called after every epoch.
    public var epochFinished: (EpochRecord) -> Void = { _ in }
    /// Lines about the run for a user: resuming, unfreezing.
    public var message: (String) -> Void = { _ in }
    /// The processes training together (an MPI job: `MPIGroup.fromEnvironment()`), or nil for
    /// one process. Each step's `recipe.batchSize` images are split across them; process 0
    /// alone writes the log, checkpoints and weights and gets `progress` and `epochFinished`.
    public var group: TrainingGroup?
    /// Gradient bucket size and synchronised batch norm, with a group.
    public var dataParallel = DataParallelOptions()

    public init() {}
}

/// What a training run ended with.
public struct FitResult {
    /// The last epoch's record (nil when the run had no epoch left to train).
    public var last: EpochRecord?
    /// False when the run stopped early (`stopAfterEpoch`); its checkpoint stays.
    public var finished: Bool
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

    /// Throws unless `data` has this model's classes and input size; `role` names it.
    func check(_ data: ImageDataset, _ role: String) throws {
        guard data.classCount == classCount else {
            throw ZooError("the \(role) data has \(data.classCount) classes, but \(name) was built for \(classCount); load it with classes: \(data.classCount)")
        }
        guard data.shape == input else {
            throw ZooError("the \(role) data's images are \(data.shape.map(String.init).joined(separator: "×")), but \(name) was built for \(input.map(String.init).joined(separator: "×"))")
        }
    }

    /// Trains the model on `train`, evaluating on `test` after every epoch, with a checkpoint
    /// per epoch and the final weights written atomically (see `FitOptions`). Afterwards the
    /// model's labels and preprocessing are those of the data, and `save` writes them.
    @discardableResult
    public func fit(train: ImageDataset, test: ImageDataset, options: FitOptions = FitOptions()) throws -> FitResult {
        try check(train, "training")
        try check(test, "evaluation")
        try options.recipe.validate()
        let (mean, std) = normalisation(for: train)
        preprocessing = Preprocessing(size: [train.shape[1], train.shape[2]], crop: nil, mean: mean, std: std, grayscale: train.shape[0] == 1)
        preprocessingIsGiven = true
        givenLabels = LabelSet(train.classNames)
        let classifier = entry.classifierPaths(in: module)
        func freezeBackbone() {
            module.freeze()
            for path in classifier { module.module(at: path)?.unfreeze() }
        }
        options.freezeBackbone ? freezeBackbone() : module.unfreeze()
        let trainer = Trainer(model: module, configuration: options.recipe, train: train, test: test, mean: mean, std: std,
                              group: options.group, dataParallel: options.dataParallel)
        let temporary = options.output == nil
        let checkpoint = (options.output ?? NSTemporaryDirectory() + "/convzoo-fit-\(UUID().uuidString)") + ".checkpoint"
        defer { if temporary { try? FileManager.default.removeItem(atPath: checkpoint) } }
        let log = options.log ?? options.output.map { ($0 as NSString).deletingPathExtension + ".csv" }
        let run = TrainingRun(trainer, checkpoint: checkpoint, weights: options.output, log: log, metadata: weightMetadata)
        run.progress = options.progress
        run.epochFinished = options.epochFinished
        run.stopAfterEpoch = options.stopAfterEpoch
        /// Whether the backbone trains from epoch `epoch` (0-based) on.
        func unfrozen(at epoch: Int) -> Bool { options.unfreezeAfter.map { epoch >= $0 } ?? false }
        run.beforeEpoch = { [module] epoch in
            if options.freezeBackbone, epoch == options.unfreezeAfter {
                module.unfreeze()
                trainer.resetOptimizer()
                options.message("unfreezing the backbone from epoch \(epoch + 1)")
            }
        }
        run.prepareForResume = { [module] done in
            // The optimizer state in the checkpoint covers the parameters that trained last.
            if options.freezeBackbone, done > 0, unfrozen(at: done - 1) {
                module.unfreeze()
                trainer.resetOptimizer()
            }
        }
        if options.resume && !temporary && run.canResume {
            let done = try run.restore()
            options.message("resuming after epoch \(done) from '\(checkpoint)'")
        }
        let (last, finished) = try run.run()
        return FitResult(last: last, finished: finished)
    }

    /// Top-1/top-5 accuracy, mean loss and per-class accuracy on `data` in eval mode,
    /// normalised as in training (see `fit`).
    public func evaluate(_ data: ImageDataset) throws -> Evaluation {
        try check(data, "evaluation")
        let (mean, std) = normalisation(for: data)
        return Trainer.evaluate(module, data, mean: mean, std: std, usesPlans: usesInferencePlans)
    }
}
