import Foundation
import GoogLeNet
import ZooNN
import ZooTensor
import ZooWeights

public enum OptimizerKind: String, CaseIterable { case sgd, adam, adamw }
public enum ScheduleKind: String, CaseIterable { case cosine, step, constant }

/// One training recipe.
public struct TrainingConfiguration {
    public var epochs = 10
    public var batchSize = 128
    public var learningRate: Float = 0.1
    public var optimizer = OptimizerKind.sgd
    public var momentum: Float = 0.9
    public var weightDecay: Float = 5e-4
    public var schedule = ScheduleKind.cosine
    /// Epochs of linear warm-up from 10% of the learning rate.
    public var warmupEpochs = 0
    /// For the step schedule: epochs at which the rate is divided by 10 (default: half and three quarters).
    public var milestones: [Int]?
    public var labelSmoothing: Float = 0
    public var augmentation = Augmentation.none
    public var seed: UInt64 = 0

    public init() {}

    public func learningRate(at epoch: Int) -> Float {
        let main: LearningRateSchedule
        switch schedule {
        case .cosine: main = CosineSchedule(base: learningRate, period: max(1, epochs - warmupEpochs))
        case .step: main = MultiStepSchedule(base: learningRate, milestones: milestones ?? [epochs / 2, epochs * 3 / 4].map { $0 - warmupEpochs })
        case .constant: main = StepSchedule(base: learningRate, stepSize: Int.max, gamma: 1)
        }
        guard warmupEpochs > 0 else { return main.learningRate(at: epoch) }
        return WarmupThen(warmup: LinearWarmupSchedule(base: learningRate, startFactor: 0.1, endFactor: 1, epochs: warmupEpochs),
                          epochs: warmupEpochs, then: main).learningRate(at: epoch)
    }
}

/// Accuracy and loss on a dataset.
public struct Evaluation {
    public var top1: Double
    public var top5: Double
    public var loss: Double
    public var count: Int
    /// Per class: (name, correct, total).
    public var perClass: [(name: String, correct: Int, total: Int)]
}

/// What one epoch did.
public struct EpochRecord {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var validation: Evaluation
    public var learningRate: Float
    public var seconds: Double

    public static let csvHeader = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds"
    public var csvLine: String {
        String(format: "%d,%.6f,%.6f,%.6f,%.6f,%.6g,%.2f", epoch, trainLoss, trainAccuracy, validation.loss, validation.top1, learningRate, seconds)
    }
}

/// Progress inside an epoch, for a live line.
public struct TrainingProgress {
    public var epoch: Int, epochs: Int
    public var batch: Int, batches: Int
    public var loss: Double, accuracy: Double
    public var imagesPerSecond: Double
    public var secondsLeft: Double
}

/// Trains a model with a recipe, evaluating after every epoch.
public final class Trainer {
    public let model: Module
    public let configuration: TrainingConfiguration
    public let train: ImageDataset
    public let test: ImageDataset
    public let mean: [Float], std: [Float]
    public private(set) var optimizer: Optimizer
    public var evaluationBatchSize = 256

    public init(model: Module, configuration: TrainingConfiguration, train: ImageDataset, test: ImageDataset,
                mean: [Float], std: [Float]) {
        self.model = model
        self.configuration = configuration
        (self.train, self.test, self.mean, self.std) = (train, test, mean, std)
        optimizer = Trainer.makeOptimizer(model, configuration)
    }

    static func makeOptimizer(_ model: Module, _ c: TrainingConfiguration) -> Optimizer {
        let parameters = model.namedParameters().map(\.variable).filter(\.requiresGrad)
        switch c.optimizer {
        case .sgd: return SGD(parameters, learningRate: c.learningRate, momentum: c.momentum, weightDecay: c.weightDecay)
        case .adam: return Adam(parameters, learningRate: c.learningRate, weightDecay: c.weightDecay)
        case .adamw: return Adam.adamW(parameters, learningRate: c.learningRate, weightDecay: c.weightDecay)
        }
    }

    /// Rebuilds the optimizer over the parameters that are trainable now (after unfreezing).
    public func resetOptimizer() { optimizer = Trainer.makeOptimizer(model, configuration) }

    /// The loss of one batch (GoogLeNet adds its auxiliary heads at weight 0.3 in training).
    func loss(_ batch: Batch) -> (loss: Variable, logits: Tensor) {
        let input = Variable(batch.images)
        if let googlenet = model as? GoogLeNet, googlenet.isTraining {
            let (logits, auxiliary) = googlenet.forwardWithAuxiliary(input)
            var loss = crossEntropy(logits, targets: batch.labels, labelSmoothing: configuration.labelSmoothing)
            for aux in auxiliary { loss = loss + scale(crossEntropy(aux, targets: batch.labels), by: 0.3) }
            return (loss, logits.value)
        }
        let logits = model(input)
        return (crossEntropy(logits, targets: batch.labels, labelSmoothing: configuration.labelSmoothing), logits.value)
    }

