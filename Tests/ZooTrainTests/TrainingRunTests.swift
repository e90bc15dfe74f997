import Foundation
import XCTest
import ZooData
import ZooNN
import ZooTensor
import ZooTestSupport
@_spi(Testing) import ZooTrain

/// The training loop, its checkpoints and the linear probe, called as the library offers them.
final class TrainingRunTests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws { folder = try makeTemporaryFolder("zoo-trainrun") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }
    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// 96 gray 8×8 images of two kinds (bright left half or bright right half), with noise.
    static func halves(count: Int, seed: UInt64) -> ImageDataset {
        var rng = Xoshiro256(seed: seed)
        var pixels: [UInt8] = [], labels: [Int] = []
        for index in 0..<count {
            let label = index % 2
            labels.append(label)
            for _ in 0..<8 {
                for x in 0..<8 {
                    let bright = (x < 4) == (label == 0)
                    pixels.append(UInt8(clamping: (bright ? 170 : 60) + Int(rng.next() % 40)))
                }
            }
        }
        return ImageDataset(name: "halves", shape: [1, 8, 8], pixels: pixels, labels: labels, classNames: ["left", "right"])
    }

    /// The recipe with `seed` (the batch order), on a model initialised from `initialisation`.
    func trainer(seed: UInt64, initialisation: UInt64? = nil, epochs: Int = 3) -> Trainer {
        GlobalRandom.seed(initialisation ?? seed)
        let model = Sequential([Conv2d(1, 4, kernel: 3, padding: 1), BatchNorm(4), ReLU(), MaxPool2d(2), Flatten(), Linear(64, 2)])
        var configuration = TrainingConfiguration()
        (configuration.epochs, configuration.batchSize, configuration.learningRate, configuration.seed) = (epochs, 16, 0.05, seed)
        let train = Self.halves(count: 96, seed: 1), test = Self.halves(count: 32, seed: 2)
        let (mean, std) = train.channelStatistics()
        return Trainer(model: model, configuration: configuration, train: train, test: test, mean: mean, std: std)
    }

    func parameters(_ trainer: Trainer) -> [[Float]] { trainer.model.namedParameters().map(\.variable.value.scalars) }

    /// A run stopped after its first epoch and resumed from the checkpoint by a new trainer ends
    /// with the very parameters of a run that never stopped; and it learns the task.
    func testAResumedRunEqualsAnUninterruptedOne() throws {
        let whole = TrainingRun(trainer(seed: 5), checkpoint: path("whole.ckpt"), weights: path("whole.safetensors"))
        let (last, finished) = try whole.run()
        XCTAssertTrue(finished)
        XCTAssertGreaterThan(try XCTUnwrap(last).validation.top1, 0.9, "two halves of an image are easy to tell apart")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("whole.ckpt")), "the checkpoint goes once the weights are written")

        let first = TrainingRun(trainer(seed: 5), checkpoint: path("split.ckpt"), weights: path("split.safetensors"))
        first.stopAfterEpoch = 1
        XCTAssertFalse(try first.run().finished)
        // Other initial weights: the checkpoint's replace them.
        let resumed = TrainingRun(trainer(seed: 5, initialisation: 99), checkpoint: path("split.ckpt"), weights: path("split.safetensors"))
        XCTAssertEqual(try resumed.restore(), 1)
        XCTAssertTrue(try resumed.run().finished)
        XCTAssertEqual(parameters(resumed.trainer), parameters(whole.trainer), "resumed bit for bit")

        // Negative control: another seed trains to other parameters.
        let other = TrainingRun(trainer(seed: 6), checkpoint: path("other.ckpt"))
        try other.run()
        XCTAssertNotEqual(parameters(other.trainer), parameters(whole.trainer))
    }

    /// A recipe that cannot train says which setting, by its name in the library.
    func testARecipeNamesTheSettingThatCannotTrain() {
        var recipe = TrainingConfiguration()
        XCTAssertNoThrow(try recipe.validate())
        recipe.warmupEpochs = recipe.epochs
        XCTAssertThrowsError(try recipe.validate()) {
            XCTAssertEqual("\($0)", "`warmupEpochs` must be between 0 and the epochs − 1, got \(recipe.epochs)")
        }
        XCTAssertEqual(try Augmentation(parsing: "crop+flip", side: 28), Augmentation(cropPadding: 2, horizontalFlip: true))
        XCTAssertEqual(try Augmentation(parsing: "crop", side: 32).cropPadding, 4)
        XCTAssertEqual(Augmentation.standard(side: 500, imageFolder: true), Augmentation(horizontalFlip: true, randomResizedCrop: true))
        XCTAssertThrowsError(try Augmentation(parsing: "blur", side: 32)) { XCTAssertTrue("\($0)".contains("`augmentation`"), "\($0)") }
    }

    /// A probe on embeddings that two classes separate reaches them all, and reads back from its
    /// file as it was; labels that say nothing about the embeddings leave it near chance.
    func testALinearProbeFitsSeparableEmbeddingsAndRoundTrips() throws {
        var rng = Xoshiro256(seed: 3)
        let rows = 64, width = 6
        var values: [Float] = [], labels: [Int] = []
        for row in 0..<rows {
            let label = row % 2
            labels.append(label)
            let noise = Tensor.randomNormal([width], std: 0.3, using: &rng).scalars
            values += noise.enumerated().map { $0.offset == 0 ? $0.element + (label == 0 ? -2 : 2) : $0.element }
        }
        let embeddings = Tensor(shape: [rows, width], scalars: values)
        let probe = try LinearProbe.fit(embeddings: embeddings, labels: labels, classes: 2, epochs: 200, seed: 1, learningRate: 0.05)
        XCTAssertEqual(try probe.accuracy(embeddings: embeddings, labels: labels), 1)
        try probe.save(path("probe.safetensors"))
        XCTAssertEqual(try LinearProbe(file: path("probe.safetensors")), probe)

        let noise = Tensor.randomNormal([rows, width], using: &rng)
        let guessing = try LinearProbe.fit(embeddings: noise, labels: labels, classes: 2, epochs: 200, seed: 1, learningRate: 0.05)
        let held = Tensor.randomNormal([rows, width], using: &rng)
        XCTAssertLessThan(try guessing.accuracy(embeddings: held, labels: labels), 0.8, "negative control: nothing to learn")
    }
}
