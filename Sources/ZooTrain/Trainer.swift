import Foundation
import ZooData
import ZooInference
import ZooNN
@_spi(Engine) import ZooTensor

/// Trains a model with a recipe, evaluating after every epoch; with a `group`, data-parallel
/// over its processes (as PyTorch's DistributedDataParallel): process 0's parameters and
/// buffers are broadcast at the start of each epoch and its buffers before each step, each
/// global batch is split across the processes, and the gradients are summed in buckets while
/// the backward pass goes on, so that every process takes the same optimizer step.
public final class Trainer {
    public let model: Module
    public let configuration: TrainingConfiguration
    public let train: ImageDataset
    public let test: ImageDataset
    public let mean: [Float], std: [Float]
    public private(set) var optimizer: Optimizer
    public var evaluationBatchSize = 256
    /// The data-parallel processes, or nil for one.
    public var group: TrainingGroup? { parallel?.group }
    let parallel: DataParallelContext?
    private var buckets: GradientBuckets?
    /// Seconds of the last epoch's steps the training thread spent waiting for the gradient sums.
    public private(set) var communicationSeconds = 0.0

    public init(model: Module, configuration: TrainingConfiguration, train: ImageDataset, test: ImageDataset,
                mean: [Float], std: [Float], group: TrainingGroup? = nil, dataParallel: DataParallelOptions = DataParallelOptions()) {
        self.model = model
        self.configuration = configuration
        (self.train, self.test, self.mean, self.std) = (train, test, mean, std)
        optimizer = Trainer.makeOptimizer(model, configuration)
        parallel = group.flatMap { $0.size > 1 ? DataParallelContext(group: $0, options: dataParallel) : nil }
    }

    /// The shard of each batch this process takes.
    var shard: (index: Int, count: Int) { (group?.rank ?? 0, parallel == nil ? 1 : group!.size) }

