import Foundation
import XCTest
import ZooTestSupport

/// `zoo classify` as a user runs it.
final class ClassifyTests: XCTestCase {
    let images = Fixtures.root.appendingPathComponent("images")
    var lenet: String { Fixtures.root.appendingPathComponent("parity/lenet5/weights.safetensors").path }

    func testTopKTableJSONAndFolders() throws {
        let png = images.appendingPathComponent("png/rgb8.png").path
        let table = try CLITests.run(["classify", "--model", "lenet5", "--weights", lenet, "--top", "3", png])
        XCTAssertEqual(table.status, 0, table.stderr)
        let lines = table.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 4, table.stdout)
        XCTAssertEqual(String(lines[0]), png)
        XCTAssertTrue(lines[1].contains("  1  class "), table.stdout)

        let json = try CLITests.run(["classify", "--model", "lenet5", "--weights", lenet, "--json", "--batch", "4",
                                     images.appendingPathComponent("jpeg").path])
        XCTAssertEqual(json.status, 0, json.stderr)
        let objects = try json.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertGreaterThanOrEqual(objects.count, 20, "every JPEG in the folder")
        for object in objects {
            let top = try XCTUnwrap(object["top"] as? [[String: Any]])
            XCTAssertEqual(top.count, 5)
            let probabilities = top.compactMap { $0["probability"] as? Double }
            XCTAssertEqual(probabilities, probabilities.sorted(by: >), "ranked")
            XCTAssertTrue(probabilities.allSatisfy { $0 >= 0 && $0 <= 1 })
            XCTAssertNotNil(top[0]["index"] as? Int)
            XCTAssertNotNil(top[0]["label"] as? String)
        }
    }

    /// Without --weights, the shipped weights of the named model are used, else its default
    /// published weights (here offline: the sentence says which file to put where); a model with
    /// neither is refused in one sentence that says how to give weights.
    func testWithoutWeightsTheShippedOnesOfThatModelServe() throws {
        let sample = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Weights/samples/bag.png").path
        let lenet5 = try CLITests.run(["classify", "--model", "lenet5", "--top", "1", sample])
        XCTAssertEqual(lenet5.status, 0, lenet5.stderr)
        XCTAssertTrue(lenet5.stdout.contains("  1  Bag "), lenet5.stdout)
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-offline-\(UUID().uuidString)").path
        let resnet18 = try CLITests.run(["classify", "--model", "resnet18", sample],
                                        environment: ["ZOO_OFFLINE": "1", "ZOO_CACHE": cache, "TORCH_HOME": cache, "HF_HOME": cache])
        XCTAssertNotEqual(resnet18.status, 0)
        XCTAssertEqual(resnet18.stderr, "zoo: ZOO_OFFLINE is set and resnet18-f37072fd.pth is not on this machine: put the file from "
                       + "https://download.pytorch.org/models/resnet18-f37072fd.pth at '\(cache)/resnet18-f37072fd.pth'\n")
        let plain20 = try CLITests.run(["classify", "--model", "plain20", sample])
        XCTAssertNotEqual(plain20.status, 0)
        XCTAssertTrue(plain20.stderr.hasPrefix("zoo: no weights for plain20 are shipped here"), plain20.stderr)
        XCTAssertTrue(plain20.stderr.contains("pass --weights FILE"), plain20.stderr)
        XCTAssertFalse(plain20.stderr.contains("holds resnet20 weights"), plain20.stderr)
        XCTAssertEqual(plain20.stderr.split(separator: "\n").count, 1, plain20.stderr)
    }

    func testOneBadFileDoesNotStopTheOthers() throws {
        let folder = try makeTemporaryFolder("zoo-classify")
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = images.appendingPathComponent("png/gray8.png").path
        let truncated = folder.appendingPathComponent("truncated.png").path
        let data = try Data(contentsOf: URL(fileURLWithPath: images.appendingPathComponent("photos/coffee.png").path))
        try data.prefix(data.count / 3).write(to: URL(fileURLWithPath: truncated))
        let text = folder.appendingPathComponent("notes.jpg").path
        try "not an image".write(toFile: text, atomically: true, encoding: .utf8)
        let result = try CLITests.run(["classify", "--model", "lenet5", "--weights", lenet, "--json",
                                       truncated, good, text, "/no/such/file.png", good])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stdout.split(separator: "\n").count, 2, "both good files are classified: \(result.stdout)")
        let errors = result.stderr.split(separator: "\n")
        XCTAssertEqual(errors.count, 4, result.stderr)
        XCTAssertTrue(errors.contains { $0.contains("'\(truncated)' is not a readable PNG image") }, result.stderr)
        XCTAssertTrue(errors.contains { $0.contains("'\(text)' is not a PNG or JPEG image") }, result.stderr)
        XCTAssertTrue(errors.contains { $0.contains("cannot read '/no/such/file.png'") }, result.stderr)
        XCTAssertTrue(errors.last!.contains("3 of 5 inputs could not be classified"), result.stderr)
        XCTAssertFalse(result.stderr.contains("Fatal"))
        let huge = try CLITests.run(["classify", "--model", "lenet5", "--weights", lenet, "--max-pixels", "100", good])
        XCTAssertEqual(huge.status, 1)
        XCTAssertTrue(huge.stderr.contains("more than the limit of 100"), huge.stderr)
    }

    /// With PyTorch-reference weights (a seeded torchvision resnet18, written by
    /// `Tools/make_image_fixtures.py --weights-only PATH`), the top-5 classes and their
    /// probabilities equal torchvision's on the photos. CI sets ZOO_CLASSIFY_WEIGHTS.
    func testTopFiveEqualsPyTorchOnPhotos() throws {
        guard let weights = ProcessInfo.processInfo.environment["ZOO_CLASSIFY_WEIGHTS"] else {
            throw XCTSkip("set ZOO_CLASSIFY_WEIGHTS to the seeded resnet18 (see Tools/make_image_fixtures.py --weights-only)")
        }
        let photos = images.appendingPathComponent("photos")
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: photos.appendingPathComponent("classify_resnet18.json"))) as! [String: [String: Any]]
        let files = reference.keys.sorted().map { photos.appendingPathComponent($0).path }
        let labels = try String(contentsOf: Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Weights/labels/imagenet1k.txt"), encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(labels.count, 1000)
        let result = try CLITests.run(["classify", "--model", "resnet18", "--weights", weights, "--json"] + files)
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, files.count)
        for (file, line) in zip(files, lines) {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let top = object["top"] as! [[String: Any]]
            let expected = reference[(file as NSString).lastPathComponent]!
            XCTAssertEqual(top.map { $0["index"] as! Int }, expected["top5"] as! [Int], file)
            for (ours, theirs) in zip(top.map { $0["probability"] as! Double }, expected["probabilities"] as! [Double]) {
                XCTAssertEqual(ours, theirs, accuracy: theirs * 0.03, "\(file): probability")
            }
            for entry in top {
                XCTAssertEqual(entry["label"] as? String, labels[entry["index"] as! Int], "ImageNet-1k names in torchvision's order")
            }
        }
    }
}
