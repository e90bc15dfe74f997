import ConvZoo
import Foundation
import XCTest
import ZooTestSupport

/// The catalogue of published weights: what the references say, models of the registry, and the
/// facts computed from the models themselves (parameters, depth).
final class WeightCatalogTests: XCTestCase {
    static let repository = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()

    /// The committed catalogue equals what Tools/make_weight_catalog.py reads from the installed
    /// torchvision, timm and pretrainedmodels (ZOO_PYTHON: a python that has them; skipped when
    /// it has not, as the script then exits with status 2).
    func testTheCatalogueEqualsTheReferencesMetadata() throws {
        let result = try runProcess(testPython, [Self.repository.appendingPathComponent("Tools/make_weight_catalog.py").path, "--json"])
        if result.status == 2 { throw XCTSkip(result.stderr) }
        XCTAssertEqual(result.status, 0, result.stderr)
        let references = try JSONDecoder().decode([PublishedWeights].self, from: Data(result.stdout.utf8))
        XCTAssertEqual(references.count, PublishedWeights.builtIn.count)
        for (reference, committed) in zip(references, PublishedWeights.builtIn) {
            XCTAssertEqual(committed, reference, "\(committed.name) differs from \(reference.name) as the references say it")
        }
    }

    /// Every entry is a model of the registry whose parameter count is the reference's, with
    /// evaluation transforms (when it can classify), one default per model, and a digest or URL
    /// that can be checked.
    func testEveryEntryIsARegistryModelOfTheReferencesSize() throws {
        let catalog = PublishedWeights.builtIn
        XCTAssertGreaterThanOrEqual(catalog.count, 50)
        // Counted without and with the auxiliary heads (torchvision counts Inception v3's, not GoogLeNet's).
        var counted: [String: Set<Int>] = [:]
        for weights in catalog {
            let entry = try XCTUnwrap(ModelRegistry.entry(weights.model), weights.name)
            let classes = weights.classes ?? entry.defaultClassCount
            let key = "\(weights.model)/\(classes)"
            if counted[key] == nil {
                counted[key] = Set(try [false, true].map { auxiliary in
                    try GlobalRandom.shapesOnly {
                        try entry.build(ModelOptions(classCount: classes, input: entry.defaultInput, auxiliaryHeads: auxiliary))
                    }.parameterCount
                })
            }
            XCTAssertTrue(counted[key]!.contains(weights.parameters ?? -1), "\(weights.name): \(weights.parameters ?? -1) parameters, not \(counted[key]!)")
            XCTAssertTrue(weights.sha256.count >= 6 || weights.url.hasPrefix("https://huggingface.co/"), "\(weights.name): no way to verify \(weights.url)")
            if weights.classes != nil { XCTAssertNotNil(weights.preprocessing, weights.name) }
        }
        for model in Set(catalog.map(\.model)) {
            XCTAssertEqual(catalog.filter { $0.model == model && $0.isDefault }.count, 1, "\(model): one default")
        }
        XCTAssertEqual(catalog.filter(\.transformInput).map(\.model).sorted(), ["googlenet", "inception_v3"])
        let resnet50 = try PublishedWeights.entry(model: "resnet50", tag: "DEFAULT", environment: [:])
        XCTAssertEqual([resnet50.tag, resnet50.url], ["IMAGENET1K_V2", "https://download.pytorch.org/models/resnet50-11ad3fa6.pth"])
        XCTAssertEqual(resnet50.sha256, "11ad3fa6")
    }

    /// Depth as the papers count it, from the traced graph: the numbers in the names.
    func testDepthIsTheNumberInTheName() throws {
        for name in ["resnet18", "resnet50", "resnet152", "vgg11", "vgg16", "vgg19", "densenet121", "densenet201"] {
            let entry = try XCTUnwrap(ModelRegistry.entry(name))
            let model = try GlobalRandom.shapesOnly { try entry.build() }
            let depth = model.depth(input: [3, 64, 64])
            XCTAssertEqual(depth, Int(name.drop { !$0.isNumber }), name)
        }
        // Negative control: a residual block's shortcut is not added to its branch.
        XCTAssertEqual(try GlobalRandom.shapesOnly { try ModelRegistry.entry("resnet20")!.build() }.depth(input: [3, 32, 32]), 20)
    }

    /// A team's catalogue (ZOO_CATALOG): entries added, a built-in one replaced, mistakes named.
    func testATeamsCatalogueAddsEntriesAndNamesItsMistakes() throws {
        let folder = try makeTemporaryFolder("zoo-catalog")
        defer { try? FileManager.default.removeItem(at: folder) }
        func catalog(_ text: String) throws -> [PublishedWeights] {
            let path = folder.appendingPathComponent("catalog.json").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return try PublishedWeights.catalog(environment: ["ZOO_CATALOG": path])
        }
        let added = try catalog(#"[{"model": "resnet18", "tag": "team", "url": "https://example.org/r18-abcdef12.pth", "sha256": "ABCDEF12"}]"#)
        XCTAssertEqual(added.count, PublishedWeights.builtIn.count + 1)
        XCTAssertEqual(added.last?.sha256, "abcdef12")
        let replaced = try catalog(#"[{"model": "resnet18", "tag": "IMAGENET1K_V1", "url": "file:///srv/r18.pth", "default": true}]"#)
        XCTAssertEqual(replaced.count, PublishedWeights.builtIn.count)
        XCTAssertEqual(replaced.filter { $0.model == "resnet18" }.map(\.url), ["file:///srv/r18.pth"])
        let path = folder.appendingPathComponent("catalog.json").path
        for (text, sentence) in [
            (#"[{"model": "resnet18", "tag": "x"}]"#, "the weights catalogue '\(path)' that ZOO_CATALOG names is not a JSON list of entries with model, tag and url: 'url' is missing in entry 1"),
            (#"[{"model": "resnet81", "tag": "x", "url": "https://e.org/a.pth"}]"#, "entry 1 of the weights catalogue '\(path)' names the unknown model 'resnet81'"),
            (#"[{"model": "resnet18", "tag": "x", "url": "ftp://e.org/a.pth"}]"#, "entry 1 of the weights catalogue '\(path)' has the URL 'ftp://e.org/a.pth', which is not http://, https:// or file://"),
            ("{", "the weights catalogue '\(path)' that ZOO_CATALOG names is not a JSON list of entries with model, tag and url: it is not valid JSON"),
        ] {
            XCTAssertThrowsError(try catalog(text)) { XCTAssertEqual("\($0)", sentence) }
        }
    }
}
