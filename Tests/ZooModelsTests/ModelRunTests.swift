import Foundation
import XCTest
import ZooModels
import ZooNN
import ZooTensor

/// Every registry model runs an eval forward pass and a training step with finite results.
/// CIFAR-size models always; ImageNet-size ones (batch 1) when ZOO_SLOW_TESTS=1.
final class ModelRunTests: XCTestCase {
    static let slow = ProcessInfo.processInfo.environment["ZOO_SLOW_TESTS"] == "1"

    func runOnce(_ entry: ModelEntry, batch: Int) throws {
        GlobalRandom.seed(3)
        let classCount = 7
        let model = try entry.build(ModelOptions(classCount: classCount, input: entry.defaultInput, auxiliaryHeads: !entry.optionalModules.isEmpty))
        var rng = Xoshiro256(seed: 4)
        let images = Variable(Tensor.randomNormal([batch] + entry.defaultInput, using: &rng))
        let labels = (0..<batch).map { $0 % classCount }

        model.eval()
        // With the registry's Grad-CAM layer noted on the way: it must be a C×H×W feature map.
        guard let pass = XCTAssertNoThrowValue(try GradMode.withoutGrad { try model.forward(images, capturing: [entry.explainLayer]) },
                                               entry.name) else { return }
        let logits = pass.output
        XCTAssertEqual(pass.features[entry.explainLayer]?.shape.count, 4, "\(entry.name): explainLayer '\(entry.explainLayer)'")
        XCTAssertEqual(logits.shape, [batch, classCount], entry.name)
        XCTAssertTrue(logits.value.allFinite, "\(entry.name): eval logits are not finite")

        model.train()
        let parameters = model.namedParameters()
        let before = parameters.map(\.variable.value)
        let optimizer = SGD(parameters.map(\.variable), learningRate: 0.01, momentum: 0.9)
        var loss: Variable
        if let network = model as? AuxiliaryClassifiers {
            let (main, auxiliary) = try network.forwardWithAuxiliary(images)
            XCTAssertEqual(auxiliary.count, entry.optionalModules.count, "\(entry.name): auxiliary heads in training")
            loss = crossEntropy(main, targets: labels)
            for aux in auxiliary { loss = loss + scale(crossEntropy(aux, targets: labels), by: network.auxiliaryLossWeight) }
        } else {
            loss = crossEntropy(try model(images), targets: labels)
        }
        XCTAssertTrue(loss.value.scalar.isFinite, "\(entry.name): loss \(loss.value.scalar)")
        loss.backward()
        let withGradient = parameters.filter { $0.variable.grad != nil }.count
        XCTAssertEqual(withGradient, parameters.count, "\(entry.name): every parameter gets a gradient")
        optimizer.step()
        let changed = zip(parameters, before).filter { $0.0.variable.value != $0.1 }.count
        XCTAssertGreaterThan(changed, parameters.count / 2, "\(entry.name): the step updates the weights")
        XCTAssertTrue(parameters.allSatisfy { $0.variable.value.allFinite }, "\(entry.name): weights stay finite")
    }

    func testSmallModelsForwardAndTrainingStep() throws {
        let small = ModelRegistry.entries.filter { $0.defaultInput[1] <= 32 }
        XCTAssertTrue(Set(small.map(\.name)).isSuperset(of: ["lenet5", "simple_cnn", "resnet20", "plain110", "preact_resnet164",
                                                              "se_resnet56", "densenet_bc_100"]), "\(small.map(\.name))")
        for entry in small { try runOnce(entry, batch: 2) }
    }

    func testCIFARNetsTakeFashionMNISTSizedInput() throws {
        for name in ["resnet20", "plain20", "preact_resnet110", "densenet_bc_100", "se_resnet20"] {
            let model = try ModelRegistry.entry(name)!.build(classCount: 10, input: [1, 28, 28])
            model.eval()
            XCTAssertEqual(try GradMode.withoutGrad { try model(Variable(Tensor(zeros: [2, 1, 28, 28]))) }.shape, [2, 10], name)
        }
    }

    func testImageNetModelsForwardAndTrainingStep() throws {
        try XCTSkipUnless(Self.slow, "set ZOO_SLOW_TESTS=1 to run every ImageNet-size model")
        // Batch 2 where auxiliary heads run: Inception v3's head normalises a 1×1 map, which needs
        // more than one image in training (as in PyTorch).
        for entry in ModelRegistry.entries where entry.defaultInput[1] > 32 { try runOnce(entry, batch: entry.optionalModules.isEmpty ? 1 : 2) }
    }
}

/// The value of `body`, or nil with a test failure naming `context` when it throws.
func XCTAssertNoThrowValue<T>(_ body: @autoclosure () throws -> T, _ context: String) -> T? {
    do { return try body() } catch {
        XCTFail("\(context): \(error)")
        return nil
    }
}
