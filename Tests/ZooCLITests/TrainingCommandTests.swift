import ConvZoo
import Foundation
import XCTest

/// `zoo train`, `zoo eval`, `zoo finetune` end to end on a tiny image folder.
final class TrainingCommandTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-train-\(UUID().uuidString)")
        // Two classes a small net can tell apart: bright top half, or bright bottom half.
        for (label, bright) in [("top", 0..<14), ("bottom", 14..<28)] {
            let classFolder = folder.appendingPathComponent("data/\(label)")
            try FileManager.default.createDirectory(at: classFolder, withIntermediateDirectories: true)
            for i in 0..<12 {
                var pixels = [UInt8](repeating: UInt8(10 + i), count: 28 * 28)
                for y in bright { for x in 0..<28 { pixels[y * 28 + x] = UInt8(200 + i) } }
                let image = Image(width: 28, height: 28, channels: 1, pixels: pixels)
                try image.write(to: classFolder.appendingPathComponent("\(i).\(i % 2 == 0 ? "png" : "jpg")").path)
            }
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func testTrainEvalResumeAndFinetune() throws {
        let out = path("lenet.safetensors")
        let arguments = ["train", "--model", "lenet5", "--data", path("data"), "--epochs", "2", "--batch", "8", "--lr", "0.05",
                         "--seed", "3", "--out", out]
        let trained = try CLITests.run(arguments)
        XCTAssertEqual(trained.status, 0, trained.stderr)
        XCTAssertTrue(trained.stdout.contains("epoch 2/2"), trained.stdout)
        let log = try String(contentsOfFile: path("lenet.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(log.first.map(String.init), "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds")
        XCTAssertEqual(log.count, 3)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + ".checkpoint"), "the checkpoint goes once training ends")
        let weights = try SafeTensors.read(out)
        XCTAssertEqual(weights.metadata["architecture"], "lenet5")
        XCTAssertEqual(weights.metadata["labels"], #"["bottom","top"]"#)

        let evaluation = try CLITests.run(["eval", "--weights", out, "--data", path("data"), "--json"])
        XCTAssertEqual(evaluation.status, 0, evaluation.stderr)
        let result = try JSONSerialization.jsonObject(with: Data(evaluation.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(result["count"] as? Int, 5, "the 20% validation part of 24 images")
        XCTAssertNotNil(result["top1"] as? Double)

        // Resume: a run "killed" after epoch 1 (its checkpoint kept) continues to the same weights.
        let first = try CLITests.run(["train", "--model", "lenet5", "--data", path("data"), "--epochs", "1", "--batch", "8", "--lr", "0.05",
                                      "--seed", "3", "--out", path("partial.safetensors")])
        XCTAssertEqual(first.status, 0, first.stderr)
        let resumed = try CLITests.run(["train", "--model", "lenet5", "--data", path("data"), "--epochs", "2", "--batch", "8", "--lr", "0.05",
                                        "--seed", "3", "--out", out + ".again", "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)

        let tuned = try CLITests.run(["finetune", "--model", "lenet5", "--weights", out, "--data", path("data"), "--num-classes", "2",
                                      "--epochs", "2", "--unfreeze-after", "1", "--batch", "8", "--lr", "0.01", "--out", path("tuned.safetensors")])
        XCTAssertEqual(tuned.status, 0, tuned.stderr)
        XCTAssertTrue(tuned.stdout.contains("unfreezing the backbone from epoch 2"), tuned.stdout)

        let bad = try CLITests.run(["train", "--model", "lenet5", "--data", path("nowhere"), "--out", path("x.safetensors")])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("'\(path("nowhere"))' is not a folder of class sub-folders"), bad.stderr)
        let badFlag = try CLITests.run(arguments + ["--optimizer", "lbfgs"])
        XCTAssertEqual(badFlag.status, 1)
        XCTAssertTrue(badFlag.stderr.contains("--optimizer must be sgd, adam or adamw"), badFlag.stderr)
        // The recipe's rules are the library's, named by this tool's options.
        for (extra, sentence) in [(["--epochs", "0"], "--epochs must be at least 1, got 0"),
                                  (["--epochs", "2", "--warmup", "2"], "--warmup must be between 0 and the epochs − 1, got 2"),
                                  (["--label-smoothing", "1"], "--label-smoothing must be in [0, 1), got 1.0"),
                                  (["--augment", "crop+blur"], "--augment must combine crop, flip and resized-crop with +, or be none; not 'crop+blur'")] {
            let refused = try CLITests.run(arguments + extra)
            XCTAssertEqual(refused.status, 1, "\(extra)")
            XCTAssertTrue(refused.stderr.contains(sentence), "\(extra): \(refused.stderr)")
        }
    }

    /// A run stopped after epoch 1 (ZOO_STOP_AFTER_EPOCH simulates the kill, leaving the
    /// checkpoint) and resumed ends with the same weights, bit for bit, as one that never stopped.
    func testResumedTrainingEqualsAnUninterruptedRun() throws {
        let common = ["train", "--model", "lenet5", "--data", path("data"), "--epochs", "3", "--batch", "8", "--lr", "0.05", "--seed", "4"]
        XCTAssertEqual(try CLITests.run(common + ["--out", path("straight.safetensors")]).status, 0)
        let stopped = try CLITests.run(common + ["--out", path("resumed.safetensors")], environment: ["ZOO_STOP_AFTER_EPOCH": "1"])
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("resumed.safetensors.checkpoint")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("resumed.safetensors")))
        let resumed = try CLITests.run(common + ["--out", path("resumed.safetensors"), "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resuming after epoch 1"), resumed.stdout)
        let a = try SafeTensors.read(path("straight.safetensors")), b = try SafeTensors.read(path("resumed.safetensors"))
        XCTAssertEqual(a.tensors.map(\.name), b.tensors.map(\.name))
        for ((name, x), (_, y)) in zip(a.tensors, b.tensors) {
            XCTAssertEqual(x.scalars.map(\.bitPattern), y.scalars.map(\.bitPattern), name)
        }
        XCTAssertEqual(try String(contentsOfFile: path("resumed.csv"), encoding: .utf8).split(separator: "\n").count, 4)
    }
}
