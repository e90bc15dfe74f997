import DenseNet
import Foundation
import GoogLeNet
import ResNet
import VGG
import XCTest
import ZooModels
import ZooNN
import ZooTensor
import ZooTestSupport

/// Parameter counts, multiply-accumulates and state_dict keys against the references.
final class RegistryTests: XCTestCase {
    func build(_ name: String, classCount: Int? = nil) throws -> Module {
        let entry = try XCTUnwrap(ModelRegistry.entry(name), "no registry entry '\(name)'")
        return try GlobalRandom.shapesOnly {
            try entry.build(classCount: classCount ?? entry.defaultClassCount, input: entry.defaultInput)
        }
    }

    /// A builder asked for a configuration its family does not have throws one sentence.
    func testBuildersThrowOnAnUnknownConfiguration() throws {
        let cases: [(String, () throws -> Module, String)] = [
            ("vgg 12", { try vgg(depth: 12) }, "11, 13, 16 or 19, not 12"),
            ("resnet 19", { try resnet(depth: 19) }, "18, 34, 50, 101, 152, not 19"),
            ("resnet 18 grouped", { try resnet(depth: 18, groups: 32, widthPerGroup: 4) }, "not 32 of 4"),
            ("resnetv2 20", { try resnetV2(depth: 20) }, "not 20"),
            ("cifar 21", { try cifarResNet(depth: 21, kind: .residual) }, "6n + 2 layers; 21"),
            ("densenet 100", { try densenet(depth: 100) }, "121, 161, 169, 201, not 100"),
            ("densenet-bc 101", { try cifarDenseNetBC(depth: 101) }, "6n + 4, not 101"),
            ("googlenet gray", { try GoogLeNet(inputChannels: 1, transformInput: true) }, "this model has 1"),
        ]
        for (label, build, sentence) in cases {
            XCTAssertThrowsError(try GlobalRandom.shapesOnly(build), label) { error in
                XCTAssertTrue("\(error)".contains(sentence), "\(label): \(error)")
            }
        }
        // Negative control: the configurations next to them build.
        XCTAssertNoThrow(try GlobalRandom.shapesOnly { try vgg(depth: 11) })
        XCTAssertNoThrow(try GlobalRandom.shapesOnly { try cifarResNet(depth: 20, kind: .residual) })
        XCTAssertNoThrow(try GlobalRandom.shapesOnly { try GoogLeNet(inputChannels: 1) })
    }