    /// Trains epoch `epoch` (0-based) and evaluates.
    public func runEpoch(_ epoch: Int, progress: ((TrainingProgress) -> Void)? = nil) -> EpochRecord {
        let start = Date()
        let rate = configuration.learningRate(at: epoch)
        optimizer.learningRate = rate
        model.train()
        let loader = DataLoader(train, batchSize: configuration.batchSize, seed: configuration.seed &+ UInt64(epoch) &* 7919,
                                augmentation: configuration.augmentation, mean: mean, std: std)
        var totalLoss = 0.0, correct = 0, seen = 0
        for (index, batch) in loader.enumerated() {
            optimizer.zeroGrad()
            let (loss, logits) = self.loss(batch)
            loss.backward()
            optimizer.step()
            totalLoss += Double(loss.value.scalar) * Double(batch.labels.count)
            correct += Trainer.correct(logits, batch.labels, k: 1)
            seen += batch.labels.count
            if let progress {
                let elapsed = Date().timeIntervalSince(start)
                let rate = Double(seen) / max(elapsed, 1e-9)
                progress(TrainingProgress(epoch: epoch, epochs: configuration.epochs, batch: index + 1, batches: loader.batchCount,
                                  loss: totalLoss / Double(seen), accuracy: Double(correct) / Double(seen),
                                  imagesPerSecond: rate, secondsLeft: Double(train.count - seen) / rate))
            }
        }
        let validation = evaluate(test)
        return EpochRecord(epoch: epoch + 1, trainLoss: totalLoss / Double(max(seen, 1)), trainAccuracy: Double(correct) / Double(max(seen, 1)),
                           validation: validation, learningRate: rate, seconds: Date().timeIntervalSince(start))
    }

    /// Top-1/top-5 accuracy, mean loss and per-class accuracy in eval mode.
    public func evaluate(_ dataset: ImageDataset) -> Evaluation {
        Trainer.evaluate(model, dataset, mean: mean, std: std, batchSize: evaluationBatchSize)
    }

    public static func evaluate(_ model: Module, _ dataset: ImageDataset, mean: [Float], std: [Float], batchSize: Int = 256) -> Evaluation {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var loss = 0.0, top1 = 0, top5 = 0
        var perClass = [(correct: Int, total: Int)](repeating: (0, 0), count: dataset.classCount)
        for batch in DataLoader(dataset, batchSize: batchSize, seed: nil, mean: mean, std: std) {
            GradMode.withoutGrad {
                let logits = model(Variable(batch.images))
                loss += Double(crossEntropy(logits, targets: batch.labels).value.scalar) * Double(batch.labels.count)
                top1 += correct(logits.value, batch.labels, k: 1)
                top5 += correct(logits.value, batch.labels, k: 5)
                let classes = logits.shape[1]
                for (row, label) in batch.labels.enumerated() {
                    let scores = logits.value.scalars[row * classes ..< (row + 1) * classes]
                    let predicted = scores.indices.max { scores[$0] < scores[$1] }! - row * classes
                    perClass[label].total += 1
                    if predicted == label { perClass[label].correct += 1 }
                }
            }
        }
        let n = Double(max(dataset.count, 1))
        return Evaluation(top1: Double(top1) / n, top5: Double(top5) / n, loss: loss / n, count: dataset.count,
                          perClass: perClass.enumerated().map { (dataset.classNames[$0.offset], $0.element.correct, $0.element.total) })
    }

    /// How many rows have their label among the k highest logits.
    static func correct(_ logits: Tensor, _ labels: [Int], k: Int) -> Int {
        let classes = logits.shape[1]
        var hits = 0
        for (row, label) in labels.enumerated() {
            let target = logits.scalars[row * classes + label]
            var higher = 0
            for c in 0..<classes where logits.scalars[row * classes + c] > target { higher += 1 }
            if higher < k { hits += 1 }
        }
        return hits
    }
}

// MARK: - Checkpoints

/// A training checkpoint: weights, optimizer state, the epochs done and the RNG state, in one
/// safetensors file written atomically.
public enum Checkpoint {
    static let optimizerPrefix = "optimizer."

    public static func save(_ trainer: Trainer, epochsDone: Int, to path: String, metadata: [String: String]) throws {
        var tensors = trainer.model.stateEntries()
        let integer = Set(tensors.filter(\.isInteger).map(\.key))
        tensors += trainer.optimizer.stateTensors().map { (optimizerPrefix + $0.name, $0.tensor, false) }
        var header = metadata
        header["epochs_done"] = String(epochsDone)
        header["rng_state"] = GlobalRandom.generator.stateWords.map(String.init).joined(separator: ",")
        header["format"] = "pt"
        try SafeTensors(tensors: tensors.map { ($0.key, $0.tensor) }, metadata: header).write(to: path, integerNames: integer)
    }

    /// Restores the trainer's model and optimizer; returns the epochs already done.
    public static func restore(_ trainer: Trainer, from path: String) throws -> Int {
        try restore(trainer, file: try SafeTensors.read(path), name: path)
    }

    /// Restores from a checkpoint already read; `path` names it in errors.
    public static func restore(_ trainer: Trainer, file: SafeTensors, name path: String) throws -> Int {
        guard let done = file.metadata["epochs_done"].flatMap(Int.init) else {
            throw WeightFileError("'\(path)' is not a ConvZoo training checkpoint (it has no epochs_done)")
        }
        let weights = SafeTensors(tensors: file.tensors.filter { !$0.name.hasPrefix(optimizerPrefix) }, metadata: file.metadata)
        try WeightFile.load(weights, from: path, into: trainer.model, architecture: file.metadata["architecture"] ?? "the model",
                            classifierPaths: [], replaceClassifier: false)
        var state: [String: Tensor] = [:]
        for (name, tensor) in file.tensors where name.hasPrefix(optimizerPrefix) { state[String(name.dropFirst(optimizerPrefix.count))] = tensor }
        do { try trainer.optimizer.loadState(state) } catch { throw WeightFileError("'\(path)': \(error)") }
        if let text = file.metadata["rng_state"] {
            let words = text.split(separator: ",", omittingEmptySubsequences: false).compactMap { UInt64($0) }
            guard words.count == 4, words.contains(where: { $0 != 0 }) else {
                throw WeightFileError("'\(path)' has a damaged rng_state (four comma-separated integers, not all zero, expected)")
            }
            GlobalRandom.generator = Xoshiro256(state: words)
        }
        return done
    }
}
