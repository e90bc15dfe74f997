import ConvZoo
import Foundation
import XCTest
import ZooTestSupport

/// `zoo explain`, `zoo features`, `zoo filters` and `zoo classify --html` as a user runs them,
/// on the shipped resnet20 and the committed sample photos.
final class ExplainTests: XCTestCase {
    static let repository = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
    static func sample(_ name: String) -> String { repository.appendingPathComponent("Weights/samples/" + name).path }
    static let shipped = repository.appendingPathComponent("Weights/resnet20-fashion-mnist.safetensors").path

    var folder: URL!
    override func setUpWithError() throws {
        folder = try makeTemporaryFolder("convzoo-explain")
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func decodedPNG(_ path: String) throws -> Image {
        try DecodedImage.decode(try Data(contentsOf: URL(fileURLWithPath: path)), name: path).rgb()
    }

    func testExplainWritesAPictureAndTheMapsOfEachClass() throws {
        let out = path("cams")
        let result = try CLITests.run(["explain", "--top", "2", "--out", out, Self.sample("ankle-boot.png")])
        XCTAssertEqual(result.status, 0, result.stderr)
        let model = try Zoo.load("resnet20", weights: Self.shipped)
        let x = try model.inputTensor(for: try model.readImage(Self.sample("ankle-boot.png")))
        let batch = x.reshaped([1] + x.shape)
        let top = try model.probabilities(batch).topK(2)[0]
        XCTAssertEqual(top[0], 9, "the shipped model calls the sample an ankle boot")
        for c in top {
            let picture = try decodedPNG(out + "/ankle-boot.\(c).png")
            XCTAssertEqual([picture.width, picture.height], [320, 320])
            let maps = try SafeTensors.read(out + "/ankle-boot.\(c).safetensors")
            let expected = try model.gradCAM(batch, classes: [c])
            XCTAssertEqual(maps["cam_raw"]?.shape, [7, 7], "resnet20's layer3 at 28×28")
            XCTAssertEqual(maps["cam"]?.shape, [28, 28])
            XCTAssertEqual(maps["cam_raw"]?.scalars, expected.camRaw.scalars)
            XCTAssertEqual(maps["cam"]?.scalars, expected.cam.scalars)
            XCTAssertEqual(maps.metadata["layer"], "layer3")
        }
        XCTAssertTrue(result.stdout.contains("Ankle boot (9)"), result.stdout)
    }

    func testExplainOnAPreprocessedBatchAppliesTheClassToEveryItem() throws {
        let model = try Zoo.load("resnet20", weights: Self.shipped)
        let inputs = try ["bag.png", "sneaker.png", "trouser.png"].map { try model.inputTensor(for: try model.readImage(Self.sample($0))) }
        let batch = Tensor(shape: [3] + model.input, scalars: inputs.flatMap(\.scalars))
        try SafeTensors(tensors: [("input", batch)]).write(to: path("x.safetensors"))
        for (arguments, classes) in [([String](), nil as [Int]?), (["--class", "4"], [4, 4, 4])] {
            let result = try CLITests.run(["explain", "--input", path("x.safetensors"), "--layer", "layer2", "--out", path("y.safetensors")] + arguments)
            XCTAssertEqual(result.status, 0, result.stderr)
            let maps = try SafeTensors.read(path("y.safetensors"))
            let expected = try model.gradCAM(batch, layer: "layer2", classes: classes)
            XCTAssertEqual(maps["cam_raw"]?.shape, [3, 14, 14])
            XCTAssertEqual(maps["cam"]?.shape, [3, 28, 28])
            XCTAssertEqual(maps["cam_raw"]?.scalars, expected.camRaw.scalars, arguments.joined(separator: " "))
            XCTAssertEqual(maps["cam"]?.scalars, expected.cam.scalars)
        }
    }

    func testMistakesAreOneSentenceAndABadImageDoesNotStopTheOthers() throws {
        let unknown = try CLITests.run(["explain", "--layer", "layer4", "--out", path("a"), Self.sample("bag.png")])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertEqual(unknown.stderr,
                       "zoo: --layer: no layer 'layer4' in this model; the closest module paths are 'layer1', 'layer2', 'layer3' ('zoo summary' lists them all)\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("a")), "nothing written")
        let range = try CLITests.run(["explain", "--class", "10", "--out", path("b"), Self.sample("bag.png")])
        XCTAssertEqual(range.status, 1)
        XCTAssertEqual(range.stderr, "zoo: --class 10 is out of range: resnet20 has classes 0 to 9\n")

        let broken = path("broken.png")
        try Data("not a picture".utf8).write(to: URL(fileURLWithPath: broken))
        let mixed = try CLITests.run(["explain", "--out", path("c"), broken, Self.sample("bag.png"), path("missing.png")])
        XCTAssertEqual(mixed.status, 1)
        let lines = mixed.stderr.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3, mixed.stderr)
        XCTAssertTrue(lines[0].contains("missing.png"), mixed.stderr)
        XCTAssertTrue(lines[1].contains(broken), mixed.stderr)
        XCTAssertEqual(lines[2], "zoo: 2 of 3 inputs could not be explained")
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("c/bag.8.png")), "the good image is still explained")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("c")).sorted(), ["bag.8.png", "bag.8.safetensors"])
    }

    func testFeaturesAndFiltersDrawGrids() throws {
        let features = try CLITests.run(["features", "--layer", "layer1", "--out", path("f.png"), Self.sample("trouser.png")])
        XCTAssertEqual(features.status, 0, features.stderr)
        let grid = try decodedPNG(path("f.png"))
        XCTAssertGreaterThan(grid.width, 8 * 64, "eight columns of 16 maps")
        let filters = try CLITests.run(["filters", "--out", path("w.png")])
        XCTAssertEqual(filters.status, 0, filters.stderr)
        XCTAssertGreaterThan(try decodedPNG(path("w.png")).width, 0)
        let notConv = try CLITests.run(["filters", "--layer", "layer1.0.bn1", "--out", path("x.png")])
        XCTAssertEqual(notConv.status, 1)
        XCTAssertEqual(notConv.stderr, "zoo: --layer 'layer1.0.bn1' is a BatchNorm+ReLU, not a convolution; the first is 'conv1'\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.png")))
        let flat = try CLITests.run(["features", "--layer", "fc", "--out", path("y.png"), Self.sample("trouser.png")])
        XCTAssertEqual(flat.status, 1)
        XCTAssertEqual(flat.stderr, "zoo: --layer 'fc' gives outputs of shape 10, not C×H×W maps\n")
    }

    func testTheHTMLReportIsOneSelfContainedPage() throws {
        let report = path("report.html")
        let result = try CLITests.run(["classify", "--top", "3", "--html", report, Self.sample("ankle-boot.png"), Self.sample("bag.jpg")])
        XCTAssertEqual(result.status, 0, result.stderr)
        let page = try String(contentsOfFile: report, encoding: .utf8)
        XCTAssertEqual(page.components(separatedBy: "<img src=\"data:image/png;base64,").count - 1, 4, "two pictures per image")
        XCTAssertEqual(page.components(separatedBy: "<td class=\"bar\">").count - 1, 6, "three bars per image")
        for fetched in ["<script", "http:", "https:", "@import", "url("] { XCTAssertFalse(page.contains(fetched), fetched) }
        XCTAssertTrue(page.contains("Ankle boot") && page.contains("Bag"))
    }
}
