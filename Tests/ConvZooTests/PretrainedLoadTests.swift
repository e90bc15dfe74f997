import ConvZoo
import Foundation
import XCTest
import ZooTestSupport

/// `Zoo.load` with published weights, in a process whose environment points the catalogue
/// (ZOO_CATALOG) and the cache (ZOO_CACHE) at a scratch folder; files are "published" at file://
/// URLs, which the cache fetches as it fetches https:// ones.
final class PretrainedLoadTests: XCTestCase {
    var folder: URL!
    static let repository = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
    static let shipped = repository.appendingPathComponent("Weights/resnet20-fashion-mnist.safetensors").path
    /// resnet20 as PyTorch wrote it, without ConvZoo metadata.
    static let plain = Fixtures.root.appendingPathComponent("parity/resnet20/weights.safetensors").path

    override func setUpWithError() throws {
        folder = try makeTemporaryFolder("zoo-pretrained")
        setenv("ZOO_CACHE", folder.appendingPathComponent("cache").path, 1)
        setenv("ZOO_CATALOG", folder.appendingPathComponent("catalog.json").path, 1)
    }

    override func tearDownWithError() throws {
        unsetenv("ZOO_CACHE")
        unsetenv("ZOO_CATALOG")
        try? FileManager.default.removeItem(at: folder)
    }

    func register(_ entries: [[String: Any]]) throws {
        try JSONSerialization.data(withJSONObject: entries).write(to: folder.appendingPathComponent("catalog.json"))
    }

    func testPretrainedLoadsTheDefaultTagFromTheCache() throws {
        try register([["model": "resnet20", "tag": "fashion", "default": true, "url": "file://" + Self.shipped,
                       "sha256": try SHA256.hex(ofFile: Self.shipped)]])
        XCTAssertEqual(try Zoo.weights(for: "resnet20").map(\.tag), ["fashion"])
        let model = try Zoo.load("resnet20", weights: .pretrained)
        let cached = folder.appendingPathComponent("cache/resnet20-fashion-mnist.safetensors").path
        XCTAssertTrue(FileManager.default.fileExists(atPath: cached))
        let result = try model.classify([Self.repository.appendingPathComponent("Weights/samples/ankle-boot.png").path], top: 1)
        XCTAssertEqual(result.first?.top.first?.label, "Ankle boot")
        XCTAssertEqual(try Zoo.load("resnet20", weights: .pretrained("fashion")).published?.tag, "fashion")
        XCTAssertThrowsError(try Zoo.load("resnet20", weights: .pretrained("imagenet"))) {
            XCTAssertEqual("\($0)", "resnet20 has no weights tagged 'imagenet'; its tags are DEFAULT, fashion")
        }
    }

    /// The facts of a published file apply when a file is that file, by its SHA-256, however it
    /// was given; another file of the same model gets the registry's defaults.
    func testAPublishedFilesFactsApplyByItsDigest() throws {
        let transforms: [String: Any] = ["resize": 40, "crop": 36, "interpolation": "bicubic", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]]
        try register([["model": "resnet20", "tag": "plain", "url": "file:///nowhere/resnet20-plain.safetensors",
                       "sha256": try SHA256.hex(ofFile: Self.plain), "preprocessing": transforms]])
        let published = try Zoo.load("resnet20", weights: .file(Self.plain))
        XCTAssertEqual(published.published?.tag, "plain")
        XCTAssertEqual(published.preprocessing.resize, 40)
        XCTAssertEqual(published.preprocessing.interpolation, "bicubic")
        // A copy with one byte changed is another file: the registry's defaults.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.plain))
        bytes[bytes.count - 1] ^= 1
        let other = folder.appendingPathComponent("other.safetensors").path
        try bytes.write(to: URL(fileURLWithPath: other))
        let unknown = try Zoo.load("resnet20", weights: .file(other))
        XCTAssertNil(unknown.published)
        XCTAssertEqual(unknown.preprocessing, ModelRegistry.entry("resnet20")!.preprocessing)
        // The digest is remembered: hashing once per file version.
        let record = try String(contentsOf: folder.appendingPathComponent("cache/verified.json"), encoding: .utf8)
        XCTAssertTrue(record.contains(Self.plain) && record.contains(other), record)
    }

    func testTransformInputIsOnlyForModelsThatHaveIt() throws {
        XCTAssertThrowsError(try Zoo.load("resnet20", transformInput: true)) {
            XCTAssertEqual("\($0)", "resnet20 has no transform_input switch (only googlenet and inception_v3 have)")
        }
        XCTAssertTrue(try Zoo.load("googlenet", transformInput: true).options.transformInput)
        XCTAssertFalse(try Zoo.load("googlenet").options.transformInput, "off, as torchvision's builder without weights")
    }

    func testWeightsSourcesAreReadAsTheCommandLineReadsThem() {
        XCTAssertEqual(WeightsSource("DEFAULT").kind, .tag("DEFAULT"))
        XCTAssertEqual(WeightsSource("IMAGENET1K_V1").kind, .tag("IMAGENET1K_V1"))
        XCTAssertEqual(WeightsSource("resnet50-0676ba61.pth").kind, .file("resnet50-0676ba61.pth"))
        XCTAssertEqual(WeightsSource("weights/a1h").kind, .file("weights/a1h"))
        XCTAssertEqual(WeightsSource("https://download.pytorch.org/models/resnet50-0676ba61.pth").kind,
                       .url("https://download.pytorch.org/models/resnet50-0676ba61.pth"))
        XCTAssertEqual(WeightsSource("file:///srv/a.pth").kind, .url("file:///srv/a.pth"))
        XCTAssertEqual(RemoteFile.torchHubPrefix(of: "https://e.org/models/resnet50-0676ba61.pth"), "0676ba61")
        XCTAssertEqual(RemoteFile.torchHubPrefix(of: "https://e.org/models/resnet-50.pth"), "", "too short to be a digest")
        XCTAssertEqual(RemoteFile(url: "https://huggingface.co/timm/resnetv2_50.a1h_in1k/resolve/main/model.safetensors", sha256: "").fileName,
                       "timm--resnetv2_50.a1h_in1k--model.safetensors")
    }
}
