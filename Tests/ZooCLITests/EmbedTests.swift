import ConvZoo
import Foundation
import XCTest
import ZooTestSupport

/// `zoo embed` and `zoo probe` as a user runs them, checked against the library.
final class EmbedTests: XCTestCase {
    let repository = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
    var samples: String { repository.appendingPathComponent("Weights/samples").path }
    var shipped: String { repository.appendingPathComponent("Weights/resnet20-fashion-mnist.safetensors").path }
    var folder: URL!

    override func setUpWithError() throws {
        folder = try makeTemporaryFolder("zoo-embed")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func files(_ file: SafeTensors) throws -> [String] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try XCTUnwrap(file.metadata["files"]).utf8)) as? [String])
    }

    /// The preprocessed samples as one batch, decoded by the library.
    func batch(_ model: ZooModel, _ paths: [String]) throws -> Tensor {
        let inputs = try paths.map { try model.inputTensor(for: try model.readImage($0), name: $0) }
        return Tensor(shape: [inputs.count] + model.input, scalars: inputs.flatMap(\.scalars))
    }

    /// By default the vectors are the shipped resnet20's `flatten` output (its global average
    /// pool over layer3), one row per file in order; at `layer2` they are the spatial means of
    /// layer2's output, computed here.
    func testEmbeddingsAreTheShippedModelsPooledLayerOutputs() throws {
        let out = path("samples.safetensors")
        let result = try CLITests.run(["embed", samples, "--out", out])
        XCTAssertEqual(result.status, 0, result.stderr)
        let file = try SafeTensors.read(out)
        let embeddings = try file.require("embeddings")
        let names = try files(file)
        XCTAssertEqual(names, Image.files(in: samples))
        XCTAssertEqual(names.count, 8)
        XCTAssertEqual(file.metadata["layer"], "layer3")
        XCTAssertNil(file["labels"])

        let model = try Zoo.load("resnet20", weights: shipped)
        let x = try batch(model, names)
        let features = try model.features(x, at: ["flatten", "layer2"])
        let flatten = try XCTUnwrap(features["flatten"])
        XCTAssertEqual(flatten.shape, [8, 64])
        XCTAssertNil(closeness(embeddings, flatten, tolerance: 1e-6))
        XCTAssertNil(closeness(try model.embeddings(x), flatten, tolerance: 1e-6))
        // The rows differ: eight images, eight vectors (not one repeated).
        XCTAssertEqual(Set((0 ..< 8).map { Array(embeddings.scalars[$0 * 64 ..< ($0 + 1) * 64]) }).count, 8)

        let layer2 = try XCTUnwrap(features["layer2"])
        let (channels, plane) = (layer2.shape[1], layer2.shape[2] * layer2.shape[3])
        let means = Tensor(shape: [8, channels], scalars: (0 ..< 8 * channels).map { row in
            layer2.scalars[row * plane ..< (row + 1) * plane].reduce(0, +) / Float(plane)
        })
        let atLayer2 = path("layer2.safetensors")
        let second = try CLITests.run(["embed", "--layer", "layer2", "--out", atLayer2] + names)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertNil(closeness(try SafeTensors.read(atLayer2).require("embeddings"), means, tolerance: 1e-6))
    }

    func testABadImageIsNamedAndTheOthersAreStillWritten() throws {
        let good = samples + "/bag.png", other = samples + "/trouser.jpg"
        let truncated = path("truncated.png")
        let data = try Data(contentsOf: URL(fileURLWithPath: good))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: truncated))
        let out = path("some.safetensors")
        let result = try CLITests.run(["embed", "--out", out, good, truncated, "/no/such/file.png", other])
        XCTAssertEqual(result.status, 1)
        let errors = result.stderr.split(separator: "\n")
        XCTAssertEqual(errors.count, 3, result.stderr)
        XCTAssertTrue(errors.contains { $0.contains("'\(truncated)' is not a readable PNG image") }, result.stderr)
        XCTAssertTrue(errors.contains { $0.contains("cannot read '/no/such/file.png'") }, result.stderr)
        XCTAssertTrue(errors.last!.contains("2 of 4 inputs could not be embedded"), result.stderr)
        let file = try SafeTensors.read(out)
        XCTAssertEqual(try files(file), [good, other])
        XCTAssertEqual(try file.require("embeddings").shape, [2, 64])

        // Nothing readable: no file at all.
        let none = path("none.safetensors")
        let failed = try CLITests.run(["embed", "--out", none, truncated])
        XCTAssertEqual(failed.status, 1)
        XCTAssertTrue(failed.stderr.contains("'\(none)' was not written"), failed.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: none))
    }

    func testAnUnknownLayerIsOneSentenceWithTheClosestPathsAndNoFile() throws {
        let out = path("layer.safetensors")
        let result = try CLITests.run(["embed", "--layer", "layer5", "--out", out, samples + "/bag.png"])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("no layer 'layer5' in this model; the closest module paths are 'layer1', 'layer2', 'layer3'"),
                      result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual(try (FileManager.default.contentsOfDirectory(atPath: folder.path)), [], "no temporary file left")
    }

    /// A data set's embeddings carry its labels (I64) and class names, in the seeded subset's order.
    func testDataSetEmbeddingsCarryLabelsAndClassNames() throws {
        let out = path("test.safetensors")
        let result = try CLITests.run(["embed", "--data", "fashion-mnist", "--split", "test", "--subset", "12", "--seed", "3", "--out", out])
        XCTAssertEqual(result.status, 0, result.stderr)
        let file = try SafeTensors.read(out)
        XCTAssertEqual(try file.require("embeddings").shape, [12, 64])
        let test = try Zoo.datasets("fashion-mnist", for: "resnet20").test.randomSubset(12, seed: 3)
        XCTAssertEqual(try file.require("labels").scalars, test.labels.map(Float.init))
        XCTAssertEqual(file.metadata["classes"].map { Data($0.utf8) }.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String] },
                       test.classNames)
        // The labels are stored as integers.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: bytes.subdata(in: 8 ..< 8 + headerLength)) as? [String: Any])
        XCTAssertEqual((header["labels"] as? [String: Any])?["dtype"] as? String, "I64")
    }

    /// Three Gaussian clusters in 6 dimensions (centres 4 apart on the axes, noise 1), `count`
    /// points, labels cycling; with `shuffled`, the labels are permuted and carry nothing.
    func writeClusters(_ name: String, count: Int, seed: UInt64, shuffled: Bool = false, width: Int = 6) throws -> String {
        var rng = Xoshiro256(seed: seed)
        var labels = (0 ..< count).map { $0 % 3 }
        var scalars: [Float] = []
        for label in labels {
            for d in 0 ..< width { scalars.append((d == label ? 4 : 0) + rng.nextNormal()) }
        }
        if shuffled { labels.shuffle(using: &rng) }
        let file = SafeTensors(tensors: [("embeddings", Tensor(shape: [count, width], scalars: scalars)),
                                         ("labels", Tensor(shape: [count], scalars: labels.map(Float.init)))])
        try file.write(to: path(name), integerNames: ["labels"])
        return path(name)
    }

    func probe(_ arguments: [String]) throws -> [String: Any] {
        let result = try CLITests.run(["probe", "--json"] + arguments)
        XCTAssertEqual(result.status, 0, result.stderr)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    /// The probe separates separable clusters, and is at chance when the labels are shuffled.
    func testProbeLearnsSeparableClustersAndNotShuffledLabels() throws {
        let train = try writeClusters("train.safetensors", count: 300, seed: 1)
        let test = try writeClusters("test.safetensors", count: 300, seed: 2)
        let shuffledTrain = try writeClusters("shuffled-train.safetensors", count: 300, seed: 1, shuffled: true)
        let shuffledTest = try writeClusters("shuffled-test.safetensors", count: 300, seed: 2, shuffled: true)
        let saved = path("probe.safetensors")
        let learned = try probe(["--train", train, "--test", test, "--out", saved])
        let accuracy = try XCTUnwrap(learned["test_accuracy"] as? Double)
        XCTAssertGreaterThan(accuracy, 0.97)
        XCTAssertEqual(learned["classes"] as? Int, 3)
        XCTAssertEqual(learned["features"] as? Int, 6)
        // Negative control: with labels that carry nothing, the probe is at chance (1/3 ± 0.03).
        let chance = try XCTUnwrap(try probe(["--train", shuffledTrain, "--test", shuffledTest])["test_accuracy"] as? Double)
        XCTAssertGreaterThan(chance, 0.2)
        XCTAssertLessThan(chance, 0.47)

        // The saved probe gives the printed accuracy; the same seed gives the same probe.
        let loaded = try LinearProbe(file: saved)
        let testFile = try SafeTensors.read(test)
        let labels = try testFile.require("labels").scalars.map { Int($0) }
        XCTAssertEqual(try loaded.accuracy(embeddings: testFile.require("embeddings"), labels: labels), accuracy)
        let trainFile = try SafeTensors.read(train)
        let fit = { try LinearProbe.fit(embeddings: trainFile.require("embeddings"), labels: trainFile.require("labels").scalars.map { Int($0) },
                                        classes: 3, epochs: 5, seed: 9) }
        XCTAssertEqual(try fit(), try fit())
    }

    func testProbeRefusesFilesItCannotUse() throws {
        let train = try writeClusters("train.safetensors", count: 30, seed: 1)
        let wide = try writeClusters("wide.safetensors", count: 30, seed: 2, width: 7)
        let unlabelled = path("unlabelled.safetensors")
        try SafeTensors(tensors: [("embeddings", Tensor(zeros: [4, 6]))]).write(to: unlabelled)
        let other = path("other.safetensors")
        try SafeTensors(tensors: [("vectors", Tensor(zeros: [4, 6]))]).write(to: other)
        let cases: [([String], String)] = [
            (["--train", train, "--test", wide], "'\(train)' holds embeddings of 6 values, but '\(wide)' holds embeddings of 7"),
            (["--train", unlabelled, "--test", train], "'\(unlabelled)' holds no 'labels' tensor"),
            (["--train", train, "--test", other], "'\(other)' holds no 'embeddings' tensor"),
            (["--train", train, "--test", path("missing.safetensors")], "cannot read '\(path("missing.safetensors"))'"),
        ]
        for (arguments, expected) in cases {
            let result = try CLITests.run(["probe"] + arguments)
            XCTAssertEqual(result.status, 1, "\(arguments)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains(expected), "\(arguments): \(result.stderr)")
        }
    }
}
