import Foundation
import XCTest
import ZooTestSupport
import ZooTensor
import ZooData

final class DataTests: XCTestCase {
    func tinyDataset(count: Int = 10) -> ImageDataset {
        let pixels = (0..<(count * 2 * 6 * 6)).map { UInt8($0 % 251) }
        return ImageDataset(name: "tiny", shape: [2, 6, 6], pixels: pixels, labels: (0..<count).map { $0 % 3 }, classNames: ["a", "b", "c"])
    }

    func testLoaderBatchesAreNormalisedAndRepeatBySeed() {
        let data = tinyDataset()
        let plain = Array(DataLoader(data, batchSize: 4, seed: nil, mean: [0.5, 0.25], std: [0.5, 0.5]))
        XCTAssertEqual(plain.map(\.labels.count), [4, 4, 2])
        XCTAssertEqual(plain[0].images.shape, [4, 2, 6, 6])
        // Image 0, channel 1, pixel 0 is byte 36: (36/255 − 0.25)/0.5.
        XCTAssertEqual(plain[0].images.scalars[36], (36 / 255 - 0.25) / 0.5, accuracy: 1e-6)
        let augmentation = Augmentation(cropPadding: 2, horizontalFlip: true, randomResizedCrop: true)
        let a = Array(DataLoader(data, batchSize: 3, seed: 9, augmentation: augmentation, mean: [0, 0], std: [1, 1]))
        let b = Array(DataLoader(data, batchSize: 3, seed: 9, augmentation: augmentation, mean: [0, 0], std: [1, 1]))
        let c = Array(DataLoader(data, batchSize: 3, seed: 10, augmentation: augmentation, mean: [0, 0], std: [1, 1]))
        XCTAssertEqual(a.map(\.images), b.map(\.images), "the same seed gives the same batches")
        XCTAssertEqual(a.map(\.labels), b.map(\.labels))
        XCTAssertNotEqual(a.map(\.images), c.map(\.images))
        XCTAssertEqual(Set(a.flatMap(\.labels)).count, 3)
        XCTAssertEqual(a.flatMap(\.labels).count, 10, "every image once per epoch")
        XCTAssertTrue(a.allSatisfy { $0.images.scalars.allSatisfy { $0 >= 0 && $0 <= 1 } })
    }

    func testSplitsAndStatistics() {
        let data = tinyDataset(count: 20)
        let (train, validation) = data.split(validationFraction: 0.25, seed: 1)
        XCTAssertEqual([train.count, validation.count], [15, 5])
        XCTAssertEqual(data.randomSubset(7, seed: 2).count, 7)
        let (mean, std) = ImageDataset(name: "flat", shape: [1, 2, 2], pixels: [0, 255, 0, 255], labels: [0], classNames: ["x"]).channelStatistics()
        XCTAssertEqual(mean[0], 0.5, accuracy: 1e-6)
        XCTAssertEqual(std[0], 0.5, accuracy: 1e-6)
    }

    func testBrokenDatasetFilesAreNamed() throws {
        let folder = try makeTemporaryFolder("zoo-data")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Images claim 3 of 2×2, labels hold 2: and a truncated header.
        try Data([0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2] + [UInt8](repeating: 1, count: 12)).write(to: folder.appendingPathComponent("train-images-idx3-ubyte"))
        try Data([0, 0, 8, 1, 0, 0, 0, 2, 0, 1]).write(to: folder.appendingPathComponent("train-labels-idx1-ubyte"))
        XCTAssertThrowsError(try ImageDataset.idx(folder: folder.path, train: true, name: "x", classNames: ["a", "b"])) { error in
            XCTAssertTrue("\(error)".contains("train-images-idx3-ubyte' holds 3 images but"), "\(error)")
            XCTAssertTrue("\(error)".contains("train-labels-idx1-ubyte' 2 labels"), "\(error)")
        }
        try Data([0, 0, 8, 3, 0, 0]).write(to: folder.appendingPathComponent("train-images-idx3-ubyte"))
        XCTAssertThrowsError(try ImageDataset.idx(folder: folder.path, train: true, name: "x", classNames: ["a", "b"])) { error in
            XCTAssertTrue("\(error)".contains("train-images-idx3-ubyte' is not an IDX file of bytes: its header is truncated"), "\(error)")
        }
        try Data(repeating: 0, count: 100).write(to: folder.appendingPathComponent("test_batch.bin"))
        XCTAssertThrowsError(try ImageDataset.cifar10(folder: folder.path, train: false)) { error in
            XCTAssertTrue("\(error)".contains("is not a CIFAR-10 batch"), "\(error)")
        }
        XCTAssertThrowsError(try DataSpec("cifar10"))
        XCTAssertEqual(try DataSpec("fashion-mnist"), .fashionMNIST("/usr/share/datasets/fashion-mnist"))
    }

    func testFashionMNISTFromDebianLoads() throws {
        let test = try ImageDataset.idx(folder: ImageDataset.debianFashionMNIST, train: false, name: "test", classNames: ImageDataset.fashionMNISTClasses)
        XCTAssertEqual(test.count, 10_000)
        XCTAssertEqual(test.shape, [1, 28, 28])
        XCTAssertEqual(test.labels.prefix(3), [9, 2, 1])
    }
}
