import ConvZoo
import Foundation
import XCTest
import ZooTestSupport

/// `zoo forward` against PyTorch on reference fixtures written by Tools/make_parity_fixtures.py
/// (one folder per model: weights.safetensors, weights.pth, weights-legacy.pth, io.safetensors).
/// The default run uses the small committed ones (Tests/Fixtures/parity, copied to a scratch
/// folder); Tools/parity points ZOO_PARITY_DIR at fixtures it generates for the large models.
final class ParityTests: XCTestCase {
    func testEveryFixtureMatchesPyTorch() throws {
        var root = ProcessInfo.processInfo.environment["ZOO_PARITY_DIR"] ?? ""
        if root.isEmpty {
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-parity-\(UUID().uuidString)")
            try FileManager.default.copyItem(at: Fixtures.root.appendingPathComponent("parity"), to: scratch)
            root = scratch.path
        }
        defer { if ProcessInfo.processInfo.environment["ZOO_PARITY_DIR"] == nil { try? FileManager.default.removeItem(atPath: root) } }
        let models = try FileManager.default.contentsOfDirectory(atPath: root).sorted()
            .filter { FileManager.default.fileExists(atPath: "\(root)/\($0)/io.safetensors") }
        XCTAssertFalse(models.isEmpty, "no fixtures under \(root)")
        // One verdict line per model, which Tools/parity counts (several models share one run).
        for model in models {
            let failuresBefore = testRun?.failureCount ?? 0
            do {
                try check(model, in: "\(root)/\(model)")
            } catch {
                XCTFail("\(model): \(error)")
            }
            print("parity \(model): \((testRun?.failureCount ?? 0) == failuresBefore ? "passed" : "FAILED")")
        }
    }

