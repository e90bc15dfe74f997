import Foundation
import XCTest
import ZooModels
@_spi(Testing) import ZooInference
import ZooNN
import ZooTensor
import ZooTestSupport

/// Compiled inference plans against eager execution: every registry model, with batch-norm
/// statistics and affine parameters made non-trivial so that folding has work to do.
/// CIFAR-size models and a few ImageNet ones at a reduced size always; every model at its
/// own input size when ZOO_SLOW_TESTS=1 (ZOO_PLAN_MODELS=a,b,… for some of them).
final class InferencePlanTests: XCTestCase {
    static let slow = ProcessInfo.processInfo.environment["ZOO_SLOW_TESTS"] == "1"

    func randomiseNormalisation(_ model: Module, _ rng: inout Xoshiro256) {
        randomiseBatchNorms(model, gamma: (0.5, 0.1), spread: 0.2, varianceFloor: 0.6, &rng)
    }

    /// A model of the registry in eval mode, its eager output and its plan's for one random batch.
    func outputs(_ name: String, input: [Int]? = nil, batch: Int = 2, fault: InferencePlan.Fault = .none) throws
        -> (eager: Tensor, planned: Tensor, plan: InferencePlan) {
        let entry = try XCTUnwrap(ModelRegistry.entry(name))
        let shape = input ?? entry.defaultInput
        GlobalRandom.seed(11)
        let model = try entry.build(classCount: 10, input: shape)
        var rng = Xoshiro256(seed: 12)
        randomiseNormalisation(model, &rng)
        model.eval()
        let x = Tensor.randomNormal([batch] + shape, using: &rng)
        // With gradients recorded nothing is fused: the plain layer-by-layer reference.
        let eager = try model(Variable(x)).value
        let plan = try InferencePlan(model, inputShape: [batch] + shape, fault: fault)
        return (eager, plan.run(x), plan)
    }

    func check(_ name: String, input: [Int]? = nil, batch: Int = 2) {
        do {
            let (eager, planned, _) = try outputs(name, input: input, batch: batch)
            // 1e-4 of the output's scale, however small the scale (random classifiers give small logits).
            XCTAssertNil(closeness(planned, eager, tolerance: 1e-4 * min(1, eager.maxAbs), "\(name) \(input ?? [])"))
            if ProcessInfo.processInfo.environment["ZOO_PLAN_VERBOSE"] != nil {
                let worst = zip(planned.scalars, eager.scalars).map { abs($0 - $1) }.max() ?? 0
                print("plan check \(name): max |output| \(eager.maxAbs), max |Δ| \(worst)")
            }
        } catch {
            XCTFail("\(name): \(error)")
        }
    }

    func testCIFARSizeModels() {
        let small = ModelRegistry.entries.filter { $0.defaultInput[1] <= 32 }
        XCTAssertGreaterThan(small.count, 10)
        for entry in small { check(entry.name) }
    }

    /// The smaller ImageNet networks (building the larger ones is slow in a debug build; the slow
    /// run has them all): concatenations, ceil-mode pooling, depthwise convolutions.
    func testImageNetModelsAtReducedSize() {
        for name in ["googlenet", "densenet121", "mobilenet_v2", "squeezenet1_0", "nasnetamobile"] { check(name, input: [3, 32, 32]) }
        // One image: concatenations write their inputs in place.
        for name in ["googlenet", "densenet121", "nasnetamobile"] { check(name, input: [3, 32, 32], batch: 1) }
    }

    /// The plan's own kernels, each in a plan that runs it and against eager: Winograd 3×3
    /// convolutions (resnet20), and AlexNet's 11×11 stride-4 convolution by gathered windows, its
    /// 5×5 one by Winograd F(2×2, 5×5) and its classifier over packed weights (batch 6). Negative controls, tried by hand: a wrong
    /// coefficient in Winograd's input transform fails testCIFARSizeModels by 0.1–3.5 against
    /// bounds under 1e-3; a classifier that keeps only the last slice of its depth, or windows
    /// gathered one pixel off, fail this test by 8e-3 and 2e-3 against a bound of 1.5e-6.
    func testThePlansOwnKernels() throws {
        try XCTSkipUnless(InferencePlan.ownKernels, "this CPU has no AVX2 and FMA: every step is oneDNN's")
        for (name, input, batch, kernels) in [("resnet20", [3, 32, 32], 2, ["winograd F(4x4,3x3)"]),
                                              ("alexnet", [3, 224, 224], 6,
                                               ["gathered windows", "winograd F(2x2,5x5)", "packed weights"])] {
            let (eager, planned, plan) = try outputs(name, input: input, batch: batch)
            for kernel in kernels { XCTAssertTrue(plan.steps.contains { $0.contains(kernel) }, "\(name): no step runs \(kernel)") }
            XCTAssertNil(closeness(planned, eager, tolerance: 1e-4 * min(1, eager.maxAbs), name))
        }
    }

