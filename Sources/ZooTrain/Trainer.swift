import Foundation
import ZooData
import ZooNN
import ZooTensor

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

    /// The loss of one batch; a model with auxiliary classifiers adds theirs, weighted, in training.
    func loss(_ batch: Batch) -> (loss: Variable, logits: Tensor) {
        let input = Variable(batch.images)
        if let network = model as? AuxiliaryClassifiers, model.isTraining {
            let (logits, auxiliary) = network.forwardWithAuxiliary(input)
            var loss = crossEntropy(logits, targets: batch.labels, labelSmoothing: configuration.labelSmoothing)
            for aux in auxiliary { loss = loss + scale(crossEntropy(aux, targets: batch.labels), by: network.auxiliaryLossWeight) }
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

    /// With `usesPlans` the batches run through compiled inference plans (see `PlannedInference`).
    public static func evaluate(_ model: Module, _ dataset: ImageDataset, mean: [Float], std: [Float], batchSize: Int = 256,
                                usesPlans: Bool = true) -> Evaluation {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let inference = PlannedInference(model, usesPlans: usesPlans)
        var loss = 0.0, top1 = 0, top5 = 0
        var perClass = [(correct: Int, total: Int)](repeating: (0, 0), count: dataset.classCount)
        for batch in DataLoader(dataset, batchSize: batchSize, seed: nil, mean: mean, std: std) {
            GradMode.withoutGrad {
                let logits = Variable(inference(batch.images))
                loss += Double(crossEntropy(logits, targets: batch.labels).value.scalar) * Double(batch.labels.count)
                top1 += correct(logits.value, batch.labels, k: 1)
                top5 += correct(logits.value, batch.labels, k: 5)
                for (label, predicted) in zip(batch.labels, logits.value.topK(1)) {
                    perClass[label].total += 1
                    if predicted.first == label { perClass[label].correct += 1 }
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