    func testParameterCountsEqualTheReferences() throws {
        // torchvision's documented counts; timm's measured with timm 1.0.31 (Tools/make_model_fixtures.py);
        // the CIFAR nets' from He et al. 2016 Table 6 (0.27M, 0.85M) with option A shortcuts.
        let expected: [String: Int] = [
            "alexnet": 61_100_840, "vgg11": 132_863_336, "vgg16": 138_357_544, "vgg16_bn": 138_365_992,
            "googlenet": 6_624_904, "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
            "resnet101": 44_549_160, "resnet152": 60_192_808, "densenet121": 7_978_856, "densenet169": 14_149_480,
            "densenet201": 20_013_928, "resnetv2_50": 25_549_352, "seresnet50": 28_088_024, "lenet5": 61_706,
            "resnext50_32x4d": 25_028_904, "resnext101_32x8d": 88_791_336, "wide_resnet50_2": 68_883_240,
            "wide_resnet101_2": 126_886_696, "squeezenet1_0": 1_248_424, "squeezenet1_1": 1_235_496, "mobilenet_v2": 3_504_872, "mobilenet_v1": 4_231_976, "xception": 22_855_952,
            "inception_v3": 23_834_568, "inception_resnet_v2": 55_843_464, "nasnetamobile": 5_289_978, "nasnetalarge": 88_753_150,
        ]
        for (name, count) in expected.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(try build(name).parameterCount, count, name)
        }
        // torchvision's inception_v3 carries its auxiliary head (AuxLogits) in the state_dict.
        let inception = ModelRegistry.entry("inception_v3")!
        var options = inception.defaultOptions
        options.auxiliaryHeads = true
        XCTAssertEqual(try GlobalRandom.shapesOnly { try inception.build(options) }.parameterCount, 27_161_264)
        XCTAssertEqual(Double(try build("resnet20").parameterCount) / 1e6, 0.27, accuracy: 0.005)
        XCTAssertEqual(Double(try build("resnet56").parameterCount) / 1e6, 0.85, accuracy: 0.005)
        XCTAssertEqual(try build("plain56").parameterCount, try build("resnet56").parameterCount,
                       "option A shortcuts add no parameters")
    }

    func testStateDictKeysAndShapesEqualPyTorch() throws {
        let url = Fixtures.root.appendingPathComponent("models/state_dict_keys.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let references = json["keys"] as! [String: [[Any]]]
        let counts = json["params"] as! [String: Int]
        XCTAssertEqual(references.count, 33)
        for (name, reference) in references.sorted(by: { $0.key < $1.key }) {
            let model = try build(name)
            let ours = model.stateEntries().map { "\($0.key) \($0.tensor.shape)" }
            let theirs = reference.map { "\($0[0] as! String) \(($0[1] as! [Int]))" }
            XCTAssertEqual(ours, theirs, "\(name): keys, shapes and order")
            XCTAssertEqual(model.parameterCount, counts[name], name)
        }
    }

    func testMultiplyAccumulatesMatchTorchvision() throws {
        // torchvision's published GFLOPS (multiply-accumulates of convs and linear layers) at each model's input size.
        let expected: [String: Double] = [
            "alexnet": 0.714, "vgg16": 15.47, "googlenet": 1.498, "resnet18": 1.814, "resnet50": 4.089, "densenet121": 2.834,
            "resnext50_32x4d": 4.23, "resnext101_32x8d": 16.414, "wide_resnet50_2": 11.398, "wide_resnet101_2": 22.753,
            "squeezenet1_0": 0.819, "squeezenet1_1": 0.349, "mobilenet_v2": 0.301, "inception_v3": 5.713,
        ]
        for (name, giga) in expected.sorted(by: { $0.key < $1.key }) {
            let macs = Double(try build(name).summary(input: ModelRegistry.entry(name)!.defaultInput).macs) / 1e9
            XCTAssertEqual(macs, giga, accuracy: giga * 0.01, name)
        }
    }

    func testSummaryFollowsTheOutputSizeFormula() throws {
        // O = (I − K + 2P)/S + 1: 28×28 with K 5, P 2 → 28, pool → 14, K 5 → 10, pool → 5.
        let summary = try build("lenet5").summary(input: [1, 28, 28])
        let convs = summary.layers.filter { $0.kind == "Conv2d" }
        XCTAssertEqual(convs.map(\.outputShape), [[6, 28, 28], [16, 10, 10]])
        XCTAssertEqual(summary.layers.filter { $0.kind == "MaxPool2d" }.map(\.outputShape), [[6, 14, 14], [16, 5, 5]])
        // (K·K·C_in + 1)·C_out parameters; K·K·C_in·C_out·O·O multiply-accumulates.
        XCTAssertEqual(convs.map(\.parameters), [(5 * 5 * 1 + 1) * 6, (5 * 5 * 6 + 1) * 16])
        XCTAssertEqual(convs.map(\.macs), [5 * 5 * 1 * 6 * 28 * 28, 5 * 5 * 6 * 16 * 10 * 10])
        XCTAssertEqual(summary.parameters, summary.layers.reduce(0) { $0 + $1.parameters })
        // The paper's 32×32 geometry: C1 unpadded, 32 − 5 + 1 = 28.
        let paper = try GlobalRandom.shapesOnly { try ModelRegistry.entry("lenet5")!.build(classCount: 10, input: [1, 32, 32]) }
        XCTAssertEqual(try paper.summary(input: [1, 32, 32]).layers.filter { $0.kind == "Conv2d" }.map(\.outputShape),
                       [[6, 28, 28], [16, 10, 10]])
    }

    /// The registry's classifier paths are data; they must name each model's last layer with
    /// parameters (the head a new class count replaces), and every optional module must exist
    /// when the model is built with it.
    func testClassifierPathsNameTheLastLayerWithParameters() throws {
        for entry in ModelRegistry.entries {
            var options = entry.defaultOptions
            options.auxiliaryHeads = true
            let model = try GlobalRandom.shapesOnly { try entry.build(options) }
            let leaves = model.namedModules().filter { $0.module.children.isEmpty && !$0.module.parameters.isEmpty }
            XCTAssertEqual(entry.classifierPaths.first, leaves.last?.name, entry.name)
            XCTAssertEqual(entry.classifierPaths(in: model), entry.classifierPaths, "\(entry.name): every path exists")
            for optional in entry.optionalModules { XCTAssertNotNil(model.module(at: optional), "\(entry.name): \(optional)") }
        }
        let plain = try GlobalRandom.shapesOnly { try ModelRegistry.entry("googlenet")!.build() }
        XCTAssertEqual(ModelRegistry.entry("googlenet")!.classifierPaths(in: plain), ["fc"], "no auxiliary heads, no auxiliary paths")
    }

    func testOldDenseNetKeysAreRenamed() {
        let rename = ModelRegistry.entry("densenet121")!.renameKey
        XCTAssertEqual(rename("features.denseblock1.denselayer1.norm.1.weight"), "features.denseblock1.denselayer1.norm1.weight")
        XCTAssertEqual(rename("features.norm0.weight"), "features.norm0.weight")
        XCTAssertEqual(ModelRegistry.entry("resnet50")!.renameKey("layer1.0.conv.1.weight"), "layer1.0.conv.1.weight")
    }

    func testUnknownNamesGetASuggestion() {
        XCTAssertEqual(ModelRegistry.suggestion(for: "resnet51"), "resnet50")
        XCTAssertEqual(ModelRegistry.suggestion(for: "VGG16"), "vgg16")
        XCTAssertNil(ModelRegistry.suggestion(for: "transformer"))
        XCTAssertEqual(Set(ModelRegistry.names).count, ModelRegistry.names.count, "names are unique")
    }
}
