import ZooData
import ZooNN
import ZooTensor

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

    /// Throws the first setting that cannot train, as one sentence.
    public func validate() throws {
        func check(_ ok: Bool, _ sentence: @autoclosure () -> String) throws { if !ok { throw ZooError(sentence()) } }
        try check(epochs >= 1, "the recipe's epochs must be at least 1, got \(epochs)")
        try check(batchSize >= 1, "the recipe's batch size must be at least 1, got \(batchSize)")
        try check(learningRate > 0, "the recipe's learning rate must be positive, got \(learningRate)")
        try check(momentum >= 0 && momentum < 1, "the recipe's momentum must be in [0, 1), got \(momentum)")
        try check(weightDecay >= 0, "the recipe's weight decay must not be negative, got \(weightDecay)")
        try check(warmupEpochs >= 0 && warmupEpochs < epochs, "the recipe's warm-up must be between 0 and the epochs − 1, got \(warmupEpochs)")
        try check(labelSmoothing >= 0 && labelSmoothing < 1, "the recipe's label smoothing must be in [0, 1), got \(labelSmoothing)")
        try check(augmentation.cropPadding >= 0, "the recipe's crop padding must not be negative, got \(augmentation.cropPadding)")
    }

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