    private func check(_ model: String, in folder: String) throws {
        let io = try SafeTensors.read("\(folder)/io.safetensors")
        let expected = try XCTUnwrap(io["output"], "\(model): io.safetensors has no output")
        var outputs: [String: Tensor] = [:]
        for weights in ["weights.safetensors", "weights.pth", "weights-legacy.pth"] where FileManager.default.fileExists(atPath: "\(folder)/\(weights)") {
            let out = "\(folder)/out-\(weights).safetensors"
            let result = try CLITests.run(["forward", "--model", model, "--weights", "\(folder)/\(weights)",
                                            "--input", "\(folder)/io.safetensors", "--output", out])
            XCTAssertEqual(result.status, 0, "\(model) \(weights): \(result.stderr)")
            guard result.status == 0 else { continue }
            let y = try XCTUnwrap(try SafeTensors.read(out)["output"])
            outputs[weights] = y
            let worst = zip(y.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? .infinity
            let bound = 1e-4 * max(1, expected.maxAbs)
            XCTAssertEqual(y.shape, expected.shape, "\(model) \(weights)")
            XCTAssertLessThanOrEqual(worst, bound, "\(model) \(weights): max |Δ| \(worst), bound \(bound)")
            print("parity \(model) \(weights): max |Δ| = \(worst), max |output| = \(expected.maxAbs)")
        }
        XCTAssertNotNil(outputs["weights.pth"], "\(model): no .pth fixture")
        for (name, y) in outputs where name != "weights.safetensors" {
            XCTAssertEqual(y, outputs["weights.safetensors"], "\(model): \(name) and weights.safetensors give different outputs")
        }
        // Saved by ConvZoo: the Tools script loads it into PyTorch with strict=True; here it must
        // come back bit for bit.
        let saved = "\(folder)/convzoo.safetensors"
        let converted = try CLITests.run(["convert", "\(folder)/weights.pth", saved, "--model", model])
        XCTAssertEqual(converted.status, 0, "\(model) convert: \(converted.stderr)")
        let original = try SafeTensors.read("\(folder)/weights.safetensors"), copy = try SafeTensors.read(saved)
        XCTAssertEqual(copy.tensors.map(\.name), original.tensors.map(\.name), "\(model): keys and order")
        for ((name, a), (_, b)) in zip(original.tensors, copy.tensors) where a.scalars.map(\.bitPattern) != b.scalars.map(\.bitPattern) {
            XCTFail("\(model): \(name) differs after saving")
        }
        // …and, run from ConvZoo's own file (its metadata now decides the options, such as
        // Inception v3's transform_input), give the same outputs.
        let savedOut = "\(folder)/out-convzoo.safetensors"
        let rerun = try CLITests.run(["forward", "--model", model, "--weights", saved, "--input", "\(folder)/io.safetensors", "--output", savedOut])
        XCTAssertEqual(rerun.status, 0, "\(model) convzoo.safetensors: \(rerun.stderr)")
        if rerun.status == 0 {
            XCTAssertEqual(try SafeTensors.read(savedOut)["output"], outputs["weights.safetensors"], "\(model): ConvZoo's file gives other outputs")
        }
        if let on = io["output_transform_input_on"] { try checkTransformInput(model, in: folder, off: expected, on: on) }
    }

    /// GoogLeNet and Inception v3: a checkpoint without ConvZoo metadata runs with transform_input
    /// off (checked above, as its builder without weights makes it); the same file registered as a
    /// published file with transform_input on (ZOO_CATALOG, known by its SHA-256) runs with it on;
    /// `--transform-input` overrides both; `zoo convert` records what it used.
    private func checkTransformInput(_ model: String, in folder: String, off: Tensor, on: Tensor) throws {
        let bound = 1e-4 * max(1, max(off.maxAbs, on.maxAbs))
        func worst(_ a: Tensor, _ b: Tensor) -> Float { zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? .infinity }
        XCTAssertGreaterThan(worst(off, on), 100 * bound, "\(model): the two settings must give different outputs for the check to mean something")
        let weights = "\(folder)/weights.pth"
        let catalog = "\(folder)/catalog.json", cache = "\(folder)/cache"
        let entry: [String: Any] = ["model": model, "tag": "registered", "url": "file:///nowhere/\(model)-published.pth",
                                    "sha256": try SHA256.hex(ofFile: weights), "transform_input": true]
        try JSONSerialization.data(withJSONObject: [entry]).write(to: URL(fileURLWithPath: catalog))
        let registered = ["ZOO_CATALOG": catalog, "ZOO_CACHE": cache]
        for (flags, environment, want, what) in [([String](), registered, on, "registered as published, on"),
                                                 (["--transform-input", "off"], registered, off, "registered, --transform-input off"),
                                                 (["--transform-input", "on"], [:], on, "not registered, --transform-input on")] {
            let out = "\(folder)/out-transform.safetensors"
            let result = try CLITests.run(["forward", "--model", model, "--weights", weights, "--input", "\(folder)/io.safetensors",
                                           "--output", out] + flags, environment: environment)
            XCTAssertEqual(result.status, 0, "\(model), \(what): \(result.stderr)")
            guard result.status == 0 else { continue }
            let y = try XCTUnwrap(try SafeTensors.read(out)["output"])
            XCTAssertLessThanOrEqual(worst(y, want), bound, "\(model), \(what)")
            print("parity \(model) transform_input, \(what): max |Δ| = \(worst(y, want))")
        }
        let saved = "\(folder)/convzoo-published.safetensors"
        let converted = try CLITests.run(["convert", weights, saved, "--model", model], environment: registered)
        XCTAssertEqual(converted.status, 0, "\(model) convert: \(converted.stderr)")
        XCTAssertEqual(try SafeTensors.read(saved).metadata[WeightFile.MetadataKey.transformInput], "true", "\(model): convert records transform_input")
        XCTAssertEqual(try SafeTensors.read("\(folder)/convzoo.safetensors").metadata[WeightFile.MetadataKey.transformInput], "false",
                       "\(model): convert records transform_input off for an unregistered file")
    }
}
