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

    /// Throws the first setting that cannot train, as one sentence naming the setting (the one
    /// place these rules are written: the command line passes its options through here).
    public func validate() throws {
        func check(_ ok: Bool, _ template: @autoclosure () -> String) throws { if !ok { throw ZooError(template: template()) } }
        try check(epochs >= 1, "{epochs} must be at least 1, got \(epochs)")
        try check(batchSize >= 1, "{batchSize} must be at least 1, got \(batchSize)")
        try check(learningRate > 0, "{learningRate} must be positive, got \(learningRate)")
        try check(momentum >= 0 && momentum < 1, "{momentum} must be in [0, 1), got \(momentum)")
        try check(weightDecay >= 0, "{weightDecay} must not be negative, got \(weightDecay)")
        try check(warmupEpochs >= 0 && warmupEpochs < epochs, "{warmupEpochs} must be between 0 and the epochs − 1, got \(warmupEpochs)")
        try check(labelSmoothing >= 0 && labelSmoothing < 1, "{labelSmoothing} must be in [0, 1), got \(labelSmoothing)")
        try check(augmentation.cropPadding >= 0, "{cropPadding} must not be negative, got \(augmentation.cropPadding)")
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
