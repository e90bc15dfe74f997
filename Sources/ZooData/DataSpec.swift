import Foundation
import ZooTensor

/// A `--data` argument: `fashion-mnist`, `fashion-mnist:DIR`, `mnist:DIR`, `cifar10:DIR`, or `DIR` (an image folder).
public enum DataSpec: Equatable {
    case fashionMNIST(String)
    case mnist(String)
    case cifar10(String)
    case imageFolder(String)

    public init(_ text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        switch (parts.first ?? "", parts.count) {
        case ("fashion-mnist", 1): self = .fashionMNIST(ImageDataset.debianFashionMNIST)
        case ("fashion-mnist", 2): self = .fashionMNIST(parts[1])
        case ("mnist", 2): self = .mnist(parts[1])
        case ("cifar10", 2): self = .cifar10(parts[1])
        case ("mnist", 1), ("cifar10", 1): throw ZooError(template: "{data} \(ZooError.literal(text)) needs a folder: \(ZooError.literal(text)):DIR")
        default: self = .imageFolder(text)
        }
    }

    /// The training and evaluation sets. Image folders are split by `validationFraction`
    /// (their evaluation set is the validation part); the others use their test split.
    public func load(channels: Int, size: (Int, Int), validationFraction: Double, seed: UInt64)
        throws -> (train: ImageDataset, test: ImageDataset, warnings: [String]) {
        switch self {
        case .fashionMNIST(let folder):
            return (try .idx(folder: folder, train: true, name: "Fashion-MNIST train", classNames: ImageDataset.fashionMNISTClasses),
                    try .idx(folder: folder, train: false, name: "Fashion-MNIST test", classNames: ImageDataset.fashionMNISTClasses), [])
        case .mnist(let folder):
            let digits = (0...9).map(String.init)
            return (try .idx(folder: folder, train: true, name: "MNIST train", classNames: digits),
                    try .idx(folder: folder, train: false, name: "MNIST test", classNames: digits), [])
        case .cifar10(let folder):
            return (try .cifar10(folder: folder, train: true), try .cifar10(folder: folder, train: false), [])
        case .imageFolder(let folder):
            let (all, warnings) = try ImageDataset.imageFolder(folder, channels: channels, size: size)
            let parts = all.split(validationFraction: max(validationFraction, 0.1), seed: seed)
            return (parts.train, parts.validation, warnings)
        }
    }
}
