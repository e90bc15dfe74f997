import ConvZoo
import Foundation
import XCTest
import ZooTestSupport

/// `zoo forward` and `zoo convert` on good and bad weight files.
final class WeightCommandTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = try makeTemporaryFolder("zoo-cli")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func run(_ arguments: [String]) throws -> CLITests.Result { try CLITests.run(arguments) }

    /// Weights of `name` without ConvZoo metadata, as a PyTorch user would have them.
    func plainWeights(_ name: String, classes: Int, file: String) throws -> Module {
        GlobalRandom.seed(5)
        let model = try ModelRegistry.entry(name)!.build(classCount: classes, input: ModelRegistry.entry(name)!.defaultInput)
        let entries = model.stateEntries()
        try SafeTensors(tensors: entries.map { ($0.key, $0.tensor) }).write(to: path(file), integerNames: Set(entries.filter(\.isInteger).map(\.key)))
        return model
    }

    func input(_ shape: [Int], file: String = "x.safetensors") throws {
        var rng = Xoshiro256(seed: 1)
        try SafeTensors(tensors: [("input", .randomNormal(shape, using: &rng))]).write(to: path(file))
    }

    func assertFails(_ arguments: [String], saying expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try run(arguments)
        XCTAssertNotEqual(result.status, 0, "\(arguments)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains(expected), "\(arguments): \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "one sentence: \(result.stderr)", file: file, line: line)
        XCTAssertFalse(result.stderr.contains("Fatal error"), file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("y.safetensors")), "no output file is left", file: file, line: line)
    }

    func testForwardMatchesTheLibraryAndConvertRoundTripsBitForBit() throws {
        let model = try plainWeights("resnet20", classes: 10, file: "w.safetensors")
        try input([2, 3, 32, 32])
        let result = try run(["forward", "--model", "resnet20", "--weights", path("w.safetensors"),
                              "--input", path("x.safetensors"), "--output", path("y.safetensors")])
        XCTAssertEqual(result.status, 0, result.stderr)
        model.eval()
        let x = try SafeTensors.read(path("x.safetensors"))["input"]!
        // The library's inference path (a compiled plan) gives the same bits; with --eager, the
        // layer-by-layer forward pass does.
        XCTAssertEqual(try SafeTensors.read(path("y.safetensors"))["output"], try PlannedInference(model)(x))
        let eager = try run(["forward", "--model", "resnet20", "--weights", path("w.safetensors"), "--eager",
                             "--input", path("x.safetensors"), "--output", path("y.safetensors")])
        XCTAssertEqual(eager.status, 0, eager.stderr)
        XCTAssertEqual(try SafeTensors.read(path("y.safetensors"))["output"], try GradMode.withoutGrad { try model(Variable(x)) }.value)

        let converted = try run(["convert", path("w.safetensors"), path("c.safetensors"), "--model", "resnet20"])
        XCTAssertEqual(converted.status, 0, converted.stderr)
        let original = try SafeTensors.read(path("w.safetensors")), copy = try SafeTensors.read(path("c.safetensors"))
        XCTAssertEqual(copy.tensors.map(\.name), original.tensors.map(\.name))
        for ((_, a), (_, b)) in zip(original.tensors, copy.tensors) {
            XCTAssertEqual(a.scalars.map(\.bitPattern), b.scalars.map(\.bitPattern))
        }
        XCTAssertEqual(copy.metadata["architecture"], "resnet20")
        XCTAssertEqual(copy.metadata["class_count"], "10")
    }

    func testAThousandClassHeadNeedsNumClassesAndIsThenReplaced() throws {
        _ = try plainWeights("resnet20", classes: 1000, file: "imagenet-head.safetensors")
        try input([1, 3, 32, 32])
        let arguments = ["forward", "--model", "resnet20", "--weights", path("imagenet-head.safetensors"),
                         "--input", path("x.safetensors"), "--output", path("y.safetensors")]
        try assertFails(arguments, saying: "has a 1000-class classifier (fc.weight [1000, 64]) but the resnet20 model has 10 classes; pass --num-classes")
        let replaced = try run(arguments + ["--num-classes", "10"])
        XCTAssertEqual(replaced.status, 0, replaced.stderr)
        XCTAssertTrue(replaced.stderr.contains("replaced the 1000-class classifier"), replaced.stderr)
        XCTAssertEqual(try SafeTensors.read(path("y.safetensors"))["output"]?.shape, [1, 10])
    }

    func testBadFilesGetOneSentence() throws {
        _ = try plainWeights("lenet5", classes: 10, file: "lenet.safetensors")
        try input([1, 3, 32, 32])
        let data = try Data(contentsOf: URL(fileURLWithPath: path("lenet.safetensors")))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path("truncated.safetensors")))
        try Data().write(to: URL(fileURLWithPath: path("empty.safetensors")))
        func forward(_ model: String, _ weights: String, _ extra: [String] = []) -> [String] {
            ["forward", "--model", model, "--weights", path(weights), "--input", path("x.safetensors"), "--output", path("y.safetensors")] + extra
        }
        try assertFails(forward("resnet20", "truncated.safetensors"), saying: "outside the")
        try assertFails(forward("resnet20", "empty.safetensors"), saying: "is empty")
        try assertFails(forward("resnet20", "missing.safetensors"), saying: "cannot read '\(path("missing.safetensors"))'")
        try assertFails(forward("resnet20", "lenet.safetensors"), saying: "holds weights for another architecture than resnet20")
        try assertFails(["forward", "--model", "resnet20", "--weights", path("lenet.safetensors"), "--input", path("lenet.safetensors"),
                         "--output", path("y.safetensors")], saying: "has no tensor named 'input'")
        _ = try plainWeights("resnet20", classes: 10, file: "r20.safetensors")
        try input([1, 1, 28, 28], file: "gray.safetensors")
        try assertFails(["forward", "--model", "resnet20", "--weights", path("r20.safetensors"), "--input", path("gray.safetensors"),
                         "--output", path("y.safetensors")], saying: "conv1.weight: expected [16, 1, 3, 3], found [16, 3, 3, 3]")
        try input([1, 3, 4, 4], file: "tiny.safetensors")
        try assertFails(["forward", "--model", "lenet5", "--weights", path("lenet.safetensors"), "--input", path("tiny.safetensors"),
                         "--output", path("y.safetensors")], saying: "lenet5 takes 28×28 or 32×32 inputs, not 4×4")
        try input([1, 1, 28, 28], file: "gray.safetensors")
        try assertFails(["forward", "--model", "resnet18", "--weights", path("r20.safetensors"), "--input", path("gray.safetensors"),
                         "--output", path("y.safetensors")], saying: "holds weights for another architecture than resnet18")
        try input([1, 3, 16, 16], file: "small.safetensors")
        _ = try plainWeights("alexnet", classes: 10, file: "alexnet.safetensors")
        try assertFails(["forward", "--model", "alexnet", "--weights", path("alexnet.safetensors"), "--input", path("small.safetensors"),
                         "--output", path("y.safetensors"), "--num-classes", "10"], saying: "size reaches zero")
    }

    func testBrokenSafetensorsGetOneSentence() throws {
        try input([1, 1, 28, 28])
        let floats = Craft.floats([1, 2])
        let files: [(String, Data, String)] = [
            ("long-header.safetensors", Craft.safetensors(header: "{}", headerLength: 4096), "runs past the end of the file"),
            ("overlap.safetensors", Craft.safetensors(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: floats), "overlap"),
            ("outside.safetensors", Craft.safetensors(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: floats), "outside the 8 data bytes"),
            ("dtype.safetensors", Craft.safetensors(header: #"{"a":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}}"#, data: floats), "dtype F8_E4M3, which ConvZoo does not read"),
        ]
        for (name, bytes, expected) in files {
            try bytes.write(to: URL(fileURLWithPath: path(name)))
            try assertFails(["forward", "--model", "lenet5", "--weights", path(name), "--input", path("x.safetensors"),
                             "--output", path("y.safetensors")], saying: expected)
        }
    }

    func testATorchCheckpointWithAForbiddenGlobalIsRefused() throws {
        let evil = CheckpointFixtures.zip([("archive/data.pkl", CheckpointFixtures.pickle(global: "os\nsystem\n")), ("archive/data/0", Data(count: 8))])
        try evil.write(to: URL(fileURLWithPath: path("evil.pth")))
        try assertFails(["convert", path("evil.pth"), path("y.safetensors"), "--model", "lenet5"],
                        saying: "names the global 'os.system', which is not one of the reconstruction functions")
        let big = CheckpointFixtures.zip([("archive/data.pkl", CheckpointFixtures.pickle()), ("archive/data/0", Data(count: 8))],
                                         claimedSize: ["archive/data/0": 1 << 30])
        try big.write(to: URL(fileURLWithPath: path("big.pth")))
        try assertFails(["convert", path("big.pth"), path("y.safetensors"), "--model", "lenet5"], saying: "more than the file holds")
    }
}

extension WeightCommandTests {
    func testConvertStoresLabelsAndPreprocessing() throws {
        _ = try plainWeights("lenet5", classes: 3, file: "w.safetensors")
        try "shirt\ntrouser\nbag\n".write(toFile: path("labels.txt"), atomically: true, encoding: .utf8)
        let result = try run(["convert", path("w.safetensors"), path("c.safetensors"), "--model", "lenet5", "--num-classes", "3",
                              "--labels", path("labels.txt")])
        XCTAssertEqual(result.status, 0, result.stderr)
        let metadata = try SafeTensors.read(path("c.safetensors")).metadata
        XCTAssertEqual(metadata["labels"], #"["shirt","trouser","bag"]"#)
        XCTAssertEqual(Preprocessing(json: metadata["preprocessing"] ?? ""), Preprocessing.unnormalised(input: [1, 28, 28]))
        try "a\nb\n".write(toFile: path("two.txt"), atomically: true, encoding: .utf8)
        try assertFails(["convert", path("w.safetensors"), path("y.safetensors"), "--model", "lenet5", "--num-classes", "3",
                         "--labels", path("two.txt")], saying: "has 2 names, but the model has 3 classes")
    }
}
