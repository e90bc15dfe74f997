import Foundation
import ZooTensor
import ZooWeights

/// One training run of a `Trainer`: the epochs from where it stands, a checkpoint after every
/// epoch (weights, optimizer state, RNG state; written atomically), an optional CSV log of the
/// epochs, and the final weights. A stopped run continues from its checkpoint with `restore()`.
/// `zoo train`, `zoo finetune`, the library's `fit` and the depth experiment all run through it.
public final class TrainingRun {
    public let trainer: Trainer
    /// The checkpoint written after every epoch (deleted once the final weights are written).
    public let checkpointPath: String
    /// Where the final weights go (safetensors), or nil to keep none (the checkpoint goes too).
    public let weightsPath: String?
    /// The CSV log of every epoch (`EpochRecord.csvHeader`), or nil.
    public let logPath: String?
    /// The weight file's and checkpoint's metadata.
    public let metadata: [String: String]
    /// Called before each epoch with its 0-based index (to unfreeze a backbone, say).
    public var beforeEpoch: (Int) -> Void = { _ in }
    /// Called after every batch.
    public var progress: ((TrainingProgress) -> Void)?
    /// Called after every epoch, once its checkpoint is written; an error it throws ends the run
    /// there (the checkpoint stays).
    public var epochFinished: (EpochRecord) throws -> Void = { _ in }
    /// Called by `restore()` with the checkpoint's epochs done, before anything is restored: the
    /// model must then have the trainable parameters it had when the checkpoint was written
    /// (a backbone unfrozen after some epoch, say), so that the optimizer state fits.
    public var prepareForResume: (_ epochsDone: Int) -> Void = { _ in }
    /// Stop after this many epochs as if killed: the checkpoint stays, no weights are written.
    @_spi(Testing) public var stopAfterEpoch: Int?

    /// Epochs finished so far (after `restore()`, those of the checkpoint).
    public private(set) var epochsDone = 0
    private var logLines = [EpochRecord.csvHeader]

    public init(_ trainer: Trainer, checkpoint: String, weights: String? = nil, log: String? = nil, metadata: [String: String] = [:]) {
        (self.trainer, checkpointPath, weightsPath, logPath, self.metadata) = (trainer, checkpoint, weights, log, metadata)
    }

    /// Whether a checkpoint is there to continue from.
    public var canResume: Bool { FileManager.default.fileExists(atPath: checkpointPath) }

    /// Restores model, optimizer and RNG from the checkpoint, and the log's lines of the
    /// epochs it holds; returns the epochs already done.
    @discardableResult
    public func restore() throws -> Int {
        let file = try SafeTensors.read(checkpointPath)
        prepareForResume(file.metadata["epochs_done"].flatMap(Int.init) ?? 0)
        epochsDone = try Checkpoint.restore(trainer, file: file, name: checkpointPath)
        if let logPath, let text = try? String(contentsOfFile: logPath, encoding: .utf8) {
            logLines = Array(text.split(separator: "\n").map(String.init).prefix(epochsDone + 1))
        }
        return epochsDone
    }

    /// Trains the epochs left of the recipe. Returns the last epoch's record (nil when none
    /// was left), and whether the run finished (false when stopped by `stopAfterEpoch`).
    @discardableResult
    /// Data-parallel, process 0 alone writes the log, the checkpoints and the weights (with its
    /// buffers, which the others take from it before every step) and reports progress.
    public func run() throws -> (last: EpochRecord?, finished: Bool) {
        var last: EpochRecord?
        let writes = (trainer.group?.rank ?? 0) == 0
        while epochsDone < trainer.configuration.epochs {
            beforeEpoch(epochsDone)
            let record = try trainer.runEpoch(epochsDone, progress: writes ? progress : nil)
            epochsDone += 1
            logLines.append(record.csvLine)
            if writes {
                if let logPath { try AtomicFile.write(logLines.joined(separator: "\n") + "\n", to: logPath) }
                try Checkpoint.save(trainer, epochsDone: epochsDone, to: checkpointPath, metadata: metadata)
            }
            last = record
            if writes { try epochFinished(record) }
            if epochsDone == stopAfterEpoch { return (last, false) }
        }
        if writes {
            if let weightsPath { try WeightFile.save(trainer.model, to: weightsPath, metadata: metadata) }
            try? FileManager.default.removeItem(atPath: checkpointPath)
        }
        return (last, true)
    }
}
