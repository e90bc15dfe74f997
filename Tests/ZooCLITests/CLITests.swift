import ConvZoo
import Foundation
import XCTest
import ZooTestSupport

/// Runs the built `zoo` executable as a user would.
final class CLITests: XCTestCase {
    typealias Result = ProcessResult

    /// The products folder holds both the test bundle and `zoo`.
    static let zoo: URL = {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if folder.lastPathComponent.hasSuffix(".xctest") { folder.deleteLastPathComponent() }
        return folder.appendingPathComponent("zoo")
    }()

    func run(_ arguments: [String]) throws -> Result { try Self.run(arguments) }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        try runProcess(zoo, arguments, environment: environment)
    }

    func testListNamesEveryModelWithItsParameters() throws {
        let result = try run(["list"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n")
        let models = lines.filter { $0.hasPrefix("  ") }, families = lines.filter { !$0.hasPrefix(" ") }
        XCTAssertEqual(models.count, ModelRegistry.names.count)
        var registryFamilies: [String] = []
        for entry in ModelRegistry.entries where !registryFamilies.contains(entry.family) { registryFamilies.append(entry.family) }
        XCTAssertEqual(families.map(String.init), registryFamilies)
        XCTAssertEqual(families.prefix(12), ["LeNet", "AlexNet", "VGG", "GoogLeNet", "Inception", "Xception", "SqueezeNet", "MobileNet",
                                             "NASNet", "ResNet", "SENet", "DenseNet"])
        XCTAssertTrue(models.contains { $0.hasPrefix("  resnet50 ") && $0.contains("25,557,032") })
        let resnet = try XCTUnwrap(lines.firstIndex(of: "ResNet")), senet = try XCTUnwrap(lines.firstIndex(of: "SENet"))
        XCTAssertTrue(lines[resnet ..< senet].contains { $0.hasPrefix("  resnext50_32x4d ") && $0.contains("25,028,904") })
    }

    func testSummaryJSONHasIntegerTotalsAndLayers() throws {
        let result = try run(["summary", "resnet18", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["params"] as? Int, 11_689_512)
        XCTAssertEqual(object["macs"] as? Int, 1_814_073_344)
        let layers = try XCTUnwrap(object["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.first?["name"] as? String, "conv1")
        XCTAssertEqual(layers.first?["output"] as? [Int], [64, 112, 112])
    }

    func testSummaryTableWithClassesAndInput() throws {
        let result = try run(["summary", "resnet20", "--num-classes", "7", "--input", "1x28x28"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("fc  "), result.stdout)
        // 269,722 − (3 − 1)·16·9 (one input channel) − (10 − 7)·65 (seven classes)
        XCTAssertTrue(result.stdout.contains("total params: 269,239"), result.stdout)
    }

    func testUserErrorsGetOneSentenceAndAFailingStatus() throws {
        let cases: [([String], String)] = [
            (["summary", "resnet51"], "unknown model 'resnet51'; did you mean 'resnet50'?"),
            (["summary", "alexnet", "--input", "3x16x16"], "layer 'features."),
            (["summary", "vgg16", "--input", "3x224"], "--input must be CxHxW"),
            (["summary", "lenet5", "--num-classes", "0"], "--num-classes must be at least 1"),
        ]
        for (arguments, expected) in cases {
            let result = try run(arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.stderr.contains(expected), "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(arguments): one line: \(result.stderr)")
            XCTAssertFalse(result.stderr.contains("Fatal error"), "\(arguments): crashed")
        }
        XCTAssertTrue(try run(["summary", "alexnet", "--input", "3x16x16"]).stderr.contains("size reaches zero"))
    }
}
