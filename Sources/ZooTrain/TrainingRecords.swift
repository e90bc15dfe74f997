import Foundation

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

