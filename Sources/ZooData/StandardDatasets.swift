import Foundation
import ZooTensor

extension ImageDataset {
    public static let fashionMNISTClasses = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    public static let cifar10Classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    /// Where Debian's dataset-fashion-mnist puts its files.
    public static let debianFashionMNIST = "/usr/share/datasets/fashion-mnist"

    /// MNIST-format images and labels (`train-images-idx3-ubyte[.gz]`, …) in `folder`.
    public static func idx(folder: String, train: Bool, name: String, classNames: [String]) throws -> ImageDataset {
        let prefix = train ? "train" : "t10k"
        func find(_ stem: String) throws -> String {
            for candidate in [stem, stem + ".gz"] where FileManager.default.fileExists(atPath: folder + "/" + candidate) {
                return folder + "/" + candidate
            }
            throw ZooError("'\(folder)' has no \(stem) (or \(stem).gz) file")
        }
        let imagesPath = try find("\(prefix)-images-idx3-ubyte"), labelsPath = try find("\(prefix)-labels-idx1-ubyte")
        return try DataFile.idxDataset(images: try DataFile.read(imagesPath), labels: try DataFile.read(labelsPath),
                                       imagesName: imagesPath, labelsName: labelsPath, name: name, classNames: classNames)
    }

    /// CIFAR-10's binary batches in `folder` (data_batch_1…5.bin for training, test_batch.bin):
    /// records of one label byte and 3×32×32 pixel bytes.
    public static func cifar10(folder: String, train: Bool) throws -> ImageDataset {
        let names = train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
        var pixels: [UInt8] = [], labels: [Int] = []
        for name in names {
            let candidates = [folder + "/" + name, folder + "/cifar-10-batches-bin/" + name]
            guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
                throw ZooError("'\(folder)' has no CIFAR-10 batch \(name)")
            }
            let batch = try DataFile.cifar10Batch(try DataFile.read(path), name: path)
            pixels += batch.pixels
            labels += batch.labels
        }
        return ImageDataset(name: "CIFAR-10 \(train ? "train" : "test")", shape: [3, 32, 32], pixels: pixels, labels: labels, classNames: cifar10Classes)
    }

}