    /// Throws unless every process gets at least one image of every step.
    func checkShares(_ batchSize: Int, _ count: Int) throws {
        let processes = shard.count
        let last = count % batchSize
        guard processes == 1 || (batchSize >= processes && (last == 0 || last >= processes)) else {
            throw ZooError("with \(processes) processes every step needs at least \(processes) images, but the batch is \(batchSize) and the last batch of \(count) images has \(last == 0 ? batchSize : last)")
        }
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
    public func resetOptimizer() {
        optimizer = Trainer.makeOptimizer(model, configuration)
        buckets = nil
    }

    /// The loss of one batch; a model with auxiliary classifiers adds theirs, weighted, in training.
    func loss(_ batch: Batch) throws -> (loss: Variable, logits: Tensor) {
        let input = Variable(batch.images)
        if let network = model as? AuxiliaryClassifiers, model.isTraining {
            let (logits, auxiliary) = try network.forwardWithAuxiliary(input)
            var loss = crossEntropy(logits, targets: batch.labels, labelSmoothing: configuration.labelSmoothing)
            for aux in auxiliary { loss = loss + scale(crossEntropy(aux, targets: batch.labels), by: network.auxiliaryLossWeight) }
            return (loss, logits.value)
        }
        let logits = try model(input)
        return (crossEntropy(logits, targets: batch.labels, labelSmoothing: configuration.labelSmoothing), logits.value)
    }

    /// Trains epoch `epoch` (0-based) and evaluates. Throws when a data-parallel collective fails
    /// or a step would leave a process without images.
    public func runEpoch(_ epoch: Int, progress: ((TrainingProgress) -> Void)? = nil) throws -> EpochRecord {
        let start = Date()
        let rate = configuration.learningRate(at: epoch)
        optimizer.learningRate = rate
        model.train()
        try checkShares(configuration.batchSize, train.count)
        if let parallel {
            try parallel.broadcastState(model)
        }
        communicationSeconds = 0
        let loader = DataLoader(train, batchSize: configuration.batchSize, seed: configuration.seed &+ UInt64(epoch) &* 7919,
                                augmentation: configuration.augmentation, mean: mean, std: std, shard: shard)
        // Loss sum, correct and images, over this process's share (summed over all at the end).
        var totals = [0.0, 0, 0], globalSeen = 0
        for (index, batch) in loader.enumerated() {
            let (loss, logits) = try step(batch)
            communicationSeconds += lastStepCommunication.wait
            totals[0] += Double(loss) * Double(batch.labels.count)
            totals[1] += Double(Trainer.correct(logits, batch.labels, k: 1))
            totals[2] += Double(batch.labels.count)
            globalSeen += batch.globalCount
            if let progress, shard.index == 0 {
                let elapsed = Date().timeIntervalSince(start)
                let rate = Double(globalSeen) / max(elapsed, 1e-9)
                progress(TrainingProgress(epoch: epoch, epochs: configuration.epochs, batch: index + 1, batches: loader.batchCount,
                                          loss: totals[0] / totals[2], accuracy: totals[1] / totals[2],
                                          imagesPerSecond: rate, secondsLeft: Double(train.count - globalSeen) / rate))
            }
        }
        if let parallel { try parallel.now { try parallel.group.allReduceSum(&totals) } }
        let validation = try evaluate(test)
        let seen = max(totals[2], 1)
        return EpochRecord(epoch: epoch + 1, trainLoss: totals[0] / seen, trainAccuracy: totals[1] / seen,
                           validation: validation, learningRate: rate, seconds: Date().timeIntervalSince(start))
    }

    /// One optimizer step on `batch` (this process's share of a global batch, in training
    /// mode): forward, backward with the gradients summed over the processes as they
    /// complete, update. Returns this share's mean loss and logits.
    public func step(_ batch: Batch) throws -> (loss: Float, logits: Tensor) {
        optimizer.zeroGrad()
        if let parallel {
            if buckets == nil { buckets = GradientBuckets(model.namedParameters().map(\.variable).filter(\.requiresGrad), context: parallel) }
            parallel.resetTimes()
            try parallel.broadcastBuffers(model)
        }
        // In data-parallel training the forward pass knows its share of the global batch, and
        // synchronised batch norm sums its statistics over the processes.
        let globalShare = parallel.map { _ in (first: batch.globalOffset, global: batch.globalCount) }
        let sum = parallel.flatMap { parallel in parallel.options.synchronizeBatchNorm ? { parallel.crossReplicaSum(&$0) } : nil }
        let (loss, logits) = try BatchShare.with(globalShare) { try ForwardContext.synchronisingBatchNorm(sum) { try self.loss(batch) } }
        // The step's loss is the mean over the global batch: this process's share of it.
        let share = Float(batch.labels.count) / Float(batch.globalCount)
        buckets?.reset()
        loss.backward(Tensor(share), leafReady: buckets.map { buckets in { buckets.ready($0) } })
        try buckets?.finish()
        lastStepCommunication = (parallel?.collectiveSeconds ?? 0, parallel?.waitSeconds ?? 0)
        optimizer.step()
        return (loss.value.scalar, logits)
    }

    /// The last step's seconds in collectives (broadcast of buffers, gradient sums, batch-norm
    /// sums) on the communication thread, and of those, the seconds the training thread waited
    /// for them: the rest overlapped the backward pass.
    public private(set) var lastStepCommunication = (collectives: 0.0, wait: 0.0)

    /// Top-1/top-5 accuracy, mean loss and per-class accuracy in eval mode; data-parallel, each
    /// process evaluates its share of every batch with process 0's buffers.
    public func evaluate(_ dataset: ImageDataset) throws -> Evaluation {
        guard let parallel else { return Trainer.evaluate(model, dataset, mean: mean, std: std, batchSize: evaluationBatchSize) }
        try parallel.broadcastBuffers(model)
        return try Trainer.evaluate(model, dataset, mean: mean, std: std, batchSize: evaluationBatchSize, shard: shard) { counts in
            try parallel.now { try parallel.group.allReduceSum(&counts) }
        }
    }

    /// With `usesPlans` the batches run through compiled inference plans (see `PlannedInference`).
    public static func evaluate(_ model: Module, _ dataset: ImageDataset, mean: [Float], std: [Float], batchSize: Int = 256,
                                usesPlans: Bool = true) -> Evaluation {
        // One process: nothing to combine, nothing thrown.
        try! evaluate(model, dataset, mean: mean, std: std, batchSize: batchSize, usesPlans: usesPlans, shard: (0, 1)) { _ in }
    }

    /// Evaluation of one shard of every batch; `combine` sums the counts over the shards in place.
    static func evaluate(_ model: Module, _ dataset: ImageDataset, mean: [Float], std: [Float], batchSize: Int, usesPlans: Bool = true,
                         shard: (index: Int, count: Int), combine: (inout [Double]) throws -> Void) throws -> Evaluation {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let inference = PlannedInference(model, usesPlans: usesPlans)
        // Loss sum, top-1, top-5, then each class's correct and total.
        var counts = [Double](repeating: 0, count: 3 + 2 * dataset.classCount)
        for batch in DataLoader(dataset, batchSize: batchSize, seed: nil, mean: mean, std: std, shard: shard) where !batch.labels.isEmpty {
            try GradMode.withoutGrad {
                let logits = try Variable(inference(batch.images))
                counts[0] += Double(crossEntropy(logits, targets: batch.labels).value.scalar) * Double(batch.labels.count)
                counts[1] += Double(correct(logits.value, batch.labels, k: 1))
                counts[2] += Double(correct(logits.value, batch.labels, k: 5))
                for (label, predicted) in zip(batch.labels, logits.value.topK(1)) {
                    counts[3 + 2 * label + 1] += 1
                    if predicted.first == label { counts[3 + 2 * label] += 1 }
                }
            }
        }
        try combine(&counts)
        let n = Double(max(dataset.count, 1))
        return Evaluation(top1: counts[1] / n, top5: counts[2] / n, loss: counts[0] / n, count: dataset.count,
                          perClass: (0..<dataset.classCount).map { (dataset.classNames[$0], Int(counts[3 + 2 * $0]), Int(counts[4 + 2 * $0])) })
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
