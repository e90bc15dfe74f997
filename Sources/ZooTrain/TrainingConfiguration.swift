import ZooData
import ZooNN

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