    /// Negative controls: a plan that drops the residual sums, or reads a blocked tensor as plain
    /// NCHW, is caught by the same check.
    func testMistakesInAPlanAreCaught() throws {
        for fault in [InferencePlan.Fault.droppedResidualSum, .plainLayoutIntoPooling] {
            let (eager, planned, _) = try outputs("resnet20", fault: fault)
            XCTAssertNotNil(closeness(planned, eager, tolerance: 1e-4 * min(1, eager.maxAbs)), "\(fault) went unnoticed")
        }
        let (eager, planned, _) = try outputs("resnet20")
        XCTAssertNil(closeness(planned, eager, tolerance: 1e-4 * min(1, eager.maxAbs)))
    }

    /// A plan copies the weights: after they change it is stale, and a new one follows them.
    func testAPlanKnowsWhenItsWeightsChanged() throws {
        let model = try XCTUnwrap(ModelRegistry.entry("resnet20")).build(classCount: 10, input: [3, 32, 32])
        model.eval()
        let plan = try InferencePlan(model, inputShape: [1, 3, 32, 32])
        XCTAssertTrue(plan.isCurrent(for: model))
        let bn = try XCTUnwrap(model.namedModules().compactMap { $0.module as? BatchNorm }.first)
        bn.runningMean.value = Tensor(zeros: [bn.channels], value: 0.5)
        XCTAssertFalse(plan.isCurrent(for: model))
        var rng = Xoshiro256(seed: 1)
        let x = Tensor.randomNormal([1, 3, 32, 32], using: &rng)
        let fresh = try InferencePlan(model, inputShape: [1, 3, 32, 32]).run(x)
        XCTAssertNil(closeness(fresh, try model(Variable(x)).value, tolerance: 1e-5))
        XCTAssertNotNil(closeness(plan.run(x), try model(Variable(x)).value, tolerance: 1e-5), "the stale plan still gives the new output")
    }

    /// A short last batch runs through the plan of the full one (padded), not a plan of its own;
    /// a much shorter one gets its own.
    func testAShortBatchBorrowsTheFullBatchPlan() throws {
        let model = try XCTUnwrap(ModelRegistry.entry("resnet20")).build(classCount: 10, input: [3, 32, 32])
        var rng = Xoshiro256(seed: 3)
        randomiseNormalisation(model, &rng)
        model.eval()
        let inference = PlannedInference(model)
        for batch in [4, 3, 1] {
            let x = Tensor.randomNormal([batch, 3, 32, 32], using: &rng)
            let output = try inference(x)
            XCTAssertNil(inference.eagerReason)
            XCTAssertNil(closeness(output, try model(Variable(x)).value, tolerance: 1e-5), "batch \(batch)")
        }
        XCTAssertEqual(inference.compiledShapes, [[4, 3, 32, 32], [1, 3, 32, 32]])
    }

    /// Models the planner cannot take say why.
    func testARefusalNamesTheOperation() throws {
        let model = Sequential([Conv2d(3, 4, kernel: 3), Lambda("Tanh", tanh)])
        model.eval()
        XCTAssertThrowsError(try InferencePlan(model, inputShape: [1, 3, 8, 8])) { error in
            XCTAssertTrue("\(error)".contains("operation plans do not know"), "\(error)")
        }
        model.train()
        XCTAssertThrowsError(try InferencePlan(model, inputShape: [1, 3, 8, 8]))
    }

    func testEveryModelAtItsOwnSize() throws {
        try XCTSkipUnless(Self.slow, "every registry model at its own input size: set ZOO_SLOW_TESTS=1")
        // ZOO_PLAN_MODELS=a,b,… narrows the run.
        let only = ProcessInfo.processInfo.environment["ZOO_PLAN_MODELS"].map { Set($0.split(separator: ",").map(String.init)) }
        for entry in ModelRegistry.entries where only?.contains(entry.name) ?? true { check(entry.name, batch: 1) }
    }
}
