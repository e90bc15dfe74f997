import ConvZoo
import Foundation
import XCTest

/// `ZooModel.features` (a layer's output, as the forward pass computes it) and `gradCAM`.
final class FeatureTests: XCTestCase {
    /// A seeded resnet18 at 64×64 (small enough for a debug build) and a seeded batch of 2.
    func resnet18() throws -> (ZooModel, Tensor) {
        GlobalRandom.seed(17)
        let model = try Zoo.load("resnet18", input: [3, 64, 64])
        let batch = Tensor.randomNormal([2, 3, 64, 64], using: &GlobalRandom.generator)
        return (model, batch)
    }

    func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        return zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? .infinity
    }

    /// Runs `paths` of `model` in order on `x` (eager, with grad mode on so that nothing is fused:
    /// the same arithmetic as the layer-by-layer pass).
    func run(_ model: ZooModel, _ paths: [String], on x: Tensor) throws -> Tensor {
        try GradMode.withGrad {
            try paths.reduce(Variable(x)) { value, path in try model.module.module(at: path)!(value) }.value
        }
    }

    func testFeaturesAreWhatTheForwardPassComputesThere() throws {
        let (model, batch) = try resnet18()
        let before = try model.forward(batch)
        let features = try model.features(batch, at: ["layer3", "layer2", "layer1.0.bn1"])
        XCTAssertEqual(features["layer3"]?.shape, [2, 256, 4, 4])
        XCTAssertEqual(features["layer2"]?.shape, [2, 128, 8, 8])
        XCTAssertEqual(features["layer1.0.bn1"]?.shape, [2, 64, 16, 16], "a BatchNorm that inference fuses into its convolution")
        // The rest of the network run from layer3's output gives the model's logits.
        let rest = ["layer4", "avgpool", "flatten", "fc"]
        let resumed = try run(model, rest, on: features["layer3"]!)
        let bound = 1e-5 * max(1, before.scalars.map(abs).max()!)
        XCTAssertLessThan(maxDifference(resumed, before), bound)
        // Negative control: the last block's output before its residual sum and ReLU has the
        // same shape as layer3's and gives other logits.
        let early = try model.features(batch, at: ["layer3.1.bn2"])["layer3.1.bn2"]!
        XCTAssertEqual(early.shape, features["layer3"]!.shape)
        XCTAssertGreaterThan(maxDifference(try run(model, rest, on: early), before), 100 * bound)
        // layer2's output is the stem and the first two stages run layer by layer.
        let stem = try run(model, ["conv1", "bn1", "maxpool", "layer1", "layer2"], on: batch)
        XCTAssertLessThan(maxDifference(stem, features["layer2"]!), 1e-6 * max(1, stem.scalars.map(abs).max()!))
        // Asking for layers changed nothing: the same logits before and after.
        XCTAssertEqual(try model.forward(batch), before)
    }

    /// At `layer4` of a ResNet the logit is fc(mean over positions of A), so d logit_c / d A_k is
    /// W[c, k] / (h·w) everywhere, and Grad-CAM's map is ReLU(Σ_k W[c, k] A_k / (h·w)).
    func testGradCAMAtTheLastStageIsTheClassifiersWeightedSum() throws {
        let (model, batch) = try resnet18()
        let a = try model.features(batch, at: ["layer4"])["layer4"]!
        let weight = model.module.module(at: "fc")!.parameters.first { $0.name == "weight" }!.variable.value
        let (channels, plane) = (a.shape[1], a.shape[2] * a.shape[3])
        func expected(_ n: Int, _ c: Int) -> [Float] {
            (0..<plane).map { i in
                max(0, (0..<channels).reduce(Float(0)) { $0 + weight.scalars[c * channels + $1] * a.scalars[(n * channels + $1) * plane + i] } / Float(plane))
            }
        }
        let top = try model.gradCAM(batch, layer: "layer4")
        let logits = try model.forward(batch)
        XCTAssertEqual(top.classes, logits.topK(1).map { $0[0] })
        XCTAssertEqual(top.camRaw.shape, [2, 2, 2])
        XCTAssertEqual(top.cam.shape, [2, 64, 64])
        for n in 0..<2 {
            let want = expected(n, top.classes[n]), got = Array(top.camRaw.scalars[n * plane ..< (n + 1) * plane])
            let bound = 1e-5 * max(1e-3, want.max()!)
            XCTAssertLessThan(zip(want, got).map { abs($0 - $1) }.max()!, bound, "item \(n)")
            let cam = top.cam.scalars[n * 64 * 64 ..< (n + 1) * 64 * 64]
            XCTAssertGreaterThanOrEqual(cam.min()!, 0)
            XCTAssertLessThanOrEqual(cam.max()!, 1)
        }
        // Another class gives its own map, and differs from the top-1's (negative control).
        let other = (top.classes[0] + 500) % 1000
        let forced = try model.gradCAM(batch, layer: "layer4", classes: [other, other])
        XCTAssertEqual(forced.classes, [other, other])
        let want = expected(0, other)
        XCTAssertLessThan(zip(want, forced.camRaw.scalars.prefix(plane)).map { abs($0 - $1) }.max()!, 1e-5 * max(1e-3, want.max()!))
        XCTAssertNotEqual(Array(forced.camRaw.scalars.prefix(plane)), Array(top.camRaw.scalars.prefix(plane)))
        // No parameter kept a gradient or lost its requiresGrad.
        XCTAssertTrue(model.module.namedParameters().allSatisfy { $0.variable.grad == nil && $0.variable.requiresGrad })
    }

    func testMistakesAreOneSentence() throws {
        let (model, batch) = try resnet18()
        func sentence(_ body: () throws -> Any) -> String {
            do { _ = try body(); return "(nothing thrown)" } catch { return "\(error)" }
        }
        XCTAssertEqual(sentence { try model.features(batch, at: ["layer5"]) },
                       "no layer 'layer5' in this model; the closest module paths are 'layer1', 'layer2', 'layer3' ('zoo summary' lists them all)")
        XCTAssertEqual(sentence { try model.gradCAM(batch, layer: "layer4", classes: [1000, 0]) },
                       "class 1000 is out of range: resnet18 has classes 0 to 999")
        XCTAssertEqual(sentence { try model.gradCAM(batch, layer: "fc") },
                       "layer 'fc' gives outputs of shape 1000; Grad-CAM needs a C×H×W feature map")
        XCTAssertEqual(sentence { try model.features(Tensor(zeros: [1, 3, 32, 32]), at: ["layer1"]) },
                       "resnet18 takes a batch of [N, 3, 64, 64] inputs, not [1, 3, 32, 32]")
    }
}
