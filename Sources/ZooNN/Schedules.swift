import Foundation

/// A learning rate as a function of the epoch (or step) index, starting at 0.
public protocol LearningRateSchedule {
    func learningRate(at epoch: Int) -> Float
}

/// η·γ^⌊epoch / stepSize⌋ (PyTorch's StepLR).
public struct StepSchedule: LearningRateSchedule {
    public var base: Float, stepSize: Int, gamma: Float
    public init(base: Float, stepSize: Int, gamma: Float = 0.1) { (self.base, self.stepSize, self.gamma) = (base, max(1, stepSize), gamma) }
    public func learningRate(at epoch: Int) -> Float { base * powf(gamma, Float(epoch / stepSize)) }
}

/// η·γ^(milestones passed) (PyTorch's MultiStepLR).
public struct MultiStepSchedule: LearningRateSchedule {
    public var base: Float, milestones: [Int], gamma: Float
    public init(base: Float, milestones: [Int], gamma: Float = 0.1) { (self.base, self.milestones, self.gamma) = (base, milestones, gamma) }
    public func learningRate(at epoch: Int) -> Float {
        base * powf(gamma, Float(milestones.filter { $0 <= epoch }.count))
    }
}

/// η_min + (η − η_min)·(1 + cos(π·epoch / T))/2 (PyTorch's CosineAnnealingLR, closed form).
public struct CosineSchedule: LearningRateSchedule {
    public var base: Float, period: Int, minimum: Float
    public init(base: Float, period: Int, minimum: Float = 0) { (self.base, self.period, self.minimum) = (base, max(1, period), minimum) }
    public func learningRate(at epoch: Int) -> Float {
        minimum + (base - minimum) * (1 + Float(cos(Double.pi * Double(min(epoch, period)) / Double(period)))) / 2
    }
}

/// η·(s + (e − s)·min(epoch, n)/n) (PyTorch's LinearLR): a linear warm-up over n epochs.
public struct LinearWarmupSchedule: LearningRateSchedule {
    public var base: Float, startFactor: Float, endFactor: Float, epochs: Int
    public init(base: Float, startFactor: Float = 1.0 / 3, endFactor: Float = 1, epochs: Int = 5) {
        (self.base, self.startFactor, self.endFactor, self.epochs) = (base, startFactor, endFactor, max(1, epochs))
    }
    public func learningRate(at epoch: Int) -> Float {
        base * (startFactor + (endFactor - startFactor) * Float(min(epoch, epochs)) / Float(epochs))
    }
}

/// A warm-up for its first epochs, then another schedule counted from the warm-up's end
/// (PyTorch's SequentialLR of the two).
public struct WarmupThen: LearningRateSchedule {
    public var warmup: any LearningRateSchedule, warmupEpochs: Int, main: any LearningRateSchedule
    public init(warmup: any LearningRateSchedule, epochs: Int, then main: any LearningRateSchedule) {
        (self.warmup, self.warmupEpochs, self.main) = (warmup, epochs, main)
    }
    public func learningRate(at epoch: Int) -> Float {
        epoch < warmupEpochs ? warmup.learningRate(at: epoch) : main.learningRate(at: epoch - warmupEpochs)
    }
}
