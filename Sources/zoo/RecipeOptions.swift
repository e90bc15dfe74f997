import ArgumentParser
@_spi(Testing) import ConvZoo
import Foundation

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
    @Option(help: "Augmentation: crop (random crop, padding 2 on 28×28 and 4 on larger), flip, resized-crop (torchvision's RandomResizedCrop), combined with +, or none (default: crop+flip, and resized-crop+flip for image folders).")
    var augment: String?
    @Option(help: "Train on a seeded random subset of this many training images.") var subset: Int?
    @Option(name: .customLong("val-split"), help: "Fraction of an image folder held out for validation.") var validationSplit = 0.2
    @Option(help: "Random seed: initialisation, shuffling, augmentation.") var seed: UInt64 = 0
    @Option(help: "CSV log of every epoch (default: OUT with .csv).") var log: String?
    @Flag(help: "Continue from OUT's checkpoint if a run was stopped.") var resume = false
    @Option(help: "Where to write the trained weights (safetensors).") var out: String
    @Flag(name: .customLong("sync-bn"), help: "Under mpirun: batch-norm statistics over the whole global batch, not each process's share.")
    var syncBN = false
    @Option(name: .customLong("bucket-mb"), help: "Under mpirun: gradients are summed in buckets of about this many MB, each sent as soon as it is complete.")
    var bucketMB = 25.0
    @Option(name: .customLong("lr-reference-batch"), help: "Scale --lr linearly by --batch / this batch (Goyal et al. 2017; use with --warmup for large global batches).")
    var lrReferenceBatch: Int?

    var imageFolder: Bool { if case .imageFolder = try? DataSpec(data) { return true }; return false }

    /// The recipe without its augmentation (which depends on the images).
    var recipe: TrainingConfiguration {
        var c = TrainingConfiguration()
        c.epochs = epochs
        c.batchSize = batch
        c.learningRate = lrReferenceBatch.map { lr * Float(batch) / Float($0) } ?? lr
        guard let kind = OptimizerKind(rawValue: optimizer) else { fail("--optimizer must be sgd, adam or adamw, not '\(optimizer)'") }
        c.optimizer = kind
        guard let scheduleKind = ScheduleKind(rawValue: schedule) else { fail("--schedule must be cosine, step or constant, not '\(schedule)'") }
        c.schedule = scheduleKind
        c.weightDecay = weightDecay
        c.warmupEpochs = warmup
        c.labelSmoothing = labelSmoothing
        c.seed = seed
        return c
    }

    func configuration(imageSide: Int) -> TrainingConfiguration {
        var c = recipe
        c.augmentation = augment.map { text in orFail { try Augmentation(parsing: text, side: imageSide) } }
            ?? .standard(side: imageSide, imageFolder: imageFolder)
        return c
    }

    func validateNumbers() {
        orFail { try recipe.validate() }
        if let augment { _ = orFail { try Augmentation(parsing: augment, side: 32) } }
        if let subset, subset < 1 { fail("--subset must be at least 1, got \(subset)") }
        if !(bucketMB > 0) { fail("--bucket-mb must be positive, got \(bucketMB)") }
        if let lrReferenceBatch, lrReferenceBatch < 1 { fail("--lr-reference-batch must be at least 1, got \(lrReferenceBatch)") }
        if !(validationSplit > 0 && validationSplit < 1) { fail("--val-split must be between 0 and 1, got \(validationSplit)") }
        let folder = (out as NSString).deletingLastPathComponent
        if !folder.isEmpty && !FileManager.default.fileExists(atPath: folder) { fail("cannot write '\(out)': the folder '\(folder)' does not exist") }
    }

    /// Training and evaluation data for the model `name` (image folders take its input size).
    func datasets(for name: String) -> (train: ImageDataset, test: ImageDataset) {
        let (train, test, warnings) = orFail { try Zoo.datasets(data, for: name, validationSplit: validationSplit, subset: subset, seed: seed) }
        for warning in warnings { warn("skipped \(warning)") }
        return (train, test)
    }

    /// How the run keeps its files and reports, printing on stdout; data-parallel over `group`.
    func fitOptions(imageSide: Int, group: MPIGroup?) -> FitOptions {
        var options = FitOptions()
        options.group = group
        options.dataParallel.synchronizeBatchNorm = syncBN
        options.dataParallel.bucketBytes = Int(bucketMB * 1_048_576)
        options.recipe = configuration(imageSide: imageSide)
        options.output = out
        options.log = log
        options.resume = resume
        options.stopAfterEpoch = ProcessInfo.processInfo.environment["ZOO_STOP_AFTER_EPOCH"].flatMap(Int.init)
        let printer = ProgressPrinter()
        options.progress = printer.update
        options.epochFinished = { printer.finish($0, epochs: epochs) }
        options.message = { print($0) }
        return options
    }
}

/// The MPI job this process belongs to (started by mpirun), or nil. Processes other than the
/// first print nothing on stdout (their errors still reach stderr).
func joinTrainingGroup() -> MPIGroup? {
    guard let group = orFail({ try MPIGroup.fromEnvironment() }) else { return nil }
    if group.rank != 0 { _ = freopen("/dev/null", "w", stdout) }
    trainingGroup = group
    return group
}
