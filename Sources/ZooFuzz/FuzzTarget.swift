import Foundation
import ZooData
import ZooImage
import ZooNN
import ZooTensor
import ZooTrain
import ZooWeights

/// Every parser of a user's file, as a function from bytes to an outcome: accepted, or
/// rejected with one sentence. The fuzzers (`zoo-fuzz`, built by Tools/fuzz) feed these
/// mutated inputs; the regression tests replay the inputs that once broke them. A crash, a
/// hang or a leak anywhere below is a bug.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case png, jpeg, safetensors, pth, idx, cifar, checkpoint

    public enum Outcome: Equatable, Sendable {
        case accepted
        case rejected(String)
    }

    /// Smaller than the CLI's defaults so that one input cannot take the fuzzer's memory.
    public static let maximumPixels = 1 << 22
    public static let maximumInflatedBytes = 1 << 24

    /// The folder of Tests/Fixtures this target's seed corpus comes from (Tools/make_fuzz_seeds.py
    /// writes the fuzz-seeds ones).
    public var seedFolder: String {
        switch self {
        case .png: return "images/png"
        case .jpeg: return "images/jpeg"
        default: return "fuzz-seeds/\(rawValue)"
        }
    }

    public func run(_ data: Data, name: String = "input") -> Outcome {
        do {
            try body(data, name: name)
            return .accepted
        } catch {
            return .rejected("\(error)")
        }
    }

    private func body(_ data: Data, name: String) throws {
        switch self {
        case .png, .jpeg:
            let decoded = try DecodedImage.decode(data, name: name, maximumPixels: Self.maximumPixels)
            // The conversions and the resampler every decoded image goes through.
            _ = decoded.rgb().resized(width: 5, height: 3)
            _ = decoded.gray().resized(shorterSide: 4).centerCropped(width: 2, height: 2)
        case .safetensors:
            let file = try SafeTensors.decode(data, name: name)
            if let text = file.metadata["preprocessing"] { _ = Preprocessing(json: text) }
            try WeightFile.load(file, from: name, into: Self.model(), architecture: "tiny", rules: .init(classifierPaths: ["fc"]), replaceClassifier: true)
        case .pth:
            let tensors = try TorchCheckpoint.decode(data, name: name)
            try WeightFile.load(SafeTensors(tensors: tensors), from: name, into: Self.model(), architecture: "tiny",
                                rules: .init(classifierPaths: ["fc"]), replaceClassifier: true)
        case .idx:
            let bytes = try DataFile.inflated(data, name: name, maximumBytes: Self.maximumInflatedBytes)
            let parsed = try DataFile.idx(bytes, name: name)
            if parsed.dimensions.count == 3 {
                // The same file as images, with a label file of as many zeros (no more than
                // there are bytes: N images of 0×W pixels claim any N, and are refused).
                let n = min(parsed.dimensions[0], parsed.values.count)
                let labels = Data([0, 0, 8, 1, UInt8(n >> 24 & 255), UInt8(n >> 16 & 255), UInt8(n >> 8 & 255), UInt8(n & 255)])
                    + Data(count: n)
                let set = try DataFile.idxDataset(images: bytes, labels: labels, imagesName: name, labelsName: "labels", name: name,
                                                  classNames: ImageDataset.fashionMNISTClasses)
                _ = set.randomSubset(3, seed: 1).channelStatistics()
            }
        case .cifar:
            let bytes = try DataFile.inflated(data, name: name, maximumBytes: Self.maximumInflatedBytes)
            _ = try DataFile.cifar10Batch(bytes, name: name)
        case .checkpoint:
            let file = try SafeTensors.decode(data, name: name)
            _ = try Checkpoint.restore(data.count % 2 == 0 ? Self.sgdTrainer : Self.adamTrainer, file: file, name: name)
        }
    }

    /// The model weight files are loaded into: conv (1→2, 3×3), bn (2), fc (8→3), the keys
    /// of the seeds Tools/make_fuzz_seeds.py writes. Small, so that mutations hit the headers.
    static func model() -> Module {
        GlobalRandom.seed(0)
        return Sequential(named: [("conv", Conv2d(1, 2, kernel: 3)), ("bn", BatchNorm(2)), ("flatten", Flatten()), ("fc", Linear(8, 3))])
    }

    static let sgdTrainer = trainer(.sgd)
    static let adamTrainer = trainer(.adam)

    static func trainer(_ optimizer: OptimizerKind) -> Trainer {
        var configuration = TrainingConfiguration()
        configuration.optimizer = optimizer
        configuration.momentum = 0.9
        let one = ImageDataset(name: "one image", shape: [1, 4, 4], pixels: [UInt8](repeating: 0, count: 16), labels: [0],
                               classNames: ["a", "b", "c"])
        return Trainer(model: model(), configuration: configuration, train: one, test: one, mean: [0.5], std: [0.5])
    }
}
